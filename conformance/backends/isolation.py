"""Running backends so that their failures stay theirs.

``evaluate_in_process(backend, call)`` calls ``backend.evaluate`` here, turning any exception it
lets out (and any answer that is not an Outcome) into a ``crashed`` Outcome.

``evaluate_isolated(spec, calls, timeout_s)`` evaluates the calls in a worker process: a fresh
``sys.executable`` that gets this process's ``sys.path`` (so specs importable here are importable
there) and talks to it over a socket pair with pickled messages. The calling program's
``__main__`` is never re-imported, so this works from scripts without a main guard, from ``-c``
and from stdin. One worker serves call after call, so its start-up (importing the framework) is
paid once. A call that kills the worker (segfault, ``os._exit``, abort) gets a ``crashed`` Outcome
naming the signal or exit status; a call with no answer within ``timeout_s`` seconds gets
``timeout`` and the worker is killed. Either way a fresh worker takes the next call. The timeout
counts from the moment the call is sent; worker start-up has its own limit
(``startup_timeout_s``).

A backend may also ask for a fresh worker after a call by having a true ``needs_restart``
attribute (``TorchBackend("cuda")`` does after a device-side assert, which leaves the process's
CUDA context unusable): the call's own Outcome is kept and the next call gets a new worker.

The worker writes nothing to stdout: its file descriptor 1 is pointed at stderr, so a chatty
framework cannot corrupt a report written to stdout. POSIX only (socket pairs, fd passing).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import get_args

from conformance.backends.plugins import BackendSetupError, load_backend
from conformance.backends.protocol import Backend, Call, Outcome, Status

_STATUSES = frozenset(get_args(Status))
DEFAULT_STARTUP_TIMEOUT_S = 120.0
_SYS_PATH_ENV = "BCE_CONFORMANCE_WORKER_SYS_PATH"
_BOOTSTRAP = (
    "import json, os, sys\n"
    f"parent = json.loads(os.environ.pop({_SYS_PATH_ENV!r}))\n"
    "sys.path[:] = parent + [p for p in sys.path if p not in parent]\n"
    "from conformance.backends.isolation import _worker_main\n"
    "_worker_main(int(sys.argv[1]), sys.argv[2])\n"
)


def evaluate_in_process(backend: Backend, call: Call) -> Outcome:
    """``backend.evaluate(call)``, with anything unexpected turned into a ``crashed`` Outcome."""
    name = getattr(backend, "name", type(backend).__name__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            outcome = backend.evaluate(call)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from a plugin is a crash too
            return Outcome(
                status="crashed",
                error=f"{name}.evaluate raised {type(exc).__name__}: {exc}",
            )
    if not isinstance(outcome, Outcome):
        return Outcome(
            status="crashed",
            error=f"{name}.evaluate returned {type(outcome).__name__}, not an Outcome",
        )
    if outcome.status not in _STATUSES:
        return Outcome(
            status="crashed",
            error=f"{name}.evaluate returned an Outcome with unknown status {outcome.status!r}",
        )
    return outcome


# -- the worker ---------------------------------------------------------------------------------


def describe(backend: Backend) -> dict:
    """What a caller needs to know of a backend without importing its framework: name,
    version, the gradients it offers."""
    return {
        "name": str(backend.name),
        "version": str(backend.version),
        "gradients": sorted(getattr(backend, "gradients", ())),
    }


def _worker_main(fd: int, spec: str) -> None:
    """Load ``spec`` and answer ``(index, Call)`` messages until ``None`` or end of connection."""
    try:
        sys.stdout.flush()
        os.dup2(2, 1)
    except (OSError, ValueError):
        pass
    sys.stdout = sys.stderr
    conn = Connection(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend = load_backend(spec)
    except BackendSetupError as exc:
        conn.send(("setup_error", str(exc)))
        return
    except BaseException as exc:
        conn.send(("setup_error", f"backend {spec!r} failed to load: {type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", describe(backend)))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, call = message
        outcome = evaluate_in_process(backend, call)
        restart = bool(getattr(backend, "needs_restart", False))
        try:
            conn.send(("outcome", index, outcome, restart))
        except OSError:  # the runner went away (closed before collecting): nothing to answer
            return
        except Exception as exc:  # e.g. an Outcome carrying something unpicklable
            error = f"the Outcome could not be sent back: {type(exc).__name__}: {exc}"
            conn.send(("outcome", index, Outcome(status="crashed", error=error), restart))
        if restart:
            return


def _exit_description(returncode: int | None) -> str:
    if returncode is None:
        return "did not exit"
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


class _Worker:
    def __init__(self, spec: str, startup_timeout_s: float) -> None:
        self.spec = spec
        self._closed = False
        ours, theirs = socket.socketpair()
        self.conn = Connection(ours.detach())
        env = dict(os.environ)
        env[_SYS_PATH_ENV] = json.dumps([p for p in sys.path if isinstance(p, str)])
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(theirs.fileno()), spec],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=2,  # the worker's prints go to our stderr, never into a report on stdout
                env=env,
                close_fds=True,
            )
        except BaseException:
            self.conn.close()
            raise
        finally:
            theirs.close()
        try:
            if not self.conn.poll(startup_timeout_s):
                raise BackendSetupError(
                    f"backend {spec!r} did not start within {startup_timeout_s:g} s"
                )
            try:
                kind, payload = self.conn.recv()
            except (EOFError, OSError):
                self._wait(5)
                raise BackendSetupError(
                    f"the worker for backend {spec!r} "
                    f"{_exit_description(self.process.returncode)} while loading it"
                ) from None
            if kind != "ready":
                raise BackendSetupError(str(payload))
            self.description = payload
        except BaseException:
            self.kill()
            raise

    def _wait(self, timeout: float) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    @property
    def alive(self) -> bool:
        return not self._closed and self.process.poll() is None

    def ask(self, index: int, call: Call, timeout_s: float) -> Outcome:
        """The Outcome for ``call``; after a crash, a timeout or a restart request the worker is
        closed (``alive`` is False)."""
        failed = self.send(index, call)
        return failed if failed is not None else self.receive(index, timeout_s)

    def send(self, index: int, call: Call) -> Outcome | None:
        """Send ``call``; None when sent, else the ``crashed`` Outcome that ends it."""
        try:
            self.conn.send((index, call))
        except (OSError, ValueError) as exc:
            return self._died(f"(the call could not be sent: {type(exc).__name__}: {exc})")
        return None

    def receive(self, index: int, timeout_s: float) -> Outcome:
        """The answer to call ``index`` (sent with ``send``), waiting at most ``timeout_s``."""
        try:
            ready = self.conn.poll(max(timeout_s, 0.0))
        except (OSError, ValueError):
            return self._died("")
        if not ready:
            self.kill()
            return Outcome(
                status="timeout", error=f"no answer within {timeout_s:g} s; the worker was killed"
            )
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            return self._died("")
        except Exception as exc:  # an Outcome that does not unpickle here
            self.kill()
            return Outcome(
                status="crashed",
                error=f"the worker's answer could not be read: {type(exc).__name__}: {exc}",
            )
        _, answered, outcome, restart = message
        if answered != index:  # cannot happen with one call in flight; be safe
            self.kill()
            return Outcome(status="crashed", error=f"answer for call {answered}, not {index}")
        if restart:
            self.close()
        return outcome

    def _died(self, detail: str) -> Outcome:
        self._wait(5)
        returncode = self.process.returncode
        self.kill()
        text = f"the worker process {_exit_description(returncode)} while evaluating the call"
        return Outcome(status="crashed", error=f"{text} {detail}".strip())

    def close(self) -> None:
        """Ask an idle worker to stop; kill it if it does not within a second."""
        if self._closed:
            return
        if self.process.poll() is None:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
        self.conn.close()
        self._wait(1)
        self.kill()

    def kill(self) -> None:
        if not self.conn.closed:
            self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
            self._wait(5)
        self._closed = True


class IsolatedRunner:
    """A callable ``Call -> Outcome`` that evaluates each call in a worker process.

    The worker is started here (``BackendSetupError`` if it cannot load the backend) and
    replaced after a crash, a timeout or a restart request; a replacement that cannot start
    answers ``crashed`` with the reason. ``close()`` stops the worker.
    """

    def __init__(
        self,
        backend_spec: str,
        timeout_s: float,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    ) -> None:
        self.spec = backend_spec
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self._worker: _Worker | None = _Worker(backend_spec, startup_timeout_s)
        # name, version and gradients of the backend the worker loaded (isolation.describe)
        self.description: dict = self._worker.description
        self._index = 0
        self._broken: str | None = None  # why a replacement worker could not start
        self._collect: Callable[[], Outcome] | None = None  # the call not yet collected

    def __call__(self, call: Call) -> Outcome:
        return self.submit(call)()

    def submit(self, call: Call) -> Callable[[], Outcome]:
        """Send ``call`` to the worker now and return a function that waits for its Outcome:
        the caller works (the oracle computes its expectation) while the backend computes.
        The timeout counts from the send. One call is in flight at a time: a call submitted
        while an earlier one was never collected (its caller raised) first waits for that one
        and drops its answer, so the worker and this runner stay in step."""
        if self._collect is not None:
            self._collect()
        if self._broken is not None:
            broken = Outcome(status="crashed", error=self._broken)
            return lambda: broken
        if self._worker is None:
            try:
                self._worker = _Worker(self.spec, self.startup_timeout_s)
            except BackendSetupError as exc:
                self._broken = f"a replacement worker could not start: {exc}"
                broken = Outcome(status="crashed", error=self._broken)
                return lambda: broken
        self._index += 1
        index, worker = self._index, self._worker
        deadline = time.monotonic() + self.timeout_s
        failed = worker.send(index, call)
        answer: list[Outcome] = []

        def collect() -> Outcome:
            if not answer:
                self._collect = None
                if failed is not None:
                    outcome = failed
                else:
                    outcome = worker.receive(index, max(deadline - time.monotonic(), 0.0))
                if not worker.alive:
                    worker.kill()
                    if self._worker is worker:
                        self._worker = None
                answer.append(outcome)
            return answer[0]

        self._collect = collect
        return collect

    def close(self) -> None:
        self._collect = None  # an answer still on its way is dropped with the worker
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def evaluate_isolated(
    backend_spec: str,
    calls: Sequence[Call],
    timeout_s: float,
    *,
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
) -> list[Outcome]:
    """One Outcome per call, in order, each evaluated in a worker process (see module docstring).

    Raises ``BackendSetupError`` when the first worker cannot load the backend. Should a
    replacement worker fail to start later, the calls left get ``crashed`` with that reason.
    """
    if not calls:
        return []
    runner = IsolatedRunner(backend_spec, timeout_s, startup_timeout_s)
    try:
        return [runner(call) for call in calls]
    finally:
        runner.close()
