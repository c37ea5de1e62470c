"""The torch kernel models against torch itself: each test calls torch 2.13 on CPU, records its
output, and checks that the model reproduces it bit for bit (and, for a cause, that the cause
is confirmed and the control refuses it). The models exist to reproduce torch, so torch is the
reference here; nothing in these tests is an expected value of the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.cases import Case
from conformance.findings import attribute, kernels
from conformance.findings.arithmetic import same_bits
from conformance.findings.causes import UNEXPLAINED
from conformance.findings.elements import gather
from conformance.records import DivergenceClass, Example
from oracle.formats import format_of

torch = pytest.importorskip("torch")
F = torch.nn.functional
BCE, LOGITS = "binary_cross_entropy", "binary_cross_entropy_with_logits"
TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _np(values, dtype: str) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(format_of(dtype).numpy_dtype)


def _t(a: np.ndarray) -> torch.Tensor:
    name = format_of(a.dtype).name
    return torch.tensor(a.astype(np.float64), dtype=TORCH_DTYPES.get(name, torch.float64))


def _class(case: Case, quantity: str, got: str, element, verdict="value_mismatch"):
    ex = Example(case.to_json(), quantity, element, "0", "0", got, None, None, "")
    return DivergenceClass(
        f"{case.function}/{case.dtype}/{quantity}/{verdict}/test",
        case.function,
        case.dtype,
        quantity,
        verdict,
        "test",
        "",
        1,
        None,
        ex,
        ex,
    )


def test_bce_backward_takes_the_upstream_gradient_into_the_numerator():
    x, y, w, go = (_np([v], "float32") for v in (1.0, 0.0, 0.4932330846786499, -0.0731598))
    xt = _t(x).requires_grad_()
    F.binary_cross_entropy(xt, _t(y), weight=_t(w), reduction="none").backward(_t(go))
    got = repr(float(xt.grad[0]))
    case = Case(BCE, "float32", x, y, weight=w, reduction="none", grad_output=go)
    a = attribute("torch", _class(case, "grad_input", got, [0]))
    assert a.cause_id == "bce-backward-epsilon-floor"
    assert attribute("torch", _class(case, "grad_input", got, [0]), control=True).cause_id == (
        UNEXPLAINED
    )


def test_a_reduced_type_mean_divides_by_n_in_float32():
    """N = 1001 is not a bfloat16 number (it rounds to 1000): dividing in bfloat16 would differ."""
    rng = np.random.default_rng(0)
    x = _np(rng.uniform(0.05, 0.95, 1001), "bfloat16")
    y = _np(rng.uniform(0, 1, 1001), "bfloat16")
    xt = _t(x).requires_grad_()
    F.binary_cross_entropy(xt, _t(y), reduction="mean").backward()
    case = Case(BCE, "bfloat16", x, y, reduction="mean")
    for i in (0, 500, 1000):
        ex = _class(case, "grad_input", "0", [i]).minimal
        model = kernels.torch_bce_grad_input(gather(ex))
        assert same_bits(model, _np(float(xt.grad[i]), "bfloat16")[()])


def test_a_mixed_dtype_logits_loss_in_the_target_dtype_is_that_cause():
    x, y = _np([0.3], "float32"), _np([1.0], "float16")
    out = F.binary_cross_entropy_with_logits(_t(x), _t(y), reduction="mean")
    assert out.dtype == torch.float16  # the behaviour the cause describes
    case = Case(LOGITS, "float32", x, y, reduction="mean", argument_dtypes={"target": "float16"})
    cls = _class(case, "value", "float16[]", None, verdict="dtype_mismatch")
    assert attribute("torch", cls).cause_id == "logits-loss-in-target-dtype"


def test_half_precision_roundings_in_a_composite_are_that_cause():
    """torch's with-logits loss with pos_weight in float16: log_sigmoid(x) (in float32, rounded
    to float16), its product with the log weight, (1 - y)*x, the difference and the weight's
    product each round to float16; the same formula in float32 rounded once is right."""
    x, y, w, p = (_np([v], "float16") for v in (13.2890625, 1.0, 5.83984375, 14.96875))
    out = F.binary_cross_entropy_with_logits(
        _t(x), _t(y), weight=_t(w), pos_weight=_t(p), reduction="none"
    )
    case = Case(LOGITS, "float16", x, y, weight=w, pos_weight=p, reduction="none")
    cls = _class(case, "value", repr(float(out[0])), [0])
    assert attribute("torch", cls).cause_id == "reduced-precision-intermediates"
    assert attribute("torch", cls, control=True).cause_id == UNEXPLAINED


def test_a_large_reduction_is_listed_unexplained_with_the_reason():
    from conformance.hunt.large import large_case

    case = large_case(LOGITS, "float32", "constant", 10_000, 0, "mean")
    cls = _class(case, "value", "0.5", [])
    a = attribute("torch", cls)
    assert a.cause_id == UNEXPLAINED and "not tried: a reduction over 10000 elements" in a.evidence
