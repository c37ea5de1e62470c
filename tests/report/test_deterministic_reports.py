"""The same seed gives byte-identical reports: no creation time and no seconds unless asked
for (--timings, or SOURCE_DATE_EPOCH for the date)."""

from conformance.cli import main

QUICK = [
    "--backend", "numpy", "--function", "binary_cross_entropy", "--dtype", "float32",
    "--purpose", "contract", "--purpose", "special", "--quiet", "--in-process",
]  # fmt: skip


def _audit(folder, *extra):
    assert main(["audit", *QUICK, "--report-dir", str(folder), "--report-stem", "r", *extra]) == 0
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_audits_with_one_seed_write_the_same_bytes(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = _audit(tmp_path / "a")
    assert first == _audit(tmp_path / "b")
    assert b"created" not in first["r.md"]


def test_timings_put_the_creation_time_and_the_seconds_in(tmp_path, capsys):
    files = _audit(tmp_path, "--timings")
    assert b"created 20" in files["r.md"] and b" s, " in files["r.md"]


def test_source_date_epoch_sets_the_creation_time(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert b"created 2023-11-14T22:13:20+00:00" in _audit(tmp_path)["r.md"]
