"""The TensorFlow kernel models against TensorFlow itself (tensorflow-cpu 2.21, keras 3.15, through
the backend adapter): each model must reproduce TensorFlow's output bit for bit, and each cause
added for TensorFlow must explain a class of the published tensorflow-ci report while the control
(outputs moved one ulp) explains none. Nothing here is an expected value of the oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conformance.cases import Case
from conformance.findings import attribute, kernels
from conformance.findings.arithmetic import same_bits
from conformance.findings.causes import UNEXPLAINED
from conformance.findings.elements import gather
from conformance.records import DivergenceClass, Example
from oracle.formats import format_of

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from conformance.backends.tensorflow_backend import TensorFlowBackend  # noqa: E402

BCE, LOGITS = "binary_cross_entropy", "binary_cross_entropy_with_logits"
REPORT = Path(__file__).resolve().parents[2] / "reports" / "ci" / "tensorflow-ci.json"


@pytest.fixture(scope="module")
def tf_backend():
    return TensorFlowBackend()


def _np(values, dtype: str) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(format_of(dtype).numpy_dtype)


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


def _tensorflow_outputs(backend, case: Case) -> dict[str, np.ndarray]:
    wrt = ("input", "target") + (("pos_weight",) if case.pos_weight is not None else ())
    out = backend.evaluate(case.to_call(grad_wrt=wrt))
    assert out.status == "ok", out.error
    found = {"value": np.asarray(out.value)}
    found.update({f"grad_{name}": np.asarray(g) for name, g in out.gradients.items()})
    return found


def _model_output(case: Case, quantity: str, index):
    ex = _class(case, quantity, "0", list(index)).minimal
    return kernels.model_for("tensorflow", case.function, quantity)(gather(ex))


# Fewer elements than an AVX packet (4 float64, 8 float32): Eigen's vectorized exp/log are not
# the libm's and are not modelled.
CASES = [  # (function, dtype, x, y, pos_weight, reduction, grad_output)
    (LOGITS, "float32", [-3.7, 0.0, 2.5, 30.0], [0.3, 1.0, 0.0, 0.999], None, "none", None),
    (LOGITS, "float64", [-21.2, 0.0, 5.5], [6.3e-10, 0.25, 1.0], [6.3, 0.8, 2.0], "none", None),
    (LOGITS, "float16", [-6.996, 0.0, 3.25], [0.02614, 0.5, 1.0], [1.313, 3.0, 0.7], "sum", 3.068),
    (LOGITS, "bfloat16", [-89.0, -3.33, 7.0], [0.0, 0.000336, 1.0], None, "mean", None),
    (BCE, "float64", [0.0, 0.3, 0.5000000000002421], [0.0, 0.7, 1.0], None, "none", None),
    (BCE, "float32", [1e-30, 0.476318359375, 0.999], [1.0, 0.5, 0.2], None, "sum", -0.5),
    (BCE, "float16", [0.0, 0.3706, 1.0], [0.5, 0.3706, 0.0], None, "none", None),
    (BCE, "bfloat16", [0.32421875, 1.0, 3.3e-37], [0.37109375, 1.0, 1.0], None, "mean", None),
]


@pytest.mark.parametrize("function,dtype,x,y,p,reduction,go", CASES)
def test_the_models_reproduce_tensorflow_bit_for_bit(
    tf_backend, function, dtype, x, y, p, reduction, go
):
    case = Case(
        function,
        dtype,
        _np(x, dtype),
        _np(y, dtype),
        pos_weight=None if p is None else _np(p, dtype),
        reduction=reduction,
        grad_output=None if go is None else _np(go, dtype).reshape(()),
    )
    got = _tensorflow_outputs(tf_backend, case)
    for quantity, values in got.items():
        indices = [()] if quantity == "value" and reduction != "none" else np.ndindex(values.shape)
        for i in indices:
            model = _model_output(case, quantity, i)
            want = values[i][()]
            assert same_bits(model, want), (quantity, i, model, want)


def test_denormals_are_flushed_like_tensorflow(tf_backend):
    """x = -89: exp(-89) = 2.2e-39 is a float32 subnormal, flushed to 0 (FTZ), and a
    subnormal logit is read as 0 (DAZ); without the flush the model gives the IEEE values."""
    x, y = _np([-89.0, 1e-40], "float32"), _np([0.0, 0.5], "float32")
    case = Case(LOGITS, "float32", x, y, reduction="none")
    got = _tensorflow_outputs(tf_backend, case)
    assert got["value"][0] == 0 and got["grad_target"][1] == 0
    ex = _class(case, "value", "0", [0]).minimal
    model = kernels.model_for("tensorflow", LOGITS, "value")
    value, flushed = kernels.tf_evaluate(model, gather(ex))
    assert same_bits(value, got["value"][0]) and flushed == 1  # exp(-89)
    assert kernels.tf_evaluate(model, gather(ex), flush=False)[0] > 0


def test_the_weighted_gradient_at_zero_is_one_minus_y(tf_backend):
    """Abs's gradient sign(0) = 0 and ReluGrad's 0 at 0 drop the softplus term: 1 - y exactly,
    where the derivative is (1 - y) - lw/2."""
    x, y, p = _np([0.0], "float64"), _np([0.25], "float64"), _np([3.0], "float64")
    case = Case(LOGITS, "float64", x, y, pos_weight=p, reduction="none")
    got = _tensorflow_outputs(tf_backend, case)["grad_input"][0]
    assert got == 0.75
    g = gather(_class(case, "grad_input", "0", [0]).minimal)
    assert kernels.tf_logits_grad_input(g) == 0.75
    assert kernels.tf_logits_grad_input(g, sign_at_zero=1) == 0.75 - (1 + 2 * 0.25) / 2


def test_the_keras_clip_bounds():
    """1 - 1e-7 rounds to 1 in float16 and bfloat16 (x = 1 is not clipped there)."""
    assert kernels.keras_clip_bounds("float16")[1] == 1
    assert kernels.keras_clip_bounds("bfloat16")[1] == 1
    assert kernels.keras_clip_bounds("float32")[1] == np.float32(1) - np.float32(2.0**-23)


def test_a_value_at_a_rounding_midpoint_is_refused(tf_backend):
    """float32 log(1 - 2**-23) lies 1e-8 ulp from a midpoint: TensorFlow's scalar log (glibc's
    logf) rounds it one way, a correctly rounded log the other, so the model refuses the case
    rather than guess; the same value multiplied by y = 0 does not matter and is accepted."""
    x = _np([1.0, 1.0], "float32")
    case = Case(BCE, "float32", x, _np([1.0, 0.0], "float32"), reduction="none")
    got = _tensorflow_outputs(tf_backend, case)["value"]
    with pytest.raises(kernels.NearMidpoint):
        _model_output(case, "value", (0,))
    cls = _class(case, "value", repr(float(got[0])), [0])
    assert attribute("tensorflow", cls).cause_id == UNEXPLAINED
    assert same_bits(_model_output(case, "value", (1,)), got[1])


PUBLISHED = {  # one class of reports/ci/tensorflow-ci.json for each cause TensorFlow gained
    "tf-denormals-flushed": "binary_cross_entropy_with_logits/bfloat16/grad_input/"
    "value_mismatch/x:far+,y=1",
    "keras-clip-upper-bound-rounds-to-one": "binary_cross_entropy/bfloat16/grad_input/"
    "inf_mismatch/x=1,y:soft",
    "keras-probability-clip-epsilon": "binary_cross_entropy/bfloat16/grad_target/"
    "value_mismatch/x:near0,y:soft",
    "keras-clip-zero-gradient": "binary_cross_entropy/bfloat16/grad_input/inf_mismatch/"
    "x:near0,y:soft",
    "keras-bce-log-one-minus-x": "binary_cross_entropy/bfloat16/grad_target/value_mismatch/"
    "x:mid,y=0",
    "tf-mean-grad-count-overflows-float16": "binary_cross_entropy/float16/grad_input/"
    "nan_mismatch/large:mixed,x:near0,y:soft",
    "keras-log-grad-reciprocal-overflows-float16": "binary_cross_entropy/float16/grad_input/"
    "inf_mismatch/x:near0,y:soft",
    "keras-bce-grad-input-log-terms-cancel": "binary_cross_entropy/bfloat16/grad_input/"
    "value_mismatch/x:mid,y:soft",
    "keras-bce-target-gradient-log-difference": "binary_cross_entropy/float64/grad_target/"
    "value_mismatch/x:mid,y=1",
    "tf-weighted-logits-grad-abs-kink-at-zero": "binary_cross_entropy_with_logits/bfloat16/"
    "grad_input/value_mismatch/x=0,y:soft",
    "tf-logits-loss-cancellation": "binary_cross_entropy_with_logits/bfloat16/value/"
    "value_mismatch/reduction=mean,x:far-,y:soft",
    "tf-logits-grad-input-cancellation": "binary_cross_entropy_with_logits/bfloat16/grad_input/"
    "value_mismatch/x:far-,y:soft",
    "tf-logits-target-gradient-cancellation": "binary_cross_entropy_with_logits/bfloat16/"
    "grad_target/value_mismatch/x:mid,y=1",
    "tf-reduced-precision-intermediates": "binary_cross_entropy_with_logits/float16/"
    "grad_pos_weight/value_mismatch/x:far+,y=1",
    "keras-probability-range-unchecked": "binary_cross_entropy/bfloat16/value/did_not_raise/"
    "error:OracleDomainError:input",
    "pos-weight-shape-unchecked": "binary_cross_entropy_with_logits/bfloat16/value/"
    "did_not_raise/error:OracleShapeError:pos_weight",
    "ieee-special-values": "binary_cross_entropy_with_logits/bfloat16/grad_input/nan_mismatch/"
    "p=inf",
    "intermediate-overflow": "binary_cross_entropy_with_logits/bfloat16/value/inf_mismatch/"
    "reduction=mean,x:far-,y:soft",
}


@pytest.fixture(scope="module")
def published():
    from conformance.report.report_json import load_json_report

    run = next(r for r in load_json_report(REPORT).runs if r.backend == "tensorflow")
    return {cls.class_id: cls for cls in run.divergences}


@pytest.mark.parametrize("cause_id,class_id", sorted(PUBLISHED.items()))
def test_a_published_class_is_attributed_to_the_cause(published, cause_id, class_id):
    cls = published[class_id]
    assert attribute("tensorflow", cls).cause_id == cause_id
    assert attribute("tensorflow", cls, control=True).cause_id == UNEXPLAINED
