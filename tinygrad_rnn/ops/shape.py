"""Ops that move data without changing it: reshape, permute, expand, indexing, concat, stack."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.engine import IndexGrad
from .base import Op, column_layout


class Reshape(Op):
    __slots__ = ("shape",)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Op):
    """Axes reordered as `axes` (None reverses them, as `.T`)."""

    __slots__ = ("axes",)

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.axes
        if axes is None:
            return grad.transpose(), None
        return grad.transpose(np.argsort([a % grad.ndim for a in axes])), None


class Expand(Op):
    """Broadcast to `shape`; the engine's unbroadcast sums the gradient back."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _is_basic(index: Any) -> bool:
    """Basic indexing (ints, slices, None, ...) selects every element at most once."""
    parts = index if type(index) is tuple else (index,)
    return all(
        isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts
    )


class GetItem(Op):
    """x[index] for basic and integer-array indexing; backward scatter-adds into x's shape."""

    __slots__ = ("index", "source")

    @staticmethod
    def forward(ctx, x, index):
        ctx.index = index
        ctx.source = x  # for its shape and dtype: alive anyway as the input's data, unlike a shape tuple
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        unique = _is_basic(ctx.index)
        source = ctx.source
        return IndexGrad(ctx.index, grad, source.shape, source.dtype, unique), None


def _joined(join: Any, arrays: list[np.ndarray], axis: int, shape: list[int]) -> np.ndarray:
    """`join(arrays, axis=axis)` (np.concatenate or np.stack) into a new array.

    The result is C-contiguous, except for a stack along a new first axis of (B, H) matrices
    in column layout (a recurrent layer's states, see AddMatMul): that stack is laid out as
    the transpose of an (H, T, B) array, so that each of its matrices keeps its layout and
    reshaping it to (T * B, H) is a view. (numpy's own choice would make that reshape copy.)
    """
    dtype = np.result_type(*arrays)
    if join is np.stack and axis == 0 and len(shape) == 3 and all(map(column_layout, arrays)):
        steps, rows, columns = shape
        out = np.empty((columns, steps, rows), dtype=dtype).transpose(1, 2, 0)
    else:
        out = np.empty(shape, dtype=dtype)
    return join(arrays, axis=axis, out=out)


def _axis_index(axis: int, rank: int) -> int:
    """`axis` as an index in 0..rank-1 (negative counting from the end)."""
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of bounds for {rank} dimensions")
    return axis % rank


class Concat(Op):
    """Inputs joined along an existing axis: `Concat.apply(*tensors, axis)`."""

    __slots__ = ("axis", "bounds")

    @staticmethod
    def forward(ctx, *args):
        *arrays, axis = args
        axis = _axis_index(axis, arrays[0].ndim)
        sizes = [a.shape[axis] for a in arrays]
        ctx.axis = axis
        ctx.bounds = np.cumsum(sizes)[:-1]
        shape = list(arrays[0].shape)
        shape[axis] = sum(sizes)
        return _joined(np.concatenate, arrays, axis, shape)

    @staticmethod
    def backward(ctx, grad):
        return (*np.split(grad, ctx.bounds, axis=ctx.axis), None)


class Stack(Op):
    """Inputs joined along a new axis: `Stack.apply(*tensors, axis)`."""

    __slots__ = ("axis", "count")

    @staticmethod
    def forward(ctx, *args):
        *arrays, axis = args
        shape = list(arrays[0].shape)
        ctx.axis = axis = _axis_index(axis, len(shape) + 1)
        ctx.count = len(arrays)
        shape.insert(axis, len(arrays))
        return _joined(np.stack, arrays, axis, shape)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return (*(grad[(*lead, i)] for i in range(ctx.count)), None)
