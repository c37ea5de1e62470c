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


MINIMAL = "tests.plugins_fixtures.toy_backends:minimal"
_SHARD = ["--backend", MINIMAL, "--profile", "ci", "--dtype", "float32", "--purpose", "special",
          "--purpose", "edge", "--in-process", "--quiet"]  # fmt: skip
LOGITS = "binary_cross_entropy_with_logits"


def _audit(folder: Path, stem: str, *extra: str) -> Path:
    main(["audit", *_SHARD, *extra, "--report-dir", str(folder), "--report-stem", stem])
    return folder / f"{stem}.json"


def test_the_shards_of_an_audit_render_as_the_whole_audit_byte_for_byte(tmp_path, capsys):
    whole = _audit(tmp_path / "whole", "audit")
    bce = _audit(tmp_path, "bce", "--function", "binary_cross_entropy")
    logits = _audit(tmp_path, "logits", "--function", LOGITS)
    out = tmp_path / "merged"
    assert main(["render", str(bce), str(logits), "--report-dir", str(out),
                 "--report-stem", "audit"]) == 0  # fmt: skip
    assert json.loads(whole.read_text())["runs"][0]["divergences"]  # a test with classes
    for ext in ("json", "md", "html"):
        assert (out / f"audit.{ext}").read_bytes() == (whole.parent / f"audit.{ext}").read_bytes()


def test_shards_that_hunt_one_cell_twice_exit_2(tmp_path, capsys):
    a = _audit(tmp_path, "a", "--function", LOGITS)
    b = _audit(tmp_path / "b", "a", "--function", LOGITS)
    capsys.readouterr()
    assert main(["render", str(a), str(b), "--report-stem", "m"]) == 2
    err = capsys.readouterr().err
    assert "disjoint" in err and len(err.strip().splitlines()) == 1


def test_shards_of_two_seeds_exit_2(tmp_path, capsys):
    a = _audit(tmp_path, "a", "--function", LOGITS)
    b = _audit(tmp_path, "b", "--function", "binary_cross_entropy", "--seed", "1")
    capsys.readouterr()
    assert main(["render", str(a), str(b), "--report-stem", "m"]) == 2
    assert "seed" in capsys.readouterr().err


def test_several_reports_without_a_stem_exit_2(tmp_path, capsys):
    a = tmp_path / "numpy-ci.json"
    shutil.copy(CI_REPORT, a)
    assert main(["render", str(a), str(a)]) == 2
    assert "--report-stem" in capsys.readouterr().err


def test_shards_split_by_dtype_render_as_the_whole_audit_untested_cells_included(tmp_path):
    value = ["--function", "binary_cross_entropy", "--purpose", "value"]
    main(["audit", "--backend", MINIMAL, "--profile", "ci", "--in-process", "--quiet", *value,
          "--dtype", "float16", "--dtype", "bfloat16", "--report-dir", str(tmp_path / "whole"),
          "--report-stem", "audit"])  # fmt: skip
    shards = []
    for dtype in ("float16", "bfloat16"):
        main(["audit", "--backend", MINIMAL, "--profile", "ci", "--in-process", "--quiet", *value,
              "--dtype", dtype, "--report-dir", str(tmp_path), "--report-stem", dtype])  # fmt: skip
        shards.append(str(tmp_path / f"{dtype}.json"))
    out = tmp_path / "merged"
    main(["render", *shards, "--report-dir", str(out), "--report-stem", "audit"])
    whole = json.loads((tmp_path / "whole" / "audit.json").read_text())
    assert whole["runs"][0]["untested"]  # the toy declines gradients: cells stay untested
    assert (out / "audit.json").read_bytes() == (tmp_path / "whole" / "audit.json").read_bytes()


def test_shards_split_by_purpose_render_as_the_whole_audit(tmp_path):
    cell = ["--backend", MINIMAL, "--profile", "ci", "--in-process", "--quiet", "--dtype",
            "float32", "--dtype", "float16"]  # fmt: skip
    main(["audit", *cell, "--purpose", "edge", "--purpose", "special",
          "--report-dir", str(tmp_path / "whole"), "--report-stem", "audit"])  # fmt: skip
    for purpose in ("edge", "special"):
        main(["audit", *cell, "--purpose", purpose, "--report-dir", str(tmp_path),
              "--report-stem", purpose])  # fmt: skip
    out = tmp_path / "merged"
    main(["render", str(tmp_path / "edge.json"), str(tmp_path / "special.json"),
          "--report-dir", str(out), "--report-stem", "audit"])  # fmt: skip
    assert (out / "audit.json").read_bytes() == (tmp_path / "whole" / "audit.json").read_bytes()
