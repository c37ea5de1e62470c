"""Single-bug variants of the careful reference: the mistakes engineers make in these losses.

Each mutant is a subclass of ``CarefulBCE`` overriding one step, with a docstring naming the
bug and a ``witness``: a small input where the documented result (a closed form, derived in
``derivation``) differs from what the mutant computes. ``MUTANTS`` maps each name to its class;
the class is a plugin factory the loader calls, so

    python -m conformance run --backend tests.mutation.mutants:clamp_missing

runs the hunt against one of them.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np

from tests.mutation.reference import (
    BCE,
    CLAMP_THRESHOLD,
    LOG_CLAMP,
    LOGITS,
    Arguments,
    CarefulBCE,
)
from tests.mutation.witness import RAISES, Witness

F32 = "float32"


class Mutant(CarefulBCE):
    """A single-bug variant of the reference; subclasses register themselves."""

    registry: ClassVar[list[type[Mutant]]] = []
    witness: ClassVar[Witness]
    # A bug only on inputs the documentation excludes (tier out_of_contract): caught by
    # ``run --strict``, recorded but not counted by the default run, so not in the default score.
    strict_only: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = f"mutant-{cls.__name__}"
        Mutant.registry.append(cls)


def bce(**kw: Any) -> Witness:
    return Witness(function=BCE, **{"dtype": F32, "reduction": "sum", **kw})


def logits(**kw: Any) -> Witness:
    return Witness(function=LOGITS, **{"dtype": F32, "reduction": "sum", **kw})


def softplus(m: Any, z: Any) -> Any:
    return m.log1p(m.exp(z))


def sigmoid(m: Any, z: Any) -> Any:
    return 1 / (1 + m.exp(-z))


# -- the clamp -------------------------------------------------------------------------------


class clamp_missing(Mutant):
    """No -100 clamp on the logs: log 0 = -inf reaches the loss."""

    witness = bce(
        input=[0.0],
        target=[1.0],
        expected=lambda m, v: 100,
        derivation="x=0, y=1: -(1 * max(log 0, -100)) = 100",
    )

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(x)

    def log_one_minus_prob(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log1p(-x)


class clamp_at_minus_50(Mutant):
    """The clamp at the wrong value: max(log, -50)."""

    witness = bce(
        input=[0.0],
        target=[1.0],
        expected=lambda m, v: 100,
        derivation="x=0, y=1: -max(log 0, -100) = 100 (the mutant gives 50)",
    )

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(x), -50.0)

    def log_one_minus_prob(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.maximum(np.log1p(-x), -50.0)


class clamp_after_weighting(Mutant):
    """The clamp moved from each log to the weighted element loss: min(w g, 100)."""

    witness = bce(
        input=[0.0],
        target=[1.0],
        weight=[2.0],
        expected=lambda m, v: 200,
        derivation="x=0, y=1, w=2: -2 * max(log 0, -100) = 200 (the mutant caps at 100)",
    )

    log_prob = clamp_missing.log_prob
    log_one_minus_prob = clamp_missing.log_one_minus_prob

    def loss_elements(self, a: Arguments) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.minimum(super().loss_elements(a), 100.0)


class clamp_on_bracket(Mutant):
    """The clamp applied to y log x + (1 - y) log(1 - x) instead of to each log."""

    witness = bce(
        input=[0.0],
        target=[0.5],
        expected=lambda m, v: 50,
        derivation="x=0, y=1/2: -(1/2 * (-100) + 1/2 * log 1) = 50 (the mutant: -max(-inf, -100) = 100)",
    )

    def bracket(self, a: Arguments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if a.function != BCE:
            return super().bracket(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = a.y * np.log(a.x) + (1 - a.y) * np.log1p(-a.x)
            g = -np.maximum(inner, LOG_CLAMP)
        return g, g == 0, np.zeros(g.shape, dtype=bool)


class eps_clip_1e7(Mutant):
    """Probabilities clipped to [1e-7, 1 - 1e-7] before the logs (instead of the -100 clamp)."""

    witness = bce(
        input=[1e-10],
        target=[1.0],
        expected=lambda m, v: -m.log(v["input"][0]),
        derivation="x=fl32(1e-10), y=1: -log x = 23.03 (the mutant: -log 1e-7 = 16.12)",
    )

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        return np.log(np.clip(x, 1e-7, 1 - 1e-7))

    def log_one_minus_prob(self, x: np.ndarray) -> np.ndarray:
        return np.log1p(-np.clip(x, 1e-7, 1 - 1e-7))


class eps_clip_1e12(Mutant):
    """Probabilities clipped to [1e-12, 1 - 1e-12] before the logs."""

    witness = bce(
        dtype="float64",
        input=[1e-20],
        target=[1.0],
        expected=lambda m, v: -m.log(v["input"][0]),
        derivation="x=1e-20, y=1: -log x = 46.05 (the mutant: -log 1e-12 = 27.63)",
    )

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        return np.log(np.clip(x, 1e-12, 1 - 1e-12))

    def log_one_minus_prob(self, x: np.ndarray) -> np.ndarray:
        return np.log1p(-np.clip(x, 1e-12, 1 - 1e-12))


class log_without_log1p(Mutant):
    """log(1 - x) instead of log1p(-x): 1 - x rounds away the information for tiny x."""

    witness = bce(
        input=[1e-12],
        target=[0.0],
        expected=lambda m, v: -m.log(1 - v["input"][0]),
        derivation="x=fl32(1e-12), y=0: -log(1 - x) = x + x^2/2 + ... = 1.0000000e-12",
    )

    def log_one_minus_prob(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(x == 1, LOG_CLAMP, np.log(1 - x))


# -- softplus and sigmoid --------------------------------------------------------------------


class naive_log_sigmoid(Mutant):
    """log(sigmoid(x)) and log(1 - sigmoid(x)) instead of softplus: 1 - sigmoid(100) = 0."""

    witness = logits(
        input=[100.0],
        target=[0.0],
        expected=lambda m, v: softplus(m, v["input"][0]),
        derivation="x=100, y=0: softplus(100) = log(1 + e^100) = 100.0 (the mutant: -log 0 = inf)",
    )

    def logits_terms(self, a: Arguments, c1: np.ndarray, c2: np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            s = 1 / (1 + np.exp(-a.x))
            t1 = np.where(c1 == 0, 0, -c1 * np.log(s))
            t2 = np.where(c2 == 0, 0, -c2 * np.log(1 - s))
        return t1, t2


class softplus_overflow(Mutant):
    """softplus(z) = log(1 + exp(z)): exp overflows for large logits."""

    witness = logits(
        input=[1000.0],
        target=[0.0],
        expected=lambda m, v: softplus(m, v["input"][0]),
        derivation="x=1000, y=0: softplus(1000) = 1000 + log1p(e^-1000) = 1000 (the mutant: inf)",
    )

    def softplus(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.log(1 + np.exp(z))


class softplus_without_log1p(Mutant):
    """max(z, 0) + log(1 + exp(-|z|)): the tail e^-|z| vanishes in 1 + e^-|z|."""

    witness = logits(
        input=[-40.0],
        target=[0.0],
        expected=lambda m, v: softplus(m, v["input"][0]),
        derivation="x=-40, y=0: softplus(-40) = log1p(e^-40) = 4.2483543e-18 (the mutant: 0)",
    )

    def softplus(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.maximum(z, 0) + np.log(1 + np.exp(-np.abs(z)))


class softplus_linear_above_20(Mutant):
    """softplus(z) = z above a threshold of 20 (torch.nn.Softplus's default): fine in float32,
    wrong in float64."""

    witness = logits(
        dtype="float64",
        input=[21.0],
        target=[0.0],
        expected=lambda m, v: softplus(m, v["input"][0]),
        derivation="x=21, y=0: softplus(21) = 21 + log1p(e^-21) = 21 + 7.58e-10",
    )

    def softplus(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 20, z, super().softplus(z))


class no_upcast(Mutant):
    """Everything computed in the argument's own dtype (float16 arithmetic for float16)."""

    witness = logits(
        dtype="float16",
        input=[1.09375],
        target=[0.75],
        quantity="grad_input",
        expected=lambda m, v: [
            (1 - v["target"][0]) * sigmoid(m, v["input"][0])
            - v["target"][0] * sigmoid(m, -v["input"][0])
        ],
        derivation="x=1.09375, y=3/4: d/dx = (1 - y) s(x) - y s(-x) = -9.1267e-4 "
        "(float16 arithmetic cancels to -9.766e-4, 134 ULP away)",
    )

    def working_dtype(self, dtype: np.dtype) -> type:
        return dtype.type


# -- reductions ------------------------------------------------------------------------------


class mean_divides_by_weight_sum(Mutant):
    """A weighted mean dividing by the sum of the weights instead of N."""

    witness = bce(
        input=[0.5, 0.5],
        target=[1.0, 1.0],
        weight=[1.0, 3.0],
        reduction="mean",
        expected=lambda m, v: (1 + 3) * m.log(2) / 2,
        derivation="x=1/2, y=1, w=(1, 3): (log 2 + 3 log 2) / N, N=2: 2 log 2 (the mutant: log 2)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "mean" and a.weight_shape is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                return loss.sum() / a.w.sum()
        return super().reduce(a, loss)


class mean_over_nonzero_weights(Mutant):
    """A masked mean: divides by the number of non-zero weights."""

    witness = bce(
        input=[0.5, 0.5],
        target=[1.0, 1.0],
        weight=[1.0, 0.0],
        reduction="mean",
        expected=lambda m, v: m.log(2) / 2,
        derivation="x=1/2, y=1, w=(1, 0): (log 2 + 0) / 2 (the mutant divides by 1)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "mean" and a.weight_shape is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                return loss.sum() / np.count_nonzero(a.w)
        return super().reduce(a, loss)


class mean_over_weight_count(Mutant):
    """With a broadcast weight, mean divides by the weight's element count."""

    witness = bce(
        input=[[0.5, 0.5], [0.5, 0.5]],
        target=[[1.0, 1.0], [1.0, 1.0]],
        weight=[1.0, 1.0],
        reduction="mean",
        expected=lambda m, v: 4 * m.log(2) / 4,
        derivation="2x2 of x=1/2, y=1, w=(1, 1) along the last axis: 4 log 2 / 4 = log 2 "
        "(the mutant divides by 2)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "mean" and a.weight_shape is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                return loss.sum() / math.prod(a.weight_shape)
        return super().reduce(a, loss)


class mean_over_batch(Mutant):
    """mean divides by the batch size (the first dimension) instead of the element count."""

    witness = bce(
        input=[[0.5, 0.5], [0.5, 0.5]],
        target=[[1.0, 1.0], [1.0, 1.0]],
        reduction="mean",
        expected=lambda m, v: m.log(2),
        derivation="2x2 of x=1/2, y=1: 4 log 2 / 4 = log 2 (the mutant divides by 2)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "mean" and loss.ndim >= 1:
            with np.errstate(invalid="ignore", divide="ignore"):
                return loss.sum() / loss.shape[0]
        return super().reduce(a, loss)


class sum_returns_mean(Mutant):
    """reduction='sum' returns the mean."""

    witness = bce(
        input=[0.5, 0.5],
        target=[0.0, 0.0],
        expected=lambda m, v: 2 * m.log(2),
        derivation="x=1/2, y=0, twice: sum = 2 log 2 (the mutant: log 2)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "sum":
            with np.errstate(invalid="ignore"):
                return loss.sum() / a.n
        return super().reduce(a, loss)


class sum_as_mean_times_n(Mutant):
    """sum computed as mean * N: NaN for an empty input instead of 0."""

    witness = bce(
        input=[],
        target=[],
        expected=lambda m, v: 0,
        derivation="empty input: the sum of no terms is 0 (the mutant: (0/0) * 0 = NaN)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "sum":
            with np.errstate(invalid="ignore"):
                return loss.sum() / a.n * a.n
        return super().reduce(a, loss)


class empty_mean_zero(Mutant):
    """The mean of an empty input returns 0 instead of NaN."""

    witness = bce(
        input=[],
        target=[],
        reduction="mean",
        expected=lambda m, v: m.nan,
        derivation="empty input: mean = 0/0 = NaN (docs/semantics.md §5)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "mean" and a.n == 0:
            return np.zeros((), dtype=loss.dtype)
        return super().reduce(a, loss)


class nansum_reduction(Mutant):
    """Reductions with nansum: a NaN element is dropped instead of making the result NaN."""

    witness = logits(
        input=[float("nan"), 0.0],
        target=[0.0, 0.0],
        reduction="mean",
        expected=lambda m, v: m.nan,
        derivation="x=(NaN, 0), y=0: a NaN element makes the mean NaN (the mutant: log 2 / 2)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "none":
            return loss
        total = np.nansum(loss)
        return total / a.n if a.reduction == "mean" else total


# -- pos_weight ------------------------------------------------------------------------------


class pos_weight_on_negative(Mutant):
    """pos_weight multiplies the negative term (1 - y) softplus(x) instead of the positive one."""

    witness = logits(
        input=[0.0],
        target=[0.0],
        pos_weight=[3.0],
        expected=lambda m, v: m.log(2),
        derivation="x=0, y=0, p=3: (1 - y) softplus(0) = log 2 (the mutant: 3 log 2)",
    )

    def positive_coefficient(self, a: Arguments) -> np.ndarray:
        return a.y.copy()

    def logits_terms(self, a: Arguments, c1: np.ndarray, c2: np.ndarray):
        return super().logits_terms(a, c1, a.p * c2)


class pos_weight_squared(Mutant):
    """pos_weight applied twice: p^2 y softplus(-x)."""

    witness = logits(
        input=[0.0],
        target=[1.0],
        pos_weight=[3.0],
        expected=lambda m, v: 3 * m.log(2),
        derivation="x=0, y=1, p=3: p y softplus(0) = 3 log 2 (the mutant: 9 log 2)",
    )

    def positive_coefficient(self, a: Arguments) -> np.ndarray:
        return super().positive_coefficient(a) * a.p


class pos_weight_ignored(Mutant):
    """pos_weight accepted and ignored."""

    witness = logits(
        input=[0.0],
        target=[1.0],
        pos_weight=[3.0],
        expected=lambda m, v: 3 * m.log(2),
        derivation="x=0, y=1, p=3: p y softplus(0) = 3 log 2 (the mutant: log 2)",
    )

    def positive_coefficient(self, a: Arguments) -> np.ndarray:
        return a.y.copy()


class pos_weight_on_both_terms(Mutant):
    """pos_weight used like a weight: it multiplies both terms."""

    witness = logits(
        input=[0.0],
        target=[0.0],
        pos_weight=[3.0],
        expected=lambda m, v: m.log(2),
        derivation="x=0, y=0, p=3: (1 - y) softplus(0) = log 2 (the mutant: 3 log 2)",
    )

    def logits_terms(self, a: Arguments, c1: np.ndarray, c2: np.ndarray):
        return super().logits_terms(a, c1, a.p * c2)


class log_weight_missing_one(Mutant):
    """The fused form (1 - y) x + (1 + (p - 1) y) softplus(-x) with the "1 +" forgotten, i.e.
    (1 - y) softplus(x) + (p y - 1) softplus(-x)."""

    witness = logits(
        input=[0.0],
        target=[1.0],
        expected=lambda m, v: m.log(2),
        derivation="x=0, y=1, no pos_weight: softplus(-0) = log 2 (the mutant: 0)",
    )

    def positive_coefficient(self, a: Arguments) -> np.ndarray:
        return a.p * a.y - 1


# -- weight and pos_weight broadcasting -------------------------------------------------------


def _along_first_axis(values: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    """A 1-D argument of an (N, C) case read as ``arg[:, None]`` (per sample): it broadcasts
    along the classes instead of the batch, and fails to broadcast unless N = C."""
    if shape is None or len(shape) != 1 or values.ndim != 2:
        return values
    column = values[0][:, None]  # the original 1-D argument, as a column
    return np.broadcast_to(column, np.broadcast_shapes(column.shape, values.shape)).copy()


class weight_broadcast_wrong_axis(Mutant):
    """A 1-D weight of an (N, C) input applied per sample (axis 0) instead of per class."""

    witness = bce(
        input=[[0.5, 0.5], [0.5, 0.5]],
        target=[[1.0, 1.0], [1.0, 1.0]],
        weight=[1.0, 3.0],
        reduction="none",
        expected=lambda m, v: [[m.log(2), 3 * m.log(2)]] * 2,
        derivation="2x2 of x=1/2, y=1, w=(1, 3) along the last axis: [[log 2, 3 log 2]] * 2",
    )

    def arguments(self, *args: Any) -> Arguments:
        a = super().arguments(*args)
        a.w = _along_first_axis(a.w, a.weight_shape)
        return a


class pos_weight_broadcast_wrong_axis(Mutant):
    """A 1-D pos_weight of an (N, C) target applied along axis 0 instead of per class."""

    witness = logits(
        input=[[0.0, 0.0], [0.0, 0.0]],
        target=[[1.0, 1.0], [1.0, 1.0]],
        pos_weight=[1.0, 3.0],
        reduction="none",
        expected=lambda m, v: [[m.log(2), 3 * m.log(2)]] * 2,
        derivation="2x2 of x=0, y=1, p=(1, 3) per class: [[log 2, 3 log 2]] * 2",
    )

    def arguments(self, *args: Any) -> Arguments:
        a = super().arguments(*args)
        a.p = _along_first_axis(a.p, a.pos_weight_shape)
        return a


class weight_ignored_in_sum(Mutant):
    """reduction='sum' adds the unweighted element losses."""

    witness = bce(
        input=[0.5],
        target=[1.0],
        weight=[2.0],
        expected=lambda m, v: 2 * m.log(2),
        derivation="x=1/2, y=1, w=2: 2 log 2 (the mutant: log 2)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction == "sum":
            return np.where(a.nan, np.nan, self.bracket(a)[0]).sum()
        return super().reduce(a, loss)


class weight_applied_twice(Mutant):
    """The weight multiplied into the elements and again in the reduction."""

    witness = bce(
        input=[0.5],
        target=[1.0],
        weight=[2.0],
        expected=lambda m, v: 2 * m.log(2),
        derivation="x=1/2, y=1, w=2: 2 log 2 (the mutant: 4 log 2)",
    )

    def reduce(self, a: Arguments, loss: np.ndarray) -> np.ndarray:
        if a.reduction != "none":
            with np.errstate(invalid="ignore", over="ignore"):
                loss = loss * a.w
        return super().reduce(a, loss)


# -- the range check -------------------------------------------------------------------------


class range_check_missing(Mutant):
    """binary_cross_entropy accepts probabilities outside [0, 1]."""

    witness = bce(
        input=[1.5],
        target=[1.0],
        expected=RAISES,
        derivation="x=1.5 is not a probability: the documented contract is violated, so raise",
    )

    def check_range(self, x: np.ndarray, y: np.ndarray) -> None:
        return None


class range_check_rejects_one(Mutant):
    """An off-by-one range check: x < 1 instead of x <= 1 (rejects the valid x = 1)."""

    witness = bce(
        input=[1.0],
        target=[1.0],
        expected=lambda m, v: 0,
        derivation="x=1, y=1: -(1 * log 1 + 0 * max(log 0, -100)) = 0",
    )

    def check_range(self, x: np.ndarray, y: np.ndarray) -> None:
        if not np.all((x >= 0) & (x < 1)) or not np.all((y >= 0) & (y <= 1)):
            raise ValueError("values must lie in [0, 1)")


class range_check_input_only(Mutant):
    """The range check covers the input but not the target (out-of-contract targets: --strict)."""

    strict_only = True

    witness = bce(
        input=[0.5],
        target=[1.25],
        expected=RAISES,
        derivation="y=1.25 is outside [0, 1]: raise",
    )

    def check_range(self, x: np.ndarray, y: np.ndarray) -> None:
        super().check_range(x, np.zeros_like(y))


class range_check_lets_nan_through(Mutant):
    """The range check as `any(x < 0) or any(x > 1)`: NaN passes it."""

    witness = bce(
        input=[float("nan")],
        target=[1.0],
        expected=RAISES,
        derivation="x=NaN is not a probability: raise (docs/semantics.md §2)",
    )

    def check_range(self, x: np.ndarray, y: np.ndarray) -> None:
        for v in (x, y):
            if np.any(v < 0) or np.any(v > 1):
                raise ValueError("values must lie in [0, 1]")


# -- special values --------------------------------------------------------------------------


class nan_to_num_results(Mutant):
    """Results passed through nan_to_num: NaN becomes 0, infinities the largest finite."""

    witness = logits(
        input=[float("nan")],
        target=[0.0],
        reduction="none",
        expected=lambda m, v: [m.nan],
        derivation="x=NaN: the element is NaN (docs/semantics.md §6)",
    )

    def finish(self, value: np.ndarray, a: Arguments) -> np.ndarray:
        return super().finish(np.nan_to_num(np.asarray(value)), a)


class zero_weight_times_inf(Mutant):
    """The weight applied as a plain product: 0 * inf = NaN, inf * (underflow) = NaN."""

    strict_only = True  # the documentation is silent here (tier convention)

    witness = logits(
        input=[float("inf")],
        target=[0.0],
        weight=[0.0],
        reduction="none",
        expected=lambda m, v: [0],
        derivation="x=+inf, y=0, w=0: a finite weight times the limit inf, 0 * inf = 0 (§6)",
    )

    def weighted(self, w, h, zero, tends, sign=1.0) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return w * h


class zero_coefficient_times_inf(Mutant):
    """The logits terms without the zero-coefficient guard: (1 - y) softplus(+inf) = 0 * inf."""

    strict_only = True  # the documentation is silent here (tier convention)

    witness = logits(
        input=[float("inf")],
        target=[1.0],
        reduction="none",
        expected=lambda m, v: [0],
        derivation="x=+inf, y=1: p y softplus(-inf) + 0 * softplus(inf) -> 0 + 0 = 0 (§6 table)",
    )

    def logits_terms(self, a: Arguments, c1: np.ndarray, c2: np.ndarray):
        with np.errstate(invalid="ignore", over="ignore"):
            return c1 * self.softplus(-a.x), c2 * self.softplus(a.x)


class infinite_weight_underflow_nan(Mutant):
    """An infinite weight times a bracket that underflowed to 0 gives NaN, not inf."""

    strict_only = True  # the documentation is silent here (tier convention)

    witness = logits(
        input=[1000.0],
        target=[1.0],
        weight=[float("inf")],
        reduction="none",
        expected=lambda m, v: [m.inf],
        derivation="x=1000, y=1, w=inf: g = softplus(-1000) = e^-1000 > 0, so w g = +inf (§6)",
    )

    def weighted(self, w, h, zero, tends, sign=1.0) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            r = np.where(w == 0, 0, w * h)
            r = np.where(np.isinf(w) & zero, 0, r)
            return np.where(np.isinf(w) & tends, np.nan, r)


class weight_gradient_ignores_nan_weight(Mutant):
    """d/dw = g even where w is NaN (autodiff's answer), not NaN as documented."""

    strict_only = True  # the documentation is silent here (tier convention)

    witness = logits(
        input=[0.0],
        target=[0.0],
        weight=[float("nan")],
        quantity="grad_weight",
        expected=lambda m, v: [m.nan],
        derivation="w=NaN: every gradient of the element is NaN (§6)",
    )

    def nan_mask(self, a: Arguments, wrt: str) -> np.ndarray:
        if wrt == "weight":
            return np.isnan(a.x) | np.isnan(a.y) | np.isnan(a.p)
        return a.nan


# -- gradients -------------------------------------------------------------------------------


class grad_missing_weight_factor(Mutant):
    """d/dx of the logits loss without the weight factor."""

    witness = logits(
        input=[0.0],
        target=[1.0],
        weight=[2.0],
        quantity="grad_input",
        expected=lambda m, v: [2 * (sigmoid(m, 0) - 1)],
        derivation="x=0, y=1, w=2: w [(1 - y + p y) s(0) - p y] = 2 (1/2 - 1) = -1",
    )

    def logits_input_derivative(self, a: Arguments) -> np.ndarray:
        return super().logits_input_derivative(dataclasses.replace(a, w=np.ones_like(a.w)))


class grad_sigmoid_minus_target(Mutant):
    """d/dx of the logits loss as w (sigmoid(x) - y), forgetting pos_weight."""

    witness = logits(
        input=[0.0],
        target=[1.0],
        pos_weight=[3.0],
        quantity="grad_input",
        expected=lambda m, v: [3 * sigmoid(m, 0) - 3],
        derivation="x=0, y=1, p=3: (1 - y + p y) s(0) - p y = 3/2 - 3 = -3/2 (the mutant: -1/2)",
    )

    def logits_input_derivative(self, a: Arguments) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return a.w * (self.sigmoid(a.x) - a.y)


class grad_input_cancelling_form(Mutant):
    """d/dx of the logits loss as (1 - y + p y) sigmoid(x) - p y: cancels for large x, y = 1."""

    witness = logits(
        input=[40.0],
        target=[1.0],
        quantity="grad_input",
        expected=lambda m, v: [-sigmoid(m, -v["input"][0])],
        derivation="x=40, y=1: s(40) - 1 = -s(-40) = -4.2483543e-18 (the mutant: 0)",
    )

    def logits_input_derivative(self, a: Arguments) -> np.ndarray:
        c1 = self.positive_coefficient(a)
        with np.errstate(invalid="ignore"):
            return a.w * ((1 - a.y + c1) * self.sigmoid(a.x) - c1)


class grad_bce_no_clamp(Mutant):
    """d/dx of BCE as (x - y) / (x (1 - x)) everywhere: the clamp's zero derivative is lost."""

    strict_only = True  # the documentation is silent here (tier convention)

    witness = bce(
        input=[0.0],
        target=[1.0],
        quantity="grad_input",
        expected=lambda m, v: [0],
        derivation="x=0, y=1: the clamp is active on log x, so D1 = 0 and d/dx = -(1 * 0) = 0",
    )

    def bce_input_factor(self, a: Arguments) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (a.x - a.y) / (a.x * (1 - a.x))


class grad_bce_torch_eps(Mutant):
    """d/dx of BCE as (x - y) / max(x (1 - x), 1e-12) (PyTorch's backward)."""

    witness = bce(
        input=[0.0],
        target=[1.0],
        quantity="grad_input",
        expected=lambda m, v: [0],
        derivation="x=0, y=1: active clamp, derivative 0 (the mutant: -1e12)",
    )

    def bce_input_factor(self, a: Arguments) -> np.ndarray:
        return (a.x - a.y) / np.maximum(a.x * (1 - a.x), 1e-12)


class grad_bce_input_cancelling(Mutant):
    """d/dx of BCE as -(y/x - (1 - y)/(1 - x)) everywhere: cancels where x is close to y."""

    witness = bce(
        dtype="float64",
        input=[0.3],
        target=[math.nextafter(0.3, 1.0)],
        quantity="grad_input",
        expected=lambda m, v: [
            (v["input"][0] - v["target"][0]) / (v["input"][0] * (1 - v["input"][0]))
        ],
        derivation="x=0.3, y=next float above: -(y/x - (1-y)/(1-x)) = (x - y)/(x (1 - x)) "
        "= -2.64e-16",
    )

    def bce_input_factor(self, a: Arguments) -> np.ndarray:
        x, y = a.x, a.y
        with np.errstate(divide="ignore", invalid="ignore"):
            d1 = np.where(x > CLAMP_THRESHOLD, 1 / x, 0)
            d2 = np.where(x != 1, 1 / (1 - x), 0)
            return -(y * d1 - (1 - y) * d2)


class grad_target_bce_no_clamp(Mutant):
    """d/dy of BCE as -(log x - log(1 - x)) without the clamp."""

    witness = bce(
        input=[0.0],
        target=[1.0],
        quantity="grad_target",
        expected=lambda m, v: [100],
        derivation="x=0: -(max(log 0, -100) - max(log 1, -100)) = 100 (the mutant: inf)",
    )

    def bce_target_factor(self, a: Arguments) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(-a.x) - np.log(a.x)


class grad_target_bce_cancelling(Mutant):
    """d/dy of BCE as log(1 - x) - log x everywhere: cancels near x = 1/2."""

    witness = bce(
        dtype="float64",
        input=[0.5000001],
        target=[1.0],
        quantity="grad_target",
        expected=lambda m, v: [m.log((1 - v["input"][0]) / v["input"][0])],
        derivation="x=0.5000001: -(log x - log(1 - x)) = log((1 - x)/x) = -3.99999999789463e-07 "
        "(the difference of two long double logs near -log 2 keeps about 43 bits: 101 ULP off)",
    )

    def bce_target_factor(self, a: Arguments) -> np.ndarray:
        return self.log_one_minus_prob(a.x) - self.log_prob(a.x)


class grad_target_logits_cancelling(Mutant):
    """d/dy of the logits loss as p softplus(-x) - softplus(x) everywhere: cancels near 0."""

    witness = logits(
        input=[1e-12],
        target=[0.5],
        quantity="grad_target",
        expected=lambda m, v: [softplus(m, -v["input"][0]) - softplus(m, v["input"][0])],
        derivation="x=fl32(1e-12), p=1: softplus(-x) - softplus(x) = -x",
    )

    def logits_target_derivative(self, a: Arguments) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            h = a.p * self.softplus(-a.x) - self.softplus(a.x)
        return a.w * h


class grad_target_sign_flipped(Mutant):
    """d/dy of the logits loss with the wrong sign."""

    witness = logits(
        input=[1.0],
        target=[0.0],
        quantity="grad_target",
        expected=lambda m, v: [softplus(m, -1) - softplus(m, 1)],
        derivation="x=1, p=1: softplus(-1) - softplus(1) = -1 (the mutant: +1)",
    )

    def logits_target_derivative(self, a: Arguments) -> np.ndarray:
        return -super().logits_target_derivative(a)


class grad_weight_without_pos_weight(Mutant):
    """d/dw of the logits loss as y softplus(-x) + (1 - y) softplus(x), forgetting p."""

    witness = logits(
        input=[0.0],
        target=[1.0],
        weight=[1.0],
        pos_weight=[3.0],
        quantity="grad_weight",
        expected=lambda m, v: [3 * m.log(2)],
        derivation="x=0, y=1, p=3: d/dw = p y softplus(0) = 3 log 2 (the mutant: log 2)",
    )

    def derivative(self, a: Arguments, wrt: str) -> np.ndarray:
        if wrt == "weight" and a.function == LOGITS:
            a = dataclasses.replace(a, p=np.ones_like(a.p))
        return super().derivative(a, wrt)


class grad_mean_divides_twice(Mutant):
    """Gradients of mean divided by N twice."""

    witness = logits(
        input=[0.0, 0.0],
        target=[1.0, 1.0],
        reduction="mean",
        quantity="grad_input",
        expected=lambda m, v: [(sigmoid(m, 0) - 1) / 2] * 2,
        derivation="x=0, y=1, N=2: (s(0) - 1) / N = -1/4 each (the mutant: -1/8)",
    )

    def upstream(self, a: Arguments, d: np.ndarray, grad_output: np.ndarray | None) -> np.ndarray:
        c = super().upstream(a, d, grad_output)
        return c / a.n if a.reduction == "mean" and a.n else c


class grad_mean_not_divided(Mutant):
    """Gradients of mean not divided by N."""

    witness = logits(
        input=[0.0, 0.0],
        target=[1.0, 1.0],
        reduction="mean",
        quantity="grad_input",
        expected=lambda m, v: [(sigmoid(m, 0) - 1) / 2] * 2,
        derivation="x=0, y=1, N=2: (s(0) - 1) / N = -1/4 each (the mutant: -1/2)",
    )

    def upstream(self, a: Arguments, d: np.ndarray, grad_output: np.ndarray | None) -> np.ndarray:
        go = 1 if grad_output is None else np.asarray(grad_output).astype(d.dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            return d * go


class grad_upstream_ignored(Mutant):
    """The upstream gradient ignored (treated as ones)."""

    witness = logits(
        input=[0.0],
        target=[1.0],
        reduction="none",
        quantity="grad_input",
        grad_output=[2.0],
        expected=lambda m, v: [2 * (sigmoid(m, 0) - 1)],
        derivation="x=0, y=1, upstream 2: 2 (s(0) - 1) = -1 (the mutant: -1/2)",
    )

    def upstream(self, a: Arguments, d: np.ndarray, grad_output: np.ndarray | None) -> np.ndarray:
        return super().upstream(a, d, None)


class grad_pos_weight_summed_over_wrong_axes(Mutant):
    """The pos_weight gradient of an (N, C) case summed over the class axis, not the batch."""

    witness = logits(
        input=[[0.0, 0.0], [0.0, 0.0]],
        target=[[1.0, 0.0], [1.0, 0.0]],
        pos_weight=[1.0, 1.0],
        quantity="grad_pos_weight",
        expected=lambda m, v: [2 * m.log(2), 0],
        derivation="d/dp_c = sum_n y_nc softplus(0): column 0 gives 2 log 2, column 1 gives 0",
    )

    def sum_to_shape(self, c: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
        if name == "pos_weight" and c.ndim > len(shape):
            c = c.sum(axis=tuple(range(len(shape), c.ndim)))
        return super().sum_to_shape(c, shape, name)


class grad_weight_mean_over_broadcast(Mutant):
    """The gradient of a broadcast weight averaged over the broadcast axes, not summed."""

    witness = logits(
        input=[0.0, 0.0],
        target=[1.0, 1.0],
        weight=2.0,
        quantity="grad_weight",
        expected=lambda m, v: 2 * m.log(2),
        derivation="w a scalar over 2 elements: d/dw = sum of g = 2 softplus(0) = 2 log 2",
    )

    def sum_to_shape(self, c: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
        total = super().sum_to_shape(c, shape, name)
        if name == "weight" and c.size:
            total = total * (math.prod(shape) / c.size)
        return total


class grad_weight_not_reduced_to_shape(Mutant):
    """The gradient of a broadcast weight returned in the target's shape."""

    witness = logits(
        input=[0.0, 0.0],
        target=[1.0, 1.0],
        weight=2.0,
        quantity="grad_weight",
        expected=lambda m, v: 2 * m.log(2),
        derivation="w of shape (): its gradient has shape () and value 2 log 2",
    )

    def sum_to_shape(self, c: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
        return c if name == "weight" else super().sum_to_shape(c, shape, name)


MUTANTS: dict[str, type[Mutant]] = {cls.__name__: cls for cls in Mutant.registry}
DEFAULT_SCORED = [name for name, cls in MUTANTS.items() if not cls.strict_only]
