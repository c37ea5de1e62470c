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
