"""`Scalar`: a Python float in the graph; micrograd's value, on the shared engine."""

from __future__ import annotations

from typing import Any

from .autograd.node import Node
from .errors import DTypeError
from .ops import Add, Div, Exp, Log, Mul, Neg, Pow, Relu, Sigmoid, Sub, Tanh


class Scalar(Node):
    """A single number that records the ops applied to it. Requires grad by default.

    >>> a, b = Scalar(2.0), Scalar(-3.0)
    >>> c = (a * b + a ** 2).tanh()
    >>> c.backward()
    >>> round(a.grad, 6)   # (1 - tanh(-2)**2) * (b + 2a)
    0.070651
    """

    __slots__ = ()
    _shaped = False

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        if isinstance(data, Node):
            data = data.data
        try:
            value = float(data)
        except (TypeError, ValueError):
            raise DTypeError(f"Scalar data must be a real number, got {type(data).__name__}") from None
        self._init_leaf(value, requires_grad, name)

    _raw_type = float

    @staticmethod
    def _as_raw(data: Any) -> float:
        return _as_float(data)

    @staticmethod
    def _unit_seed(data: float) -> float:
        """d value / d value."""
        return 1.0

    @staticmethod
    def _check_seed(data: float, seed: Any) -> float:
        return float(seed)

    @staticmethod
    def _wrap_grad(grad: Any) -> float:
        return float(grad)

    def _accumulate_leaf(self, grad: float, owned: bool) -> None:
        self.grad = float(grad) if self.grad is None else self.grad + float(grad)

    def detach(self) -> Scalar:
        """The same value as a new leaf that needs no grad."""
        return Scalar(self.data, requires_grad=False)

    def item(self) -> float:
        return self.data

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        extra = f", grad_fn={self._ctx!r}" if self._ctx is not None else ""
        grad = f", grad={self.grad:.6g}" if self.grad is not None else ""
        named = f", name={self.name!r}" if self.name else ""
        return f"Scalar({self.data:.6g}{grad}{extra}{named})"

    def __add__(self, other: Any) -> Scalar:
        return Add.apply(self, other)

    def __radd__(self, other: Any) -> Scalar:
        return Add.apply(other, self)

    def __sub__(self, other: Any) -> Scalar:
        return Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Scalar:
        return Sub.apply(other, self)

    def __mul__(self, other: Any) -> Scalar:
        return Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Scalar:
        return Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Scalar:
        return Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Scalar:
        return Div.apply(other, self)

    def __neg__(self) -> Scalar:
        return Neg.apply(self)

    def __pow__(self, exponent: Any) -> Scalar:
        return Pow.apply(self, exponent)

    def __rpow__(self, base: Any) -> Scalar:
        return Pow.apply(base, self)

    def pow(self, exponent: Any) -> Scalar:
        return Pow.apply(self, exponent)

    def exp(self) -> Scalar:
        return Exp.apply(self)

    def log(self) -> Scalar:
        return Log.apply(self)

    def tanh(self) -> Scalar:
        return Tanh.apply(self)

    def sigmoid(self) -> Scalar:
        return Sigmoid.apply(self)

    def relu(self) -> Scalar:
        return Relu.apply(self)


def _as_float(data: Any) -> float:
    try:
        return float(data)
    except (TypeError, ValueError):
        shape = getattr(data, "shape", None)
        raise DTypeError(
            f"a Scalar op produced {type(data).__name__}"
            + (f" of shape {shape}" if shape is not None else "")
            + ": Scalars combine only with numbers and Scalars; use Tensors for arrays"
        ) from None


Scalar._output_type = Scalar
