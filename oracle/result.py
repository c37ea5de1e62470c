"""The result of an oracle call: exact values, their correct rounding, and exact gradients.

``mean`` is the exact sum divided by N, the number of elements of the unreduced loss ("the sum of
the output will be divided by the number of elements in the output"), not by the sum of the
weights; the mean of an empty loss is NaN (0/0) and its sum is 0.

Every output is ``factor * sum_{i in group} g_i * q_i``: ``q_i`` the element quantity (the loss
term or its derivative), ``g_i`` the upstream gradient, ``factor`` 1/N for mean, and a group is
one element (``none``, input and target gradients), all elements (a reduced value) or the
elements a broadcast weight feeds. A rounded output is first tried on the certified fast path
(oracle.fast: float64 enclosures, docs/certification.md); what it cannot decide is rounded from
the exact forms, which are built only for those elements, once per distinct (x, y, w, p).
Results are cached: enclosures serve every format, rounded arrays are kept per format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from oracle import fast
from oracle.cancellation import logits_term_scale
from oracle.errors import OracleDomainError, OracleShapeError
from oracle.extended import ZERO, Ext, ext_sum
from oracle.fast.rational import bce_rational_quantity
from oracle.formats import Format, format_of, from_bits
from oracle.inputs import FlatArgument, read_argument

QuantityFn = Callable[[str, int], Ext]


@dataclass
class ElementInputs:
    """The arguments of the elements, broadcast to the target's shape and flattened."""

    x: FlatArgument
    y: FlatArgument
    w: FlatArgument | None
    p: FlatArgument | None

    def key(self, i: int) -> tuple:
        """Equal keys mean equal elements (hash-compatible across float and Fraction)."""
        w = 1.0 if self.w is None else self.w.key(i)
        p = 1.0 if self.p is None else self.p.key(i)
        return (self.x.key(i), self.y.key(i), w, p)


@dataclass
class _Upstream:
    """grad_output read exactly, shaped like the output (None: all ones)."""

    values: FlatArgument | None
    cache_key: object

    def exact(self, i: int) -> Fraction:
        return Fraction(1) if self.values is None else self.values.exact(i)


