"""``bce-conformance render REPORT.json``: the records of an audit attributed again and written
again, byte for byte what the audit's writers give; bad input exits 2 in one line."""

import json
import shutil
from pathlib import Path

from conformance.cli import main

CI_REPORT = Path(__file__).resolve().parents[2] / "reports" / "ci" / "numpy-ci.json"


def test_render_rewrites_json_markdown_and_html_beside_the_report(tmp_path, capsys):
    report = tmp_path / "numpy-ci.json"
    shutil.copy(CI_REPORT, report)
    assert main(["render", str(report)]) == 0
    out = capsys.readouterr().out
    for ext in ("json", "md", "html"):
        assert f"wrote {tmp_path / ('numpy-ci.' + ext)}" in out
    assert json.loads(report.read_text())["runs"][0]["backend"] == "numpy"


def test_render_twice_gives_the_same_bytes(tmp_path, capsys):
    report = tmp_path / "numpy-ci.json"
    shutil.copy(CI_REPORT, report)
    main(["render", str(report)])
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    main(["render", str(report)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first


def test_render_of_a_missing_report_exits_2_in_one_line(tmp_path, capsys):
    assert main(["render", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "missing.json" in err and len(err.strip().splitlines()) == 1


def test_render_refuses_a_stem_with_folders(tmp_path, capsys):
    report = tmp_path / "numpy-ci.json"
    shutil.copy(CI_REPORT, report)
    assert main(["render", str(report), "--report-stem", "../elsewhere"]) == 2
    assert "plain file name" in capsys.readouterr().err
