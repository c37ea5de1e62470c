"""TensorFlow backend: the binary cross-entropies TensorFlow and Keras document.

What is mapped, and why:

* ``binary_cross_entropy_with_logits`` -> ``tf.nn.sigmoid_cross_entropy_with_logits(labels=y,
  logits=x)``, or with a ``pos_weight`` ``tf.nn.weighted_cross_entropy_with_logits(labels=y,
  logits=x, pos_weight=p)`` ("``labels * -log(sigmoid(logits)) * pos_weight + (1 - labels) *
  -log(1 - sigmoid(logits))``", the documented formula of PyTorch's ``pos_weight``).
* ``binary_cross_entropy`` (probabilities) -> ``keras.ops.binary_crossentropy(target, output)``,
  Keras 3's elementwise op (``tf.keras.losses.binary_crossentropy`` averages over the last axis,
  so it is not the elementwise loss). It clips the probabilities to ``[epsilon, 1 - epsilon]``
  (``epsilon = 1e-7``) instead of clamping each log at -100 and does not check the range: the
  report shows what that does.
* ``reduction='mean'``/``'sum'``: ``tf.reduce_mean``/``tf.reduce_sum`` of the elements (the
  idiom of TensorFlow's own examples). Gradients with respect to input, target and pos_weight
  by ``tf.GradientTape`` with the upstream gradient as ``output_gradients``.
* ``weight``: unsupported. Neither op takes one, and Keras' ``sample_weight`` is a loss-object
  argument with its own reduction (divided by the batch size), not a per-element weight.
  Also unsupported: the module form, the legacy ``size_average``/``reduce`` pair and strided or
  expanded layouts (``tf.constant`` copies).

TensorFlow runs on the CPU with one intra-op and one inter-op thread and op determinism on
(``tf.config.experimental.enable_op_determinism``): the same call gives the same bits. Arrays
cross bit for bit (bfloat16 is ml_dtypes' type on both sides). Mixed dtypes are passed as they
are: TensorFlow does not promote, and its error is an accepted reading.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from conformance.backends.protocol import DTYPES, Call, Outcome, check_supported, unsupported

LOGITS = "binary_cross_entropy_with_logits"


def _tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tensorflow as tf

    try:  # only possible before TensorFlow's runtime starts; later calls keep its settings
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    tf.config.experimental.enable_op_determinism()
    import keras

    return tf, keras


class TensorFlowBackend:
    name = "tensorflow"
    device = "cpu"
    dtypes = frozenset(DTYPES)
    api_forms = frozenset({"functional"})
    layouts = frozenset({"contiguous"})
    gradients = frozenset({"input", "target", "pos_weight"})
    legacy_arguments = False
    weight_arguments = frozenset({"pos_weight"})  # no per-element weight: budget on the rest

    def __init__(self) -> None:
        self._tf, self._keras = _tensorflow()
        self.version = f"tensorflow {self._tf.__version__}, keras {self._keras.__version__}"

    def __repr__(self) -> str:
        return "TensorFlowBackend()"

    def evaluate(self, call: Call) -> Outcome:
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        if call.weight is not None:
            return unsupported(
                "tf.nn.sigmoid_cross_entropy_with_logits, tf.nn.weighted_cross_entropy_with_logits "
                "and keras.ops.binary_crossentropy have no weight argument"
            )
        try:
            with np.errstate(all="ignore"):  # TensorFlow's own casts (e.g. to float16) may overflow
                return self._evaluate(call)
        except Exception as exc:  # TensorFlow or Keras rejected the call
            message = " ".join(str(exc).split())
            return Outcome(status="raised", error=f"{type(exc).__name__}: {message}")

    def _elements(self, x, y, p, function: str):
        tf = self._tf
        if function == LOGITS:
            if p is None:
                return tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x)
            return tf.nn.weighted_cross_entropy_with_logits(labels=y, logits=x, pos_weight=p)
        return self._keras.ops.binary_crossentropy(y, x, from_logits=False)

    def _loss(self, x, y, p, call: Call):
        elements = self._elements(x, y, p, call.function)
        if call.reduction == "mean":
            return self._tf.reduce_mean(elements)
        if call.reduction == "sum":
            return self._tf.reduce_sum(elements)
        return elements

    def _evaluate(self, call: Call) -> Outcome:
        tf = self._tf
        x, y = tf.constant(call.input), tf.constant(call.target)
        p = None if call.pos_weight is None else tf.constant(call.pos_weight)
        if not call.grad_wrt:
            return Outcome(status="ok", value=self._loss(x, y, p, call).numpy())
        watched: dict[str, Any] = {"input": x, "target": y, "pos_weight": p}
        with tf.GradientTape() as tape:
            for name in call.grad_wrt:
                tape.watch(watched[name])
            value = self._loss(x, y, p, call)
        upstream = (
            tf.ones_like(value)
            if call.grad_output is None
            else tf.reshape(tf.cast(tf.constant(call.grad_output), value.dtype), value.shape)
        )
        found = tape.gradient(value, [watched[n] for n in call.grad_wrt], output_gradients=upstream)
        gradients = {}
        for name, grad in zip(call.grad_wrt, found):
            # No path from the argument to the loss: TensorFlow answers None for a zero gradient.
            gradients[name] = np.zeros_like(getattr(call, name)) if grad is None else grad.numpy()
        return Outcome(status="ok", value=value.numpy(), gradients=gradients)
