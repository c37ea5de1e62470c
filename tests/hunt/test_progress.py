"""Progress on stderr: a tqdm bar on a terminal, plain lines with an ETA elsewhere."""

from __future__ import annotations

import io

from conformance.hunt.progress import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_every_tenth_of_the_work_and_one_final_line():
    log = io.StringIO()
    bar = ProgressBar(100, "torch", "cases", stream=log)
    for _ in range(100):
        bar.advance()
    bar.advance(0)
    bar.close()
    lines = log.getvalue().splitlines()
    assert 10 <= len(lines) <= 11
    assert lines[-1].startswith("torch: 100/100 cases (100%), ETA 0:00:00")
    assert sum(line.startswith("torch: 100/100") for line in lines) == 1


def test_a_terminal_gets_a_tqdm_bar_drawn_in_place():
    term = _Terminal()
    bar = ProgressBar(5, "numpy", "cases", stream=term)
    for _ in range(5):
        bar.advance()
    bar.close()
    text = term.getvalue()
    assert "\r" in text and "5/5" in text and "100%|" in text


def test_a_disabled_bar_writes_nothing():
    log = io.StringIO()
    bar = ProgressBar(10, "x", "cases", enabled=False, stream=log)
    bar.advance(10)
    bar.close()
    assert log.getvalue() == ""


def test_work_resumed_from_a_checkpoint_counts_as_done_but_not_towards_the_eta():
    bar = ProgressBar(11, "sweep", "chunks", stream=io.StringIO())
    bar.advance(9, computed=False)
    assert bar.line().endswith("ETA 0:00:00")  # nothing computed yet: no rate to scale
    bar.start -= 100.0
    bar.advance(1)  # one chunk computed in 100 s, one left: 100 s, not 100 s / 10 * 1
    assert bar.line().endswith("ETA 0:01:40")


def test_a_sweep_line_carries_its_input_count_before_the_eta():
    log = io.StringIO()
    bar = ProgressBar(2, "sweep", "chunks", stream=log)
    bar.advance(1, note="4.19e+06 inputs")
    bar.advance(1, note="8.39e+06 inputs")
    last = log.getvalue().splitlines()[-1]
    assert last.startswith("sweep: 2/2 chunks (100%), 8.39e+06 inputs, ETA")
