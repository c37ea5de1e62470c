"""JAX backend: ``optax.sigmoid_binary_cross_entropy``, the binary cross-entropy JAX documents.

What is mapped, and why:

* ``binary_cross_entropy_with_logits`` -> ``optax.sigmoid_binary_cross_entropy(logits, labels)``
  (elementwise: ``-labels log_sigmoid(x) - (1 - labels) log_sigmoid(-x)``), with
  ``reduction='mean'``/``'sum'`` as ``jnp.mean``/``jnp.sum`` of it (the idiom optax's own
  examples use). Gradients with respect to input and target by ``jax.vjp`` (the upstream
  gradient is the cotangent), so ``jax.grad`` of a reduced loss is the same computation.
* ``binary_cross_entropy`` (probabilities): neither jax, jax.nn nor optax documents one (optax
  only has the logits form; ``optax.losses`` adds focal and softmax losses), so it is
  *unsupported*, as are ``weight`` and ``pos_weight`` (no such arguments), the module form, the
  legacy ``size_average``/``reduce`` pair and strided or expanded layouts (a JAX array has no
  strides: ``jnp.asarray`` copies). Declined calls are untested cells with that reason, never
  failures.

Every evaluation runs under ``jax.jit``, as a user's training step does: one compiled
computation per (reduction, whether gradients are asked for), which JAX compiles once per
argument shape and dtype. A gradient call computes the value and the pullback in the same
compiled function (what ``jax.value_and_grad`` under ``jit`` gives). XLA may fuse the elementwise
operations and keep float16/bfloat16 intermediates in float32 (``xla_allow_excess_precision``,
on by default): that is what a jitted model computes, so it is what the report describes. Op by
op ("eager") dispatch would compile every primitive separately for every new shape, about five
times slower per case, and is not what training code runs.

float64 needs x64 mode: it is switched on when the backend is built (before any array exists in
the process), and JAX runs on the CPU. Arrays cross bit for bit (``jnp.asarray`` of a NumPy
array of the same dtype; bfloat16 is ml_dtypes' type in both). optax casts labels to the logits'
dtype, so a mixed-dtype call is what optax does with it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from conformance.backends.protocol import DTYPES, Call, Outcome, check_supported, unsupported

LOGITS = "binary_cross_entropy_with_logits"


def _jax():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    return jax, jnp, optax


class JaxBackend:
    name = "jax"
    device = "cpu"
    dtypes = frozenset(DTYPES)
    api_forms = frozenset({"functional"})
    layouts = frozenset({"contiguous"})
    gradients = frozenset({"input", "target"})
    legacy_arguments = False
    weight_arguments = frozenset()  # the hunt spends the whole budget on unweighted calls

    def __init__(self) -> None:
        self._jax, self._jnp, self._optax = _jax()
        self.version = f"jax {self._jax.__version__} (jit), optax {self._optax.__version__}"
        self._compiled: dict[tuple[str, bool], Any] = {}

    def __repr__(self) -> str:
        return "JaxBackend()"

    def evaluate(self, call: Call) -> Outcome:
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        if call.function != LOGITS:
            return unsupported(
                "jax/optax document no binary cross-entropy on probabilities "
                "(only optax.sigmoid_binary_cross_entropy on logits)"
            )
        for name in ("weight", "pos_weight"):
            if getattr(call, name) is not None:
                return unsupported(f"optax.sigmoid_binary_cross_entropy has no {name} argument")
        try:
            return self._evaluate(call)
        except Exception as exc:  # JAX or optax rejected the call
            return Outcome(status="raised", error=f"{type(exc).__name__}: {str(exc).strip()}")

    def _loss(self, x, y, reduction: str):
        elements = self._optax.sigmoid_binary_cross_entropy(x, y)
        if reduction == "mean":
            return self._jnp.mean(elements)
        if reduction == "sum":
            return self._jnp.sum(elements)
        return elements

    def _jitted(self, reduction: str, gradients: bool):
        """The compiled loss (or loss with its pullback) for one reduction, built once."""
        key = (reduction, gradients)
        if key not in self._compiled:
            jax = self._jax

            def value(x, y):
                return self._loss(x, y, reduction)

            def value_and_pullback(x, y, cotangent):
                loss, pullback = jax.vjp(value, x, y)
                return (loss, *pullback(cotangent.astype(loss.dtype).reshape(loss.shape)))

            self._compiled[key] = jax.jit(value_and_pullback if gradients else value)
        return self._compiled[key]

    def _evaluate(self, call: Call) -> Outcome:
        jnp = self._jnp
        x, y = jnp.asarray(call.input), jnp.asarray(call.target)
        if not call.grad_wrt:
            loss = self._jitted(call.reduction, gradients=False)(x, y)
            return Outcome(status="ok", value=np.asarray(loss))
        shape = self._jax.eval_shape(lambda a, b: self._loss(a, b, call.reduction), x, y)
        if call.grad_output is None:
            cotangent = jnp.ones(shape.shape, shape.dtype)
        else:
            cotangent = jnp.asarray(call.grad_output)
        value, grad_x, grad_y = self._jitted(call.reduction, gradients=True)(x, y, cotangent)
        found: dict[str, Any] = {"input": grad_x, "target": grad_y}
        gradients = {w: np.asarray(found[w]) for w in call.grad_wrt}
        return Outcome(status="ok", value=np.asarray(value), gradients=gradients)
