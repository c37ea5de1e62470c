"""The pytest plugin, as a user meets it: ``pytest --bce-backend mymodule:PLUGIN`` in their own
project folder, next to their own tests.

The "user's" implementations are the mutation corpus's careful reference (conforms) and one of
its single-bug mutants (pos_weight on the negative term: diverges), re-exported from modules in
a fresh folder. Each run is restricted to one (function, dtype) and a few purposes to stay quick;
the cells and cases are those of ``bce-conformance run`` (conformance.hunt.audit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CELL = [
    "--bce-function", "binary_cross_entropy_with_logits", "--bce-dtype", "float32",
    "--bce-purpose", "value", "--bce-purpose", "contract",
]  # fmt: skip
USER_FILES = {
    "mybce.py": "from tests.mutation.reference import PLUGIN  # noqa: F401\n",
    "mybuggy.py": (
        "from tests.mutation.mutants import pos_weight_on_negative\n\n"
        "PLUGIN = pos_weight_on_negative()\n"
    ),
    "myfloat64only.py": (
        "from tests.mutation.reference import CarefulBCE\n\n\n"
        "class Float64Only(CarefulBCE):\n"
        "    dtypes = ('float64',)\n\n\n"
        "PLUGIN = Float64Only()\n"
    ),
    "test_mine.py": "def test_the_users_own_test():\n    assert 1 + 1 == 2\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("user-project")
    for name, text in USER_FILES.items():
        (folder / name).write_text(text)
    return folder


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def buggy_run(project: Path):
    """The buggy implementation's run, with its reports, JUnit XML and Markdown summary."""
    out = project / "buggy"
    done = _pytest(
        project, "--bce-backend", "mybuggy:PLUGIN", *CELL, "--bce-report-dir", str(out),
        "--junitxml", str(out / "junit.xml"), "--bce-summary", str(out / "summary.md"),
    )  # fmt: skip
    return done, out


def test_a_conforming_implementation_passes_beside_the_users_tests(project):
    done = _pytest(project, "--bce-backend", "mybce:PLUGIN", *CELL)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "PASSED test_mine.py::test_the_users_own_test" in done.stdout
    assert (
        "PASSED bce-conformance::bce[mybce:PLUGIN-binary_cross_entropy_with_logits-float32-value]"
        in done.stdout
    )
    assert "3 passed" in done.stdout


def test_a_buggy_implementation_fails_naming_the_class_and_its_reproducer(buggy_run):
    done, _ = buggy_run
    assert done.returncode == 1
    assert "FAILED bce-conformance::bce[mybuggy:PLUGIN-binary_cross_entropy_with_logits-" \
        "float32-value]" in done.stdout  # fmt: skip
    assert "binary_cross_entropy_with_logits/float32/value/value_mismatch/" in done.stdout
    assert "bce-conformance replay --backend mybuggy:PLUGIN case.json" in done.stdout


def test_the_junit_xml_has_one_testcase_per_cell(buggy_run):
    _, out = buggy_run
    cases = ET.parse(out / "junit.xml").getroot().iter("testcase")
    names = {c.get("name"): c.find("failure") is not None for c in cases}
    assert names["bce[mybuggy:PLUGIN-binary_cross_entropy_with_logits-float32-value]"] is True
    assert "test_the_users_own_test" in names


def test_the_markdown_summary_lists_every_cell_and_each_failing_class(buggy_run):
    _, out = buggy_run
    text = (out / "summary.md").read_text()
    assert "| `bce[mybuggy:PLUGIN-binary_cross_entropy_with_logits-float32-contract]` |" in text
    assert "binary_cross_entropy_with_logits/float32/value/value_mismatch/" in text


def test_known_classes_xfail_against_a_baseline_made_from_the_report(project, buggy_run):
    from conformance.gate.baseline import baseline_from_report
    from conformance.report.report_json import load_json_report

    _, out = buggy_run
    (report_path,) = out.glob("*-pytest.json")
    report = load_json_report(report_path)
    ids = [c.class_id for c in report.runs[0].divergences]
    assert ids
    data = baseline_from_report(report, {i: "pos_weight on the negative term" for i in ids})
    baseline = project / "baseline.json"
    baseline.write_text(json.dumps(data))
    done = _pytest(project, "--bce-backend", "mybuggy:PLUGIN", *CELL, "--bce-baseline",
                   str(baseline))  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "XFAIL bce-conformance::bce[mybuggy:PLUGIN-binary_cross_entropy_with_logits-" \
        "float32-value]" in done.stdout  # fmt: skip


def test_a_dtype_the_backend_declines_is_skipped_not_passed(project):
    done = _pytest(project, "--bce-backend", "myfloat64only:PLUGIN", *CELL)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "SKIPPED" in done.stdout and "declines" in done.stdout
    assert "2 skipped" in done.stdout


def test_without_the_option_the_plugin_adds_nothing(project):
    done = _pytest(project)
    assert done.returncode == 0 and "1 passed" in done.stdout
    assert "bce-conformance::" not in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bce-backend", "nosuchmodule"], "unknown backend 'nosuchmodule'"),
        (["--bce-backend", "mybce:PLUGIN", "--bce-dtype", "float8"], "unknown dtype 'float8'"),
        (["--bce-backend", "mybce:PLUGIN", "--bce-profile", "huge"], "unknown profile 'huge'"),
        (["--bce-backend", "mybce:PLUGIN", "--bce-seed", "x"], "--bce-seed: 'x'"),
        (["--bce-backend", "mybce:PLUGIN", "--bce-baseline", "missing.json"], "missing.json"),
        (["--bce-backend", "mybce:PLUGIN", "--bce-report-dir", "mybce.py"], "is not a folder"),
    ],
)
def test_bad_options_stop_the_session_with_exit_2(project, args, message):
    done = _pytest(project, *args)
    assert done.returncode == 2
    assert message in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
