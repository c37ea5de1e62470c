"""Bad input to the command line: one clear line on stderr and exit 2, before any audit runs."""

import json
import os

import pytest

from conformance.cli import main

LOGITS = "binary_cross_entropy_with_logits"
QUICK = ["--function", LOGITS, "--dtype", "float16", "--purpose", "contract", "--quiet"]


def _usage_error(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    return err


def test_a_report_dir_that_is_a_file_is_refused_before_the_audit(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("")
    _usage_error(
        capsys, ["audit", "--backend", "numpy", "--report-dir", str(f), *QUICK], "not a folder"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_report_dir_is_refused(tmp_path, capsys):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    _usage_error(
        capsys, ["audit", "--backend", "numpy", "--report-dir", str(d), *QUICK], "cannot write"
    )


@pytest.mark.parametrize("stem", ["../../x", "a/b", "..", ".hidden"])
def test_a_report_stem_with_folders_is_refused(tmp_path, capsys, stem):
    argv = ["audit", "--backend", "numpy", "--report-dir", str(tmp_path), "--report-stem", stem]
    _usage_error(capsys, [*argv, *QUICK], "plain file name")


def test_a_report_stem_without_a_report_dir_is_refused(capsys):
    _usage_error(
        capsys, ["run", "--backend", "numpy", "--report-stem", "x", *QUICK], "--report-dir"
    )


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "soon"])
def test_a_timeout_must_be_a_positive_finite_number(capsys, timeout):
    _usage_error(capsys, ["run", "--backend", "numpy", "--timeout", timeout], "--timeout")


def _replay(tmp_path, capsys, cases, fragment):
    path = tmp_path / "cases.json"
    path.write_text(cases if isinstance(cases, str) else json.dumps(cases))
    return _usage_error(capsys, ["replay", "--backend", "numpy", str(path)], fragment)


def test_an_empty_case_list_is_refused(tmp_path, capsys):
    _replay(tmp_path, capsys, [], "empty")


def test_size_average_must_be_a_boolean(tmp_path, capsys):
    case = {"function": LOGITS, "dtype": "float32", "input": [1.0], "target": [1.0]}
    _replay(tmp_path, capsys, [{**case, "size_average": "yes"}], "size_average")


def test_a_number_beyond_float64_is_refused_not_read_as_infinity(tmp_path, capsys):
    text = '[{"function": "' + LOGITS + '", "dtype": "float32", "input": [1e400], "target": [1]}]'
    _replay(tmp_path, capsys, text, "beyond float64")


def test_a_ragged_list_is_named_as_such(tmp_path, capsys):
    case = {"function": LOGITS, "dtype": "float32", "input": [[0.5], [0.5, 1]], "target": [1.0]}
    _replay(tmp_path, capsys, [case], "ragged")


def test_a_plugin_printing_at_import_does_not_corrupt_replay_json(tmp_path, capsys, monkeypatch):
    (tmp_path / "noisy_plugin_for_test.py").write_text(
        "print('hello from the plugin')\n"
        "from conformance.backends import numpy_kernel as K\n"
        "binary_cross_entropy_with_logits = K.binary_cross_entropy_with_logits\n"
    )
    monkeypatch.chdir(tmp_path)
    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps([{"function": LOGITS, "dtype": "float32", "input": [1.0], "target": [1.0]}])
    )
    assert main(["replay", "--backend", "noisy_plugin_for_test", str(cases), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)[0]["verdict"] == "conforms"
