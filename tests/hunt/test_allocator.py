"""Sweeps keep their chunk arrays in the heap (conformance/hunt/allocator.py)."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

CODE = (
    "import os; from conformance.hunt.allocator import keep_chunk_arrays_in_heap as k; "
    "print(k(), os.environ['MALLOC_MMAP_THRESHOLD_'], os.environ['MALLOC_TOP_PAD_'])"
)


def _run(env_extra: dict[str, str]) -> list[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.split()


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no C library found")
def test_the_mmap_threshold_is_raised_here_and_for_the_processes_started_from_here():
    applied, threshold, pad = _run({})
    assert threshold == str(32 * 2**20) and pad == str(256 * 2**20)
    if sys.platform.startswith("linux"):
        assert applied == "True"


def test_a_value_the_user_set_is_kept():
    _, threshold, _ = _run({"MALLOC_MMAP_THRESHOLD_": "1048576"})
    assert threshold == "1048576"
