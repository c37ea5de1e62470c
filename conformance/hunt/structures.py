"""The structure of a call, apart from its values: how the hunt visits every form in turn.

A *structure* is (API form, reduction spelling, weight form, pos_weight form). The hunt walks the
list of structures of a function cyclically, so a budget of at least ``len(structures(f))``
value cases visits every one of them.

* API forms: ``functional``; ``module`` (BCELoss / BCEWithLogitsLoss); ``legacy`` (the functional
  form with the deprecated ``size_average``/``reduce`` pair instead of ``reduction``).
* weight forms ("a manual rescaling weight … repeated to match input tensor shape"): ``none``,
  ``scalar`` (shape ``()``), ``full`` (the target's shape), ``class`` (the last axis, ``[C]``),
  ``broadcast`` (1s in some leading axes, e.g. ``[B, 1]`` or ``[C, 1, 1]`` of a 4-D target).
* pos_weight forms ("broadcasted with target … equal size along the class dimension"): the same
  five; binary_cross_entropy has ``none`` only.

A *cell* of the coverage table is a structure with a resolved reduction and one quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEIGHT_FORMS = ("none", "scalar", "full", "class", "broadcast")
LEGACY_PAIRS: tuple[tuple[bool | None, bool | None], ...] = (
    (None, False),
    (False, None),
    (True, True),
    (False, True),
)


@dataclass(frozen=True)
class Structure:
    api: str  # functional | module | legacy
    reduction: str  # none | mean | sum (for legacy: what the pair resolves to)
    weight: str  # one of WEIGHT_FORMS
    pos_weight: str  # one of WEIGHT_FORMS ("none" for binary_cross_entropy)
    legacy: tuple[bool | None, bool | None] | None = None

    @property
    def label(self) -> str:
        spelling = self.reduction if self.legacy is None else f"legacy{self.legacy}"
        return f"{self.api}/{spelling}/w:{self.weight}/p:{self.pos_weight}"


def _legacy_reduction(pair: tuple[bool | None, bool | None]) -> str:
    size_average, reduce = pair
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def structures(function: str) -> list[Structure]:
    """Every structure the hunt visits for ``function``, in visiting order."""
    pos_forms = WEIGHT_FORMS if function == "binary_cross_entropy_with_logits" else ("none",)
    out = []
    for reduction in ("none", "mean", "sum"):
        for w in WEIGHT_FORMS:
            for p in pos_forms:
                out.append(Structure("functional", reduction, w, p))
    # Modules hold weight and pos_weight as constructor arguments: visit each with and without.
    for reduction in ("none", "mean", "sum"):
        for w, p in (("none", "none"), ("full", "none"), ("class", "class"), ("none", "full")):
            if p != "none" and function == "binary_cross_entropy":
                continue
            out.append(Structure("module", reduction, w, p))
    for pair in LEGACY_PAIRS:
        out.append(Structure("legacy", _legacy_reduction(pair), "full", "none", pair))
    # Interleave so that a short budget still sees every reduction, form and API early.
    order = np.random.default_rng(12345).permutation(len(out))
    return [out[i] for i in order]


def argument_shape(form: str, target_shape: tuple[int, ...], rng: np.random.Generator):
    """A shape of weight-form ``form`` that broadcasts to ``target_shape`` without growing it;
    None for ``none``."""
    if form == "none":
        return None
    if form == "scalar" or not target_shape:
        return ()
    if form == "full":
        return target_shape
    if form == "class":
        return target_shape[-1:]
    # broadcast: keep the last axis or the channel axis, 1s elsewhere (at least one 1)
    rank = len(target_shape)
    keep = rank - 1 if rank != 4 else 1
    shape = [1] * rank
    shape[keep] = target_shape[keep]
    start = int(rng.integers(0, keep + (rank == 4))) if rank > 1 else 0
    return tuple(shape[start:]) if rank > 1 else (1,)


def value_shape(rng: np.random.Generator, max_elements: int, min_rank: int = 1) -> tuple[int, ...]:
    """A target shape of rank min_rank..4 with 2..max_elements elements (rank 4 as
    [B, C, H, W])."""
    rank = max(min_rank, int(rng.choice([1, 2, 2, 3, 4])))
    while True:
        dims = tuple(int(d) for d in rng.integers(2 if rank == min_rank > 1 else 1, 5, size=rank))
        if rank == 1:
            dims = (int(rng.integers(2, max_elements + 1)),)
        n = int(np.prod(dims))
        if 2 <= n <= max_elements:
            return dims


def weight_form_of(argument: np.ndarray | None, target_shape: tuple[int, ...]) -> str:
    """The weight form of an argument's shape (inverse of ``argument_shape``)."""
    if argument is None:
        return "none"
    shape = argument.shape
    if shape == ():
        return "scalar"
    if shape == tuple(target_shape):
        return "full"
    if len(shape) == 1 and target_shape and shape == tuple(target_shape[-1:]):
        return "class"
    return "broadcast"


WEIGHT_ARGUMENTS = frozenset({"weight", "pos_weight"})


@dataclass(frozen=True)
class Accepts:
    """The weight arguments a backend declares (``weight_arguments``; both by default). A
    backend without them (optax, ``tf.nn.sigmoid_cross_entropy_with_logits``) is hunted on the
    structures without them, with the whole budget, instead of declining most of its cases."""

    weights: frozenset[str] = WEIGHT_ARGUMENTS

    def weight_argument(self, name: str) -> bool:
        return name in self.weights

    def __call__(self, s: Structure) -> bool:
        return (s.weight == "none" or "weight" in self.weights) and (
            s.pos_weight == "none" or "pos_weight" in self.weights
        )

    @classmethod
    def of(cls, backend: object) -> Accepts | None:
        """None (every structure) unless ``backend`` declares fewer weight arguments."""
        declared = getattr(backend, "weight_arguments", None)
        if declared is None or WEIGHT_ARGUMENTS <= frozenset(declared):
            return None
        return cls(frozenset(declared) & WEIGHT_ARGUMENTS)
