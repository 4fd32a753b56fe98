"""Reductions over axes (Tensor only): sum, mean, max, min, logsumexp, softmax, log_softmax."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Op


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(int(a) % ndim if ndim else a for a in axis)


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements a reduction over `axis` combines into each of its results."""
    count = 1
    for a in _axes(axis, len(shape)):
        count *= shape[a]
    return count


def _spread(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`grad` broadcast to `shape`, as a new array: several times cheaper than `np.broadcast_to`
    on the small arrays where per-op cost matters; on large ones its consumer writes an array of
    that size anyway."""
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad
    return out


def _kept(grad: np.ndarray, axis: Any, ndim: int, keepdims: bool) -> np.ndarray:
    """`grad` of a reduction's output, with the reduced axes put back as size-1 axes."""
    if keepdims or ndim == 0 or axis is None:  # a full reduction's 0-d grad broadcasts as is
        return grad
    return np.expand_dims(grad, _axes(axis, ndim))


class Sum(Op):
    __slots__ = ("axis", "keepdims", "shape")

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape = x.shape
        ctx.axis = axis
        ctx.keepdims = keepdims
        # ndarray.sum and .mean are Python wrappers around this call, and cost more than it.
        return np.add.reduce(x, axis, None, None, keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _spread(_kept(grad, ctx.axis, len(ctx.shape), ctx.keepdims), ctx.shape), None, None


class Mean(Op):
    __slots__ = ("axis", "count", "keepdims", "shape")

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape = x.shape
        ctx.axis = axis
        ctx.keepdims = keepdims
        ctx.count = count = _count(x.shape, axis)
        return np.add.reduce(x, axis, None, None, keepdims) / count

    @staticmethod
    def backward(ctx, grad):
        shape = ctx.shape
        return _spread(_kept(grad, ctx.axis, len(shape), ctx.keepdims) / ctx.count, shape), None, None


class _Extreme(Op, abstract=True):
    """Max or min along axes; tied extremes share the gradient equally."""

    __slots__ = ("axis", "keepdims")
    reduce: Any

    @classmethod
    def forward(cls, ctx, x, axis, keepdims):
        out = cls.reduce(x, axis=axis, keepdims=True)
        hit = (x == out).astype(x.dtype)
        ctx.save_for_backward(hit / hit.sum(axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.keepdims = keepdims
        return out if keepdims else np.squeeze(out, axis=_axes(axis, x.ndim))

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return share * _kept(grad, ctx.axis, share.ndim, ctx.keepdims), None, None


class Max(_Extreme):
    __slots__ = ()
    reduce = staticmethod(np.max)


class Min(_Extreme):
    __slots__ = ()
    reduce = staticmethod(np.min)


def _logsumexp(x: np.ndarray, axis: Any) -> np.ndarray:
    """log(sum(exp(x))) along `axis`, kept as size-1 axes; shifted by the max so it never overflows."""
    shift = x.max(axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    shifted = x - shift
    shifted = np.exp(shifted, out=shifted) if type(shifted) is np.ndarray else np.exp(shifted)
    return shift + np.log(shifted.sum(axis=axis, keepdims=True))


class LogSumExp(Op):
    __slots__ = ("axis", "keepdims")

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        lse = _logsumexp(x, axis)
        ctx.save_for_backward(x, lse)
        ctx.axis = axis
        ctx.keepdims = keepdims
        return lse if keepdims else np.squeeze(lse, axis=_axes(axis, x.ndim))

    @staticmethod
    def backward(ctx, grad):
        x, lse = ctx.saved_tensors
        return np.exp(x - lse) * _kept(grad, ctx.axis, x.ndim, ctx.keepdims), None, None


class Softmax(Op):
    __slots__ = ("axis",)

    @staticmethod
    def forward(ctx, x, axis):
        out = np.exp(x - _logsumexp(x, axis))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Op):
    __slots__ = ("axis",)

    @staticmethod
    def forward(ctx, x, axis):
        out = x - _logsumexp(x, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        scaled = np.exp(out)  # softmax, times the gradient's sum, taken from the gradient
        scaled *= grad.sum(axis=ctx.axis, keepdims=True)
        return np.subtract(grad, scaled, out=scaled), None
