"""Why a framework violates an identity the documentation implies (tests/harness/test_identities).

These violations are not divergence classes of an audit (no single recorded output to reproduce),
so they are explained here in words, keyed like baseline classes (``identity/<name>/<dtype>``);
reports/make_baseline.py copies them into the baseline, and the identity tests fail on a
violation not listed.
"""

from __future__ import annotations

_TORCH_MIRROR = (
    "L(x, 1) and L(-x, 0) are both exactly softplus(-x), but torch's (1 - y)*x - log_sigmoid(x) "
    "reaches them by different paths: at y = 1 it returns -log_sigmoid(x), at y = 0 the "
    "cancelling -x - log_sigmoid(-x) (cause logits-loss-log-sigmoid-cancellation)"
)
_TORCH_COMPOSITION = (
    "binary_cross_entropy(sigmoid(x), y) and binary_cross_entropy_with_logits(x, y) differ by "
    "more than the rounding of sigmoid(x) explains, because the with-logits loss cancels for "
    "x < 0 with y = 0 (cause logits-loss-log-sigmoid-cancellation)"
)
_PADDLE_COMPOSITION = (
    "binary_cross_entropy(sigmoid(x), y) and binary_cross_entropy_with_logits(x, y) differ by "
    "more than the rounding of sigmoid(x) explains: paddle's with-logits loss takes "
    "log(1 + exp(-|x|)) without log1p (cause logits-loss-log-without-log1p)"
)

_TENSORFLOW_COMPOSITION = (
    "binary_cross_entropy(sigmoid(x), y) and binary_cross_entropy_with_logits(x, y) differ by "
    "more than the rounding of sigmoid(x) explains: Keras' binary_crossentropy takes log of the "
    "rounded 1 - o instead of log1p(-o), so at y = 0 and a small probability (x = -5: 14 ULP in "
    "float64, 53 in float32) its loss loses digits while tf.nn's logits form keeps them (cause "
    "keras-bce-log-one-minus-x)"
)
_ONNXRUNTIME_MIRROR = (
    "L(x, 1) and L(-x, 0) are both exactly softplus(-x), but the graph torch.onnx.export writes, "
    "-[y log(Sigmoid(x)) + (1 - y) log(1 - Sigmoid(x))], reaches them by different paths: "
    "log(sigmoid(x)) at y = 1, and log(1 - sigmoid(-x)) at y = 0, whose 1 - sigmoid(-x) cancels "
    "for x < 0 (x = -5: 9 ULP in float32)"
)

IDENTITY_VIOLATIONS: dict[str, dict[str, str]] = {
    "torch": {
        f"identity/{name}/{dtype}": text
        for dtype in ("float64", "float32")
        for name, text in (("mirror", _TORCH_MIRROR), ("sigmoid-composition", _TORCH_COMPOSITION))
    },
    "paddle": {
        f"identity/sigmoid-composition/{dtype}": _PADDLE_COMPOSITION
        for dtype in ("float64", "float32")
    },
    "tensorflow": {
        f"identity/sigmoid-composition/{dtype}": _TENSORFLOW_COMPOSITION
        for dtype in ("float64", "float32")
    },
    "onnxruntime": {
        f"identity/mirror/{dtype}": _ONNXRUNTIME_MIRROR for dtype in ("float64", "float32")
    },
}
