"""Published files stay small: a report that embeds arrays (or any file a script can make again)
must not creep into the repository.

The limit is 8 MiB per file: the largest published report (torch's deep audit: about 500
divergence classes, each with its examples, and the error scans for the plots) is about 5 MB,
while a report that embeds the arrays of its large-reduction cases is hundreds of MB (the
incident this test exists for). The whole checkout stays under 64 MiB."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 8 * 1024 * 1024
TOTAL_LIMIT = 64 * 1024 * 1024


def _tracked():
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_no_tracked_file_is_larger_than_8_mib():
    big = [(p.relative_to(ROOT), p.stat().st_size) for p in _tracked() if p.is_file()]
    assert [b for b in big if b[1] > LIMIT] == []


def test_the_tracked_files_stay_under_64_mib_in_all():
    assert sum(p.stat().st_size for p in _tracked() if p.is_file()) <= TOTAL_LIMIT
