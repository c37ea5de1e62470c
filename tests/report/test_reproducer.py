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


def _printed_got(text: str) -> str:
    return next(
        line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith("got =")
    )


@pytest.mark.parametrize("backend_name", ["torch", "paddle", "numpy"])
def test_a_reproducer_builds_each_argument_in_its_dtype_layout_and_grad_output(backend_name):
    """The mixed-dtype, stride-0, non-unit grad_output case: the reproducer prints the very
    gradient the backend's adapter computed (a reproducer that cast the weight to the input's
    dtype, or back-propagated ones, would print another)."""
    if backend_name != "numpy":
        pytest.importorskip(backend_name)
    from conformance.backends.plugins import load_backend

    case = Case(
        "binary_cross_entropy_with_logits",
        "float32",
        np.array([0.3, 0.3], np.float32),
        np.array([0.25, 0.25], np.float32),
        weight=np.array([0.1, 0.7], np.float16),
        reduction="none",
        layout="contiguous" if backend_name == "paddle" else "expanded",
        grad_output=np.array([-0.25, 3.0], np.float32),
        argument_dtypes={"weight": "float16"},
    )
    backend = load_backend(backend_name)
    outcome = backend.evaluate(case.to_call(grad_wrt=("input",)))
    want = outcome.gradients["input"][1].item()
    if backend_name == "numpy":
        printed = []
        exec(reproducer(case, "grad_input", "numpy"), {"print": printed.append})
        assert printed[0]["input"][1].tobytes() == outcome.gradients["input"][1].tobytes()
        return
    text = reproducer(case, "grad_input", backend_name, element=(1,), expected="0.0")
    assert _printed_got(run(text)) == repr(want)
