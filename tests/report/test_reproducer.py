"""Reproducers print the divergent element, the expected value and the comparison."""

import contextlib
import io

import numpy as np
import pytest

from conformance.cases import Case
from conformance.report.by_cause import single_element_case
from conformance.report.reproducer import reproducer
from tests.findings.helpers import one_element_class


def run(snippet: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(snippet, {})
    return out.getvalue()


def test_torch_reproducer_prints_the_element_and_agrees_on_a_conforming_value():
    pytest.importorskip("torch")
    case = Case(
        "binary_cross_entropy", "float64", np.array([0.5]), np.array([1.0]), reduction="none"
    )
    out = run(reproducer(case, "value", "torch", element=(0,), expected="0.6931471805599453"))
    assert "input[i] =     0.5" in out and "agrees: True" in out


def test_did_not_raise_reproducer_prints_what_the_backend_returned():
    case = Case(
        "binary_cross_entropy",
        "float32",
        np.array([0.5], np.float32),
        np.array([-0.5], np.float32),
        reduction="none",
    )
    text = reproducer(case, "value", "paddle", expect_error="OracleDomainError: target")
    assert "print('returned instead of raising:', loss.tolist())" in text


def test_a_reduced_value_is_not_cut_to_one_element():
    ex = one_element_class("binary_cross_entropy", "value", "float32", "0.0", x=0.5, y=1.0).minimal
    ex.case["reduction"] = "mean"
    assert single_element_case(ex) is None


def test_the_old_module_name_is_the_moved_module():
    import conformance.report.reproducer as moved
    import conformance.reproducer as old

    assert old is moved
