"""Shape rules: input and target alike, weight and pos_weight broadcast to the target's shape.

* ``input`` and ``target`` must have the same shape ("Tensor of the same shape as input").
* ``weight`` "is repeated to match input tensor shape": NumPy/PyTorch broadcasting against the
  target, and it may not grow the shape (the output has the input's shape).
* ``pos_weight`` "is broadcasted with target" ("[C]", "[C, 1, 1]" for a [B, C, H, W] target,
  "[B, C, H, W]", "[C, H, W]"); the same rule: broadcasting to the target's shape, not growing it.
"""

from __future__ import annotations

import numpy as np

from oracle.errors import OracleShapeError


def check_same_shape(input_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> None:
    if tuple(input_shape) != tuple(target_shape):
        raise OracleShapeError(
            f"target: shape {tuple(target_shape)} differs from input shape {tuple(input_shape)};"
            " the documentation requires the same shape"
        )


def broadcast_to_target(shape: tuple[int, ...], target_shape: tuple[int, ...], name: str) -> None:
    """Raise OracleShapeError unless ``shape`` broadcasts to ``target_shape`` unchanged."""
    try:
        result = np.broadcast_shapes(tuple(shape), tuple(target_shape))
    except ValueError:
        result = None
    if result != tuple(target_shape):
        raise OracleShapeError(
            f"{name}: shape {tuple(shape)} does not broadcast to the target's shape"
            f" {tuple(target_shape)} (broadcasting may not change the target's shape)"
        )


def sum_to_shape(values: np.ndarray, shape: tuple[int, ...], add, zero) -> np.ndarray:
    """Sum an object array of the target's shape down to a broadcast argument's ``shape``.

    This is the adjoint of broadcasting: leading axes are summed away, and axes where ``shape``
    has extent 1 are summed with keepdims. ``add`` combines two elements; an empty sum is ``zero``.
    """
    out = values
    for _ in range(values.ndim - len(shape)):
        out = _reduce_axis(out, 0, add, zero, keepdims=False)
    for axis, extent in enumerate(shape):
        if extent == 1 and out.shape[axis] != 1:
            out = _reduce_axis(out, axis, add, zero, keepdims=True)
    return out.reshape(shape)


def _reduce_axis(values: np.ndarray, axis: int, add, zero, keepdims: bool) -> np.ndarray:
    moved = np.moveaxis(values, axis, 0)
    result = np.empty(moved.shape[1:], dtype=object)
    flat = result.reshape(-1)
    columns = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:], dtype=np.int64)))
    for j in range(flat.size):
        acc = zero
        for i in range(columns.shape[0]):
            acc = add(acc, columns[i, j])
        flat[j] = acc
    return np.expand_dims(result, axis) if keepdims else result
