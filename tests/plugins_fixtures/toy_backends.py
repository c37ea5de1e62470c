"""Toy plugins: minimal function objects and full Backends, some of them badly behaved.

``misbehaving`` decides what to do from the first input element, so one spec can crash, hang or
answer call by call:

* 0.25 -> ``os._exit(7)``
* 0.5  -> segfault (``ctypes.string_at(0)``)
* 0.75 -> sleeps forever
* anything else -> the mean BCE computed with NumPy
"""

from __future__ import annotations

import ctypes
import os
import time
import types

import numpy as np

from conformance.backends.protocol import DTYPES, Call, Outcome, check_supported


def _bce(input, target, weight=None, reduction="mean"):
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"shape mismatch {x.shape} vs {y.shape}")
    loss = -(y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log1p(-x), -100))
    if weight is not None:
        loss = loss * np.asarray(weight, dtype=np.float64)
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return np.asarray(loss).astype(np.asarray(input).dtype)


def _bce_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    p = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)
    log_sig = -np.logaddexp(0.0, -x)
    log_one_minus = -np.logaddexp(0.0, x)
    loss = -(p * y * log_sig + (1 - y) * log_one_minus)
    if weight is not None:
        loss = loss * np.asarray(weight, dtype=np.float64)
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return np.asarray(loss).astype(np.asarray(input).dtype)


# A module-like namespace with both functions and nothing else.
minimal = types.SimpleNamespace(
    binary_cross_entropy=_bce, binary_cross_entropy_with_logits=_bce_logits
)

# Only the logits function.
logits_only = types.SimpleNamespace(binary_cross_entropy_with_logits=_bce_logits)


class Described:
    """A minimal plugin that declares its metadata, legacy arguments and a gradient hook."""

    name = "described"
    version = "1.2.3"
    device = "toy"
    dtypes = frozenset({"float64", "float32"})
    api_forms = frozenset({"functional", "module"})
    legacy_arguments = True
    gradients = frozenset({"input"})

    def __init__(self):
        self.legacy_seen = []

    def binary_cross_entropy(
        self, input, target, weight=None, reduction="mean", size_average=None, reduce=None
    ):
        self.legacy_seen.append((size_average, reduce))
        if reduce is False:
            reduction = "none"
        elif size_average is False:
            reduction = "sum"
        return _bce(input, target, weight, reduction)

    def gradient(
        self,
        function,
        wrt,
        input,
        target,
        weight=None,
        pos_weight=None,
        reduction="mean",
        grad_output=None,
        size_average=None,
        reduce=None,
    ):
        assert function == "binary_cross_entropy" and wrt == ("input",)
        x = np.asarray(input, dtype=np.float64)
        y = np.asarray(target, dtype=np.float64)
        g = (x - y) / (x * (1 - x))
        if reduction == "mean":
            g = g / x.size
        return {"input": (g * grad_output).astype(input.dtype)}


described = Described()

garbage = types.SimpleNamespace(binary_cross_entropy=lambda input, target, **kw: "not a number")
python_float = types.SimpleNamespace(binary_cross_entropy=lambda input, target, **kw: 0.5)
wrong_dtype = types.SimpleNamespace(
    binary_cross_entropy=lambda input, target, **kw: np.zeros(3, dtype=np.int32)
)
nothing = types.SimpleNamespace(something_else=lambda: None)


class FullBackend:
    """A complete Backend (protocol attributes + evaluate)."""

    name = "full"
    version = "0.1"
    device = "cpu"
    dtypes = frozenset(DTYPES)
    api_forms = frozenset({"functional"})
    gradients = frozenset()
    legacy_arguments = False

    def evaluate(self, call: Call) -> Outcome:
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        return Outcome(status="ok", value=np.asarray(42.0, dtype=call.input.dtype))


full_instance = FullBackend()


def make_full():
    return FullBackend()


def broken_factory():
    raise RuntimeError("no licence")


class Explodes:
    """A full Backend whose evaluate raises: evaluate_in_process must report 'crashed'."""

    name = "explodes"
    version = "0"
    device = "cpu"
    dtypes = frozenset(DTYPES)
    api_forms = frozenset({"functional"})
    gradients = frozenset()
    legacy_arguments = False

    def evaluate(self, call):
        raise ZeroDivisionError("adapter bug")


class ReturnsNone(Explodes):
    def evaluate(self, call):
        return None


def _misbehave(input, target, weight=None, reduction="mean", pos_weight=None):
    first = float(np.asarray(input).reshape(-1)[0])
    if first == 0.25:
        os._exit(7)
    if first == 0.5:
        ctypes.string_at(0)  # SIGSEGV
    if first == 0.75:
        while True:
            time.sleep(60)
    return _bce(input, target, weight, reduction)


misbehaving = types.SimpleNamespace(binary_cross_entropy=_misbehave, name="misbehaving")


def chatty_bce(input, target, weight=None, reduction="mean"):
    print("CHATTY-STDOUT")
    os.write(1, b"CHATTY-FD1\n")
    return _bce(input, target, weight, reduction)


chatty = types.SimpleNamespace(binary_cross_entropy=chatty_bce)


class PidBackend:
    """Answers with its process id; input 0.9 makes it ask for a fresh worker afterwards."""

    name = "pid"
    version = "0"
    device = "cpu"
    dtypes = frozenset(DTYPES)
    api_forms = frozenset({"functional"})
    gradients = frozenset()
    legacy_arguments = False

    def __init__(self):
        self.needs_restart = False

    def evaluate(self, call):
        if float(np.asarray(call.input).reshape(-1)[0]) == 0.9:
            self.needs_restart = True
        return Outcome(status="ok", value=np.asarray(float(os.getpid())))