class LossResult:
    """Exact loss values of one call; gradients are computed on demand and cached."""

    def __init__(
        self,
        function: str,
        reduction: str,
        target_shape: tuple[int, ...],
        argument_shapes: dict[str, tuple[int, ...] | None],
        quantity: QuantityFn,
        inputs: ElementInputs | None = None,
    ):
        self.function = function
        self.reduction = reduction
        self.target_shape = tuple(target_shape)
        self.argument_shapes = argument_shapes
        self._quantity = quantity
        self._inputs = inputs
        self._size = int(np.prod(self.target_shape, dtype=np.int64))
        self._memo: dict[tuple, Ext] = {}
        self._elements: np.ndarray | None = None
        self._exact: np.ndarray | None = None
        self._rounded: dict[str, np.ndarray] = {}
        self._gradients: dict[tuple, np.ndarray] = {}
        self._rounded_gradients: dict[tuple, np.ndarray] = {}
        self._enclosures: dict[str, fast.Enclosure | None] = {}
        self._magnitudes: dict[tuple, np.ndarray] = {}
        self._zero_certificates: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- elements ----------------------------------------------------------------------------
    def _element(self, name: str, i: int) -> Ext:
        """The exact quantity ``name`` of element ``i``, computed once per distinct element."""
        if self._inputs is None:
            return self._quantity(name, i)
        key = (name, self._inputs.key(i))
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = self._quantity(name, i)
        return value

    @property
    def elements(self) -> np.ndarray:
        """Object array (target-shaped) of the exact unreduced loss terms, built on first use."""
        if self._elements is None:
            elements = np.empty(self.target_shape, dtype=object)
            elements.reshape(-1)[:] = [self._element("value", i) for i in range(self._size)]
            self._elements = elements
        return self._elements

    def _enclosure(self, name: str) -> fast.Enclosure | None:
        """Fast-path float64 enclosures of quantity ``name`` for every element (cached)."""
        if name not in self._enclosures:
            self._enclosures[name] = (
                None if self._inputs is None else fast.enclose(self.function, name, self._inputs)
            )
        return self._enclosures[name]

    # -- values ------------------------------------------------------------------------------
    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.target_shape if self.reduction == "none" else ()

    def _mean_factor(self) -> Fraction | None:
        """1/N for mean (None when N == 0), 1 for sum and none."""
        if self.reduction != "mean":
            return Fraction(1)
        return Fraction(1, self._size) if self._size else None

    def exact(self) -> np.ndarray:
        """Object array (0-d after a reduction) of exact Ext values."""
        if self.reduction == "none":
            return self.elements
        if self._exact is None:
            out = np.empty((), dtype=object)
            factor = self._mean_factor()
            total = ext_sum(self.elements.reshape(-1))
            out[()] = Ext.nan() if factor is None else total.scale(factor)
            self._exact = out
        return self._exact

    def rounded(self, dtype: object) -> np.ndarray:
        """The correctly rounded value(s) as a NumPy array of ``dtype``."""
        fmt = format_of(dtype)
        if fmt.name not in self._rounded:
            self._rounded[fmt.name] = self._round_output("value", fmt, _Upstream(None, None))
        return self._rounded[fmt.name].copy()

    def magnitudes(self) -> np.ndarray:
        """Float64 approximations of |l_i| for every unreduced element (target-shaped).

        Not certified (a display and tolerance scale): the midpoint of the fast enclosure, or
        the exact form's float approximation where there is none.
        """
        return self._element_magnitudes("value", _Upstream(None, None), Fraction(1))

    def contribution_magnitudes(self, wrt: str, grad_output: object = None) -> np.ndarray:
        """Float64 approximations of |each element's contribution| to the gradient with respect
        to ``wrt`` (target-shaped, the absolute values of :meth:`gradient_contributions`)."""
        self._check_wrt(wrt)
        go = self._upstream(grad_output)
        return self._element_magnitudes(wrt, go, self._mean_factor() or Fraction(0))

    def cancellation_scale(self, name: str, grad_output: object = None) -> np.ndarray | None:
        """Float64 ``|g_i * factor| * sum_j |T_j|`` per element (target-shaped) for quantity
        ``name`` ('value' or an argument), the scale of its inherent cancellation
        (oracle.cancellation); None where the function has none (binary_cross_entropy)."""
        if self.function != "binary_cross_entropy_with_logits" or self._inputs is None:
            return None
        if name != "value":
            self._check_wrt(name)
        go = self._upstream(grad_output)
        inputs = self._inputs
        ones = np.ones(self._size)
        w = ones if inputs.w is None else inputs.w.floats
        p = ones if inputs.p is None else inputs.p.floats
        scale = logits_term_scale(name, inputs.x.floats, inputs.y.floats, w, p)
        factor = float(self._mean_factor() or 0)
        g = ones if go.values is None else self._per_element(go.values.floats)
        with np.errstate(all="ignore"):
            scale = np.abs(scale * g * factor)
        return np.where(np.isfinite(scale), scale, 0.0).reshape(self.target_shape)

    def _element_magnitudes(self, name: str, go: _Upstream, factor: Fraction) -> np.ndarray:
        key = (name, go.cache_key)
        if key not in self._magnitudes:
            mags = np.empty(self._size, dtype=np.float64)
            enc = self._enclosure(name)
            done = np.zeros(self._size, dtype=bool)
            g = np.ones(self._size) if go.values is None else self._per_element(go.values.floats)
            if enc is not None:
                with np.errstate(all="ignore"):
                    mid = 0.5 * enc.lo + 0.5 * enc.hi
                    # a tight enclosure (relative width 2^-40) gives the magnitude to 12 digits
                    done = enc.ok & (enc.hi - enc.lo <= np.abs(mid) * 2.0**-40)
                    mags[done] = np.abs(mid[done] * g[done] * float(factor))
            for i in np.flatnonzero(~done).tolist():
                gi = go.exact(i if self.reduction == "none" else 0)
                mags[i] = abs(self._element(name, i).scale(gi * factor).approximate())
            self._magnitudes[key] = mags.reshape(self.target_shape)
        return self._magnitudes[key].copy()

    def _per_element(self, values: np.ndarray) -> np.ndarray:
        """An output-shaped array of upstream values spread over the elements."""
        if self.reduction == "none":
            return values
        return np.full(self._size, values[0] if values.size else 1.0)

    # -- gradients ---------------------------------------------------------------------------
    def _check_wrt(self, wrt: str) -> tuple[int, ...]:
        if wrt not in self.argument_shapes:
            known = ", ".join(self.argument_shapes)
            raise OracleDomainError(f"wrt: {wrt!r} is not an argument of {self.function} ({known})")
        arg_shape = self.argument_shapes[wrt]
        if arg_shape is None:
            raise OracleDomainError(f"{wrt}: no {wrt} was given, so there is no gradient for it")
        return arg_shape

    def _upstream(self, grad_output: object) -> _Upstream:
        shape = self.output_shape
        if grad_output is None:
            return _Upstream(None, None)
        arg = read_argument(grad_output, "grad_output")
        if arg.shape != shape:
            if int(np.prod(arg.shape, dtype=np.int64)) != 1:
                raise OracleShapeError(
                    f"grad_output: shape {arg.shape} does not match the loss output shape {shape}"
                )
        flat = arg.broadcast(arg.shape)
        if arg.shape != shape:
            flat = type(flat)(
                np.full(int(np.prod(shape, dtype=np.int64)), flat.floats[0]),
                np.full(int(np.prod(shape, dtype=np.int64)), flat.exact_mask[0]),
                None if flat.objects is None else np.full(int(np.prod(shape)), flat.objects[0]),
            )
        if flat.objects is None:
            finite = bool(np.isfinite(flat.floats).all())
        else:
            finite = all(isinstance(v, Fraction) for v in flat.objects)
        if not finite:
            raise OracleDomainError("grad_output: must be finite")
        if flat.all_exact:
            key = (flat.floats.tobytes(), flat.floats.size)
        else:
            key = tuple(flat.objects.tolist())
        return _Upstream(flat, key)

    def _groups(self, wrt: str) -> tuple[np.ndarray, tuple[int, ...]] | None:
        """For a broadcast weight: each element's output index, and the output shape."""
        arg_shape = self.argument_shapes[wrt]
        if wrt in ("input", "target") or arg_shape == self.target_shape:
            return None
        n_out = int(np.prod(arg_shape, dtype=np.int64))
        index = np.arange(n_out, dtype=np.int64).reshape(arg_shape)
        return np.broadcast_to(index, self.target_shape).reshape(-1), tuple(arg_shape)

    def gradient_exact(self, wrt: str, grad_output: object = None) -> np.ndarray:
        """Exact gradient of the reduced loss (times ``grad_output``) with respect to ``wrt``."""
        self._check_wrt(wrt)
        go = self._upstream(grad_output)
        key = (wrt, go.cache_key)
        if key in self._gradients:
            return self._gradients[key]
        contributions = self._contributions(wrt, go)
        groups = self._groups(wrt)
        if groups is None:
            result = contributions
        else:
            index, shape = groups
            members = _group_members(index, int(np.prod(shape, dtype=np.int64)))
            flat = contributions.reshape(-1)
            result = np.empty(shape, dtype=object)
            result.reshape(-1)[:] = [ext_sum(flat[m]) if m.size else ZERO for m in members]
        self._gradients[key] = result
        return result

    def _contribution(self, wrt: str, go: _Upstream, i: int) -> Ext:
        g = go.exact(i if self.reduction == "none" else 0)
        return self._element(wrt, i).scale(g * self._mean_factor())

    def _rational_or_exact(self, name: str, go: _Upstream, i: int) -> Ext:
        """The contribution of element i: by a closed form where binary_cross_entropy's
        quantity is rational (oracle.fast.rational; finite weight), else from the exact form."""
        inputs = self._inputs
        if self.function == "binary_cross_entropy" and inputs is not None:
            w = Fraction(1) if inputs.w is None else inputs.w.exact(i)
            if isinstance(w, Fraction):
                q = bce_rational_quantity(name, inputs.x.exact(i), inputs.y.exact(i), w)
                if q is not None:
                    g = go.exact(i if self.reduction == "none" else 0)
                    return Ext.finite(q * g * self._mean_factor())
        return self._contribution(name, go, i)

    def _contributions(self, wrt: str, go: _Upstream) -> np.ndarray:
        contributions = np.empty(self.target_shape, dtype=object)
        flat = contributions.reshape(-1)
        for i in range(self._size):
            flat[i] = self._contribution(wrt, go, i)
        return contributions

    def gradient_contributions(self, wrt: str, grad_output: object = None) -> np.ndarray:
        """Per element of the unreduced loss (target-shaped), that element's exact contribution
        to the gradient with respect to ``wrt``; a broadcast argument's gradient is their sum
        over the broadcast axes."""
        self._check_wrt(wrt)
        return self._contributions(wrt, self._upstream(grad_output))

    def gradient(self, wrt: str, dtype: object, grad_output: object = None) -> np.ndarray:
        """The correctly rounded gradient with respect to ``wrt``, shaped like that argument."""
        self._check_wrt(wrt)
        fmt = format_of(dtype)
        go = self._upstream(grad_output)
        key = (wrt, go.cache_key, fmt.name)
        if key not in self._rounded_gradients:
            self._rounded_gradients[key] = self._round_output(wrt, fmt, go)
        return self._rounded_gradients[key].copy()

    # -- rounding ----------------------------------------------------------------------------
    def _round_output(self, name: str, fmt: Format, go: _Upstream) -> np.ndarray:
        """Bits of every output of quantity ``name``: fast path first, exact forms for the rest."""
        if name == "value":
            if self.reduction == "none":
                groups = None
            else:
                groups = (np.zeros(self._size, dtype=np.int64), ())
        else:
            groups = self._groups(name)
        shape = self.target_shape if groups is None else groups[1]
        n_out = int(np.prod(shape, dtype=np.int64))
        bits = np.zeros(n_out, dtype=np.uint64)
        todo = np.ones(n_out, dtype=bool)
        factor = self._mean_factor()
        use_fast = fast.decides(fmt) and factor is not None
        enc = self._enclosure(name) if use_fast and fmt.name != "float64" else None
        if use_fast and fmt.name == "float64":
            answer = self._fast_output_float64(name, go, groups, n_out)
            if answer is not None:
                decided, fast_bits = answer
                bits[decided] = fast_bits[decided]
                todo = ~decided
        if enc is not None:
            g_lo, g_hi = self._upstream_interval(go)
            decided, fast_bits = self._fast_output(name, enc, g_lo, g_hi, groups, n_out, fmt)
            bits[decided] = fast_bits[decided]
            todo = ~decided
        if use_fast and groups is None and todo.any():
            answer = self._certified_zeros(name, go, fmt)
            if answer is not None:
                decided, zero_bits = answer
                decided &= todo
                bits[decided] = zero_bits[decided]
                todo &= ~decided
        fast.STATS["fast"] += n_out - int(todo.sum())
        fast.STATS["exact"] += int(todo.sum())
        if todo.any():
            exact = self._exact_outputs(name, go, groups, n_out, todo)
            seen: dict[int, int] = {}  # equal elements share one Ext object: round it once
            for k, v in exact.items():
                if id(v) not in seen:
                    seen[id(v)] = v.rounded_bits(fmt)
                bits[k] = seen[id(v)]
        return from_bits(bits.astype(fmt.uint_dtype), fmt).reshape(shape)

    def _certified_zeros(self, name: str, go: _Upstream, fmt: Format):
        """(decided mask, bits) of the elementwise outputs certified to round to ±0
        (oracle.fast.far_tail: with-logits quantities whose non-vanishing part is exactly 0),
        or None where that does not apply."""
        if self.function != "binary_cross_entropy_with_logits" or self._inputs is None:
            return None
        if name not in self._zero_certificates:
            x, y, w, p, exact = fast._exact_arguments(self._inputs)
            sign, exponent = fast.far_tail.certificates(name, x, y, w, p)
            self._zero_certificates[name] = (np.where(exact, sign, 2), exponent)
        sign, exponent = self._zero_certificates[name]
        g, ok = None, None
        if go.values is not None:
            g = self._per_element(go.values.floats)
            ok = self._per_element(go.values.exact_mask)
        return fast.far_tail.decide_zeros(sign, exponent, g, fmt, ok)

    def _ball_enclosure(self, name: str) -> fast.BallEnclosure | None:
        """Fast-path double-word balls of quantity ``name`` for every element (cached)."""
        key = "float64:" + name
        if key not in self._enclosures:
            self._enclosures[key] = (
                None
                if self._inputs is None
                else fast.enclose_balls(self.function, name, self._inputs)
            )
        return self._enclosures[key]

    def _upstream_balls(self, go: _Upstream):
        """(g, g_balls): the upstream gradient per element as exact floats, or as balls where
        some value is not a binary64 number; (None, None) for the default all-ones."""
        if go.values is None:
            return None, None
        vals = go.values
        if vals.exact_mask.all():
            return self._per_element(vals.floats), None
        cols = [
            (float(f), 0.0, 0.0) if exact else fast.ball_of_fraction(q)
            for f, exact, q in zip(
                vals.floats.tolist(), vals.exact_mask.tolist(), vals.objects.tolist(), strict=True
            )
        ]
        arrays = tuple(np.array(c, dtype=np.float64) for c in zip(*cols, strict=True))
        return None, tuple(self._per_element(a) for a in arrays)

    def _fast_output_float64(self, name, go, groups, n_out):
        """(decided mask, bits) of every float64 output from double-word balls, or None."""
        enc = self._ball_enclosure(name)
        if enc is None:
            return None
        g, g_balls = self._upstream_balls(go)
        ball = fast.scale_balls(enc, g, g_balls)
        ok = enc.ok
        n_div = float(self._size) if self.reduction == "mean" else 1.0
        if groups is None:
            return fast.decide_float64(*fast.divide_balls(ball, n_div), ok)
        index, _ = groups
        missing = np.flatnonzero(~ok)
        if missing.size:  # elements off the fast path: balls of their exact forms
            ball = tuple(np.array(a, dtype=np.float64, copy=True) for a in ball)
            ok = ok.copy()
            for i in missing.tolist():
                b = fast.ball_of_ext(self._element(name, i))
                if b is None:
                    continue  # not finite: the group is left to the exact path
                one = tuple(np.array([v]) for v in b)
                with np.errstate(all="ignore"):
                    if g_balls is not None:
                        one = fast.B.mul(one, tuple(a[i : i + 1] for a in g_balls))
                    elif g is not None:
                        one = fast.B.mul_float(one, g[i : i + 1])
                for a, v in zip(ball, one, strict=True):
                    a[i] = v[0]
                ok[i] = bool(np.isfinite(one[2][0]))
        h, l, r, s_ok = fast.ball_group_sums(*ball, ok, index, n_out)  # noqa: E741
        return fast.decide_float64(*fast.divide_balls((h, l, r), n_div), s_ok)

    def _upstream_interval(self, go: _Upstream) -> tuple[np.ndarray, np.ndarray]:
        """Per-element float64 enclosure of the upstream gradient."""
        if go.values is None:
            one = np.ones(self._size)
            return one, one
        lo, hi = fast.enclose_exact_values(go.values)
        return self._per_element(lo), self._per_element(hi)

    def _fast_output(self, name, enc, g_lo, g_hi, groups, n_out, fmt):
        """(decided mask, bits) of every output from the element enclosures."""
        lo, hi = fast.scale(enc.lo, enc.hi, g_lo, g_hi)
        ok = enc.ok
        n_div = float(self._size) if self.reduction == "mean" else 1.0
        if groups is None:
            lo, hi = fast.divide(lo, hi, n_div)
            return fast.decide(lo, hi, ok, fmt)
        index, _ = groups
        missing = np.flatnonzero(~ok)
        if missing.size:  # elements off the fast path: enclose their exact forms
            lo, hi, ok = lo.copy(), hi.copy(), ok.copy()
            for i in missing.tolist():
                bounds = fast.enclose_ext(self._element(name, i))
                if bounds is None:
                    continue  # not finite: the group is left to the exact path
                e_lo, e_hi = fast.scale(
                    np.array([bounds[0]]), np.array([bounds[1]]), g_lo[i : i + 1], g_hi[i : i + 1]
                )
                lo[i], hi[i], ok[i] = e_lo[0], e_hi[0], True
        s_lo, s_hi, s_ok = fast.group_sums(lo, hi, ok, index, n_out)
        s_lo, s_hi = fast.divide(s_lo, s_hi, n_div)
        return fast.decide(s_lo, s_hi, s_ok, fmt)

    def _exact_outputs(self, name, go, groups, n_out, todo) -> dict[int, Ext]:
        """Exact values of the outputs marked in ``todo``."""
        wanted = np.flatnonzero(todo).tolist()
        if name == "value":
            if self.reduction == "none":
                return {
                    k: self._rational_or_exact("value", _Upstream(None, None), k) for k in wanted
                }
            return {0: self.exact()[()]}
        if groups is None:
            return {k: self._rational_or_exact(name, go, k) for k in wanted}
        index, _ = groups
        members = _group_members(index, n_out)
        return {k: ext_sum(self._contribution(name, go, i) for i in members[k]) for k in wanted}


def _group_members(index: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """For each output index, the flat element indices that feed it."""
    order = np.argsort(index, kind="stable")
    counts = np.bincount(index, minlength=n_groups)
    return np.split(order, np.cumsum(counts)[:-1]) if n_groups else []


__all__ = ["ElementInputs", "LossResult"]
