"""Published files stay small: a report that embeds arrays (or any file a script can make again)
must not creep into the repository."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 4 * 1024 * 1024


def _tracked():
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_no_tracked_file_is_larger_than_4_mib():
    big = [(p.relative_to(ROOT), p.stat().st_size) for p in _tracked() if p.is_file()]
    assert [b for b in big if b[1] > LIMIT] == []
