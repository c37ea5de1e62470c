"""Sessions: tests (what CI runs), audit (the main job: run the conformance audit and write the
reports), bench (speed of the NumPy kernel against torch CPU, of the certified oracle, and of
the sweeps),
mutation (the mutation score of the hunt) and lint.

torch is installed first and pinned to 2.13.0 because any other torch here pulls a multi-GB CUDA
build; paddle is the 3.3.x CPU build from PyPI.
"""

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH = "torch==2.13.0"
# The baselines in reports/ were made with these exact versions; Hypothesis is pinned too,
# because the examples a seed produces (and so the ci profile's verdicts) depend on its version.
PADDLE = "paddlepaddle==3.3.1"
HYPOTHESIS = "hypothesis==6.170.15"
JAX = ("jax[cpu]==0.10.2", "optax==0.2.8")  # the versions of the jax report
TENSORFLOW = "tensorflow-cpu==2.21.0"  # the version of the tensorflow report (keras 3 with it)
ONNXRUNTIME = ("onnxruntime==1.32.0", "onnx==1.23.2")  # the versions of the onnxruntime report


def _install(session: nox.Session, extras: str) -> None:
    session.install(TORCH)
    session.install(PADDLE)
    session.install(*JAX)
    session.install(TENSORFLOW)
    session.install(*ONNXRUNTIME)
    session.install(HYPOTHESIS, "-e", f".[{extras}]")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The suite's own tests plus the ci-profile conformance gate on numpy, torch, paddle,
    tensorflow and onnxruntime, in two worker processes (pytest-xdist)."""
    _install(session, "all,dev")
    session.run("pytest", "-m", "not slow", "-q", "-n", "2", *session.posargs)


@nox.session(python="3.11")
def audit(session: nox.Session) -> None:
    """Audit numpy, torch and paddle against the oracle and write reports/ (pass --profile deep)."""
    _install(session, "all")
    args = session.posargs or ["--profile", "dev"]
    session.run(
        "bce-conformance",
        "audit",
        "--backend",
        "numpy",
        "--backend",
        "torch",
        "--backend",
        "paddle",
        *args,
    )


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """The NumPy kernel against torch CPU on 10^7 float32 elements, and the certified oracle
    against a plain mpmath loop and its own exact path (ratios, one run each)."""
    _install(session, "all")
    session.run("python", "benchmarks/bench_kernel.py", *session.posargs)
    session.run("python", "benchmarks/bench_oracle.py")
    session.run("python", "benchmarks/bench_sweep.py")


@nox.session(python="3.11")
def mutation(session: nox.Session) -> None:
    """The hunt's power: the careful reference and its single-bug mutants (tests/mutation),
    ci profile, seeds 0-4 (pass other options to tests.mutation.score, e.g. --markdown)."""
    session.install(HYPOTHESIS, "-e", ".")
    args = session.posargs or ["--profile", "ci", "--seeds", "0", "1", "2", "3", "4"]
    session.run("python", "-m", "tests.mutation.score", *args)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
