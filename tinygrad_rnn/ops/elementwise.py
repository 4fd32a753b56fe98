"""Elementwise ops. Each works on a float (Scalar) or an ndarray (Tensor); broadcasting
follows numpy and the engine reduces broadcast gradients back to each input's shape."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Op


def _exp(x: Any) -> Any:
    if type(x) is not float:
        return np.exp(x)
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: Any) -> Any:
    if type(x) is not float:
        return np.log(x)
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def _tanh(x: Any) -> Any:
    return math.tanh(x) if type(x) is float else np.tanh(x)


def _power(x: Any, p: Any) -> Any:
    if type(x) is not float or type(p) not in (float, int):
        return np.power(x, p)
    if x < 0.0 and not float(p).is_integer():
        return math.nan
    try:
        return x**p
    except ZeroDivisionError:
        return math.inf
    except OverflowError:
        return math.inf


class Add(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (grad * y if need_x else None), (grad * x if need_y else None)


class Div(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return _divide(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        grad_x = _divide(grad, y)
        return (grad_x if need_x else None), (_divide(-grad_x * x, y) if need_y else None)


def _divide(x: Any, y: Any) -> Any:
    try:
        return x / y
    except ZeroDivisionError:  # a float divided by 0.0: inf or nan, as numpy gives for arrays
        return float(np.float64(x) / np.float64(y))


class Neg(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Op):
    """x ** p for a constant or differentiable exponent p.

    As in PyTorch, d/dx is 0 where p == 0 (x ** 0 is the constant 1, even at x = 0) and d/dp is
    0 where x == 0 and p >= 0, where the formulas alone would give 0 * inf = NaN.
    """

    __slots__ = ()

    @staticmethod
    def forward(ctx, x, p):
        out = _power(x, p)
        ctx.save_for_backward(x, p, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, p, out = ctx.saved_tensors
        need_x, need_p = ctx.needs_input_grad
        grad_x = _pow_grad_base(x, p, grad) if need_x else None
        grad_p = _pow_grad_exponent(x, p, out, grad) if need_p else None
        return grad_x, grad_p


def _pow_grad_base(x: Any, p: Any, grad: Any) -> Any:
    if type(p) is np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(p == 0, 0.0, p * _power(x, p - 1)) * grad
    return p * _power(x, p - 1) * grad if p != 0 else grad * 0.0


def _pow_grad_exponent(x: Any, p: Any, out: Any, grad: Any) -> Any:
    if type(out) is float:
        return 0.0 if x == 0.0 and p >= 0.0 else out * _log(x) * grad
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x == 0) & (p >= 0), 0.0, out * _log(x)) * grad


class Exp(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x):
        out = _exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.sign(x)


class Tanh(Op):
    """tanh(x). `Tanh.apply(x, True)` writes the result into x's own array: for a new array
    that nothing reads afterwards (a sequence layer's pre-activation), so that the graph holds
    one array where it would hold two. x's value node then holds tanh(x)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, x, overwrite=False):
        out = np.tanh(x, out=x) if overwrite and type(x) is np.ndarray else _tanh(x)
        ctx.save_for_backward(out)
        return out

    @property
    def overwritten_input(self) -> int | None:
        return 0 if self._input1 is True and self._input0._shaped else None

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Sigmoid(Op):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2, which cannot overflow."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, x):
        out = 0.5 + 0.5 * _tanh(0.5 * x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Relu(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, x):
        if type(x) is float:
            ctx.save_for_backward(x > 0.0)
            return x if x > 0.0 else 0.0
        positive = x > 0
        ctx.save_for_backward(positive)
        return x * positive

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return grad * positive


class Clip(Op):
    """x limited to [low, high] (either may be None); the gradient passes where x is inside."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, x, low, high):
        inside = np.ones(np.shape(x), dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        ctx.save_for_backward(inside)
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None


class Maximum(Op):
    """Elementwise max; at a tie each input gets half the gradient."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        share_x = (x > y) + 0.5 * (x == y)
        return grad * share_x, grad * (1 - share_x)


class Minimum(Op):
    """Elementwise min; at a tie each input gets half the gradient."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        share_x = (x < y) + 0.5 * (x == y)
        return grad * share_x, grad * (1 - share_x)


class Where(Op):
    """x where `condition` holds, else y; `condition` is a constant boolean array."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.save_for_backward(condition)
        return np.where(condition, x, y)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        zero = np.zeros((), dtype=grad.dtype)
        return None, np.where(condition, grad, zero), np.where(condition, zero, grad)


class Cast(Op):
    """x converted to another float dtype; the engine casts the gradient back."""

    __slots__ = ()

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None
