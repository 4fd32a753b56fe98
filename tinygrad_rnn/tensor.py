"""`Tensor`: an ndarray in the graph, with numpy broadcasting and PyTorch-style methods."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .autograd.function import Clock
from .autograd.mode import no_grad
from .autograd.node import Node
from .errors import BackwardError, DTypeError, ShapeError
from .ops import (
    Abs,
    Add,
    AddMatMul,
    Cast,
    Clip,
    Concat,
    Div,
    Exp,
    Expand,
    GetItem,
    Log,
    LogSoftmax,
    LogSumExp,
    MatMul,
    Max,
    Maximum,
    Mean,
    Min,
    Minimum,
    Mul,
    Neg,
    Permute,
    Pow,
    Relu,
    Reshape,
    Sigmoid,
    Softmax,
    Sqrt,
    Stack,
    Sub,
    Sum,
    Tanh,
    Where,
)
from .random import generator

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype: Any) -> None:
    """The float dtype given to Python numbers and lists (float32 unless changed).

    >>> set_default_dtype(np.float64)
    """
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise DTypeError(f"the default dtype must be a float dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The float dtype given to Python numbers and lists."""
    return _default_dtype


def _as_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Node):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        _check_real(data.dtype)
        array = np.asarray(data) if dtype is None else np.asarray(data).astype(dtype, copy=False)
    else:
        if data is None:
            raise DTypeError("cannot make a Tensor from None")
        try:
            # Converted as numpy sees it first, so that None or strings inside a list are refused
            # instead of becoming NaN or parsed numbers.
            array = np.asarray(data)
        except (TypeError, ValueError) as error:
            raise DTypeError(f"cannot make a Tensor from {type(data).__name__}: {error}") from None
        _check_real(array.dtype)
        array = array.astype(dtype or _default_dtype, copy=False)
    _check_real(array.dtype)
    return array


def _check_real(dtype: np.dtype) -> None:
    if dtype.kind not in "fiub":
        raise DTypeError(f"Tensor data must be real numbers (float, int or bool), got dtype {dtype}")


class Tensor(Node):
    """An n-dimensional array that records the ops applied to it.

    >>> x = Tensor(np.ones((2, 3)), requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.shape
    (2, 3)

    ndarray data is used as given (no copy); Python numbers and lists become the default
    float dtype (float32). Only float tensors can require grad.
    """

    __slots__ = ()
    _shaped = True
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators
    __hash__ = Node.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        array = _as_array(data, dtype)
        if requires_grad and array.dtype.kind != "f":
            raise DTypeError(
                f"only float tensors can require grad, got dtype {array.dtype}; "
                f"convert with dtype=np.float32 or np.float64"
            )
        self._init_leaf(array, requires_grad, name)

    # -- hooks used by the graph core ---------------------------------------------------------

    _raw_type = np.ndarray

    @staticmethod
    def _as_raw(data: Any) -> np.ndarray:
        return np.asarray(data)  # a numpy scalar from a full reduction, say

    @staticmethod
    def _unit_seed(data: np.ndarray) -> np.ndarray | None:
        """d value / d value for a one-element value: ones of its shape and dtype (else None)."""
        if data.size != 1:
            return None
        # np.array is one C call; np.ones and np.ones_like are Python wrappers several times slower.
        one = np.array(1, dtype=data.dtype)
        return one if data.ndim == 0 else one.reshape(data.shape)

    @staticmethod
    def _check_seed(data: np.ndarray, seed: Any) -> np.ndarray:
        seed = np.asarray(seed, dtype=data.dtype)
        if seed.shape != data.shape:
            raise ShapeError(
                f"backward: gradient has shape {seed.shape} but the output has shape {data.shape}"
            )
        return seed

    @staticmethod
    def _wrap_grad(grad: Any) -> Tensor:
        return Tensor._constant(grad)

    def _accumulate_leaf(self, grad: np.ndarray, owned: bool) -> None:
        if self.grad is None:
            self.grad = Tensor._constant(grad if owned else np.array(grad))
        else:
            self.grad.data = self.grad.data + grad

    # -- basic properties ---------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __bool__(self) -> bool:
        """The truth of a one-element tensor; ambiguous (ValueError) for more, as in numpy."""
        return bool(self.data)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, threshold=20, edgeitems=2,
                               separator=", ", prefix="Tensor(")
        extra = f", grad_fn={self._ctx!r}" if self._ctx is not None else (
            ", requires_grad=True" if self.requires_grad else "")
        named = f", name={self.name!r}" if self.name else ""
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{extra}{named})"

    # -- graph edits --------------------------------------------------------------------------

    def detach(self) -> Tensor:
        """The same data as a new leaf that needs no grad (shares memory)."""
        return Tensor._constant(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set `requires_grad` on a leaf, in place."""
        if self._ctx is not None and not requires_grad:
            raise BackwardError("requires_grad_(False) on a non-leaf: use detach() instead")
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"only float tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def _modified(self) -> Tensor:
        self._version = Clock.tick(self.data)
        return self

    def copy_(self, source: Any) -> Tensor:
        """Overwrite the data in place with `source` (shapes must match; records no graph)."""
        value = _as_array(source, self.dtype)
        if value.shape != self.shape:
            raise ShapeError(f"copy_: source shape {value.shape} != tensor shape {self.shape}")
        self.data[...] = value
        return self._modified()

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """self += alpha * other on the data, in place (records no graph)."""
        other = other.data if isinstance(other, Node) else other
        try:
            self.data += alpha * other if alpha != 1.0 else other
        except (TypeError, ValueError) as error:
            raise _in_place_error("add_", self, other, error) from None
        return self._modified()

    def mul_(self, factor: Any) -> Tensor:
        """self *= factor on the data, in place (records no graph)."""
        factor = factor.data if isinstance(factor, Node) else factor
        try:
            self.data *= factor
        except (TypeError, ValueError) as error:
            raise _in_place_error("mul_", self, factor, error) from None
        return self._modified()

    def zero_(self) -> Tensor:
        """Set every element to zero, in place."""
        self.data[...] = 0
        return self._modified()

    # -- arithmetic -----------------------------------------------------------------------------

    def _operand(self, other: Any) -> Any:
        """A non-Tensor operand in this tensor's dtype: constants never upcast float32 work.

        The binary operators test for a Node before calling this: the call is a measurable
        part of a small op's cost.
        """
        if isinstance(other, Node) or type(other) in (float, int):
            return other
        if isinstance(other, (np.ndarray, np.generic)):
            if other.dtype == self.data.dtype:
                return other
            _check_real(other.dtype)
            return other.astype(self.data.dtype) if self.data.dtype.kind == "f" else other
        return _as_array(other, self.data.dtype if self.data.dtype.kind == "f" else None)

    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, other if isinstance(other, Node) else self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(self, other if isinstance(other, Node) else self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return Sub.apply(self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, other if isinstance(other, Node) else self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(self, other if isinstance(other, Node) else self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div.apply(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        return Pow.apply(self, self._operand(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        return Pow.apply(self._operand(base), self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, other if isinstance(other, Node) else self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self._operand(other), self)

    def pow(self, exponent: Any) -> Tensor:
        """self ** exponent (a number or a Tensor)."""
        return Pow.apply(self, self._operand(exponent))

    def matmul(self, other: Any) -> Tensor:
        """self @ other, with numpy's rules for 1-D and batched operands."""
        return MatMul.apply(self, self._operand(other))

    def addmm(self, mat1: Any, mat2: Any, index: int | None = None) -> Tensor:
        """self + mat1 @ mat2 in one op, for 2-D mat1 and mat2 (broadcast as `+` does).

        What a linear layer or a recurrent step computes; cheaper than the two ops it replaces.
        With `index`, self[index] + mat1 @ mat2 without a slicing op: how step t of an unrolled
        sequence adds row t of the sequence's input projection.

        >>> bias.addmm(x, weight.T)                      # x @ weight.T + bias
        >>> projected.addmm(h, weight_hh.T, index=t)     # projected[t] + h @ weight_hh.T
        """
        if index is None:
            return AddMatMul.apply(self, self._operand(mat1), self._operand(mat2))
        index = operator.index(index)
        length = self.shape[0] if self.ndim else 0
        if not -length <= index < length:
            raise IndexError(f"addmm: index {index} is out of range for a tensor of shape {self.shape}")
        return AddMatMul.apply(self, self._operand(mat1), self._operand(mat2), index)

    # Comparisons give boolean tensors outside the graph.
    def _compare(self, other: Any, op: Any) -> Tensor:
        return Tensor._constant(op(self.data, other.data if isinstance(other, Node) else other))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # -- elementwise functions ------------------------------------------------------------------

    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sqrt(self) -> Tensor:
        return Sqrt.apply(self)

    def abs(self) -> Tensor:
        return Abs.apply(self)

    def tanh(self) -> Tensor:
        return Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return Relu.apply(self)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """Values limited to [low, high]; the gradient is zero where a limit applied."""
        low = None if low is None else self._operand(low)
        high = None if high is None else self._operand(high)
        return Clip.apply(self, low, high)

    clamp = clip

    def maximum(self, other: Any) -> Tensor:
        return Maximum.apply(self, self._operand(other))

    def minimum(self, other: Any) -> Tensor:
        return Minimum.apply(self, self._operand(other))

    def astype(self, dtype: Any) -> Tensor:
        """A copy in another float dtype; differentiable."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f" and self.requires_grad:
            raise DTypeError(f"astype({dtype}) on a tensor that requires grad: only floats")
        return Cast.apply(self, dtype)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    # -- reductions -----------------------------------------------------------------------------

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return Sum.apply(self, axis if axis is None else _axis(axis), keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return Mean.apply(self, _axis(axis), keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Largest value along axis; tied maxima share the gradient."""
        return Max.apply(self, _axis(axis), keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Smallest value along axis; tied minima share the gradient."""
        return Min.apply(self, _axis(axis), keepdims)

    def logsumexp(self, axis: int | Sequence[int] | None = None,
                  keepdims: bool = False) -> Tensor:
        """log(sum(exp(self))) along axis, without overflow."""
        return LogSumExp.apply(self, _axis(axis), keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return Softmax.apply(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return LogSoftmax.apply(self, axis)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        """Indices of the largest values (an ndarray: not differentiable)."""
        return self.data.argmax(axis=axis)

    # -- shape ----------------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        """Same data in a new shape; `reshape(2, -1)` or `reshape((2, -1))`."""
        return Reshape.apply(self, _shape_arg(shape))

    view = reshape

    def flatten(self) -> Tensor:
        return Reshape.apply(self, (-1,))

    def permute(self, *axes: Any) -> Tensor:
        """Axes reordered: `x.permute(1, 0, 2)`."""
        return Permute.apply(self, _shape_arg(axes))

    def transpose(self, axis0: int = -2, axis1: int = -1) -> Tensor:
        """Two axes swapped (the last two by default)."""
        axes = list(range(self.ndim))
        axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
        return Permute.apply(self, tuple(axes))

    @property
    def T(self) -> Tensor:
        """All axes reversed, as numpy's `.T`."""
        return Permute.apply(self, None)

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to `shape` without copying; -1 keeps an axis's size; the gradient is summed
        back. `x.expand(4, -1)` turns shape (1, 3) into (4, 3)."""
        shape = _shape_arg(shape)
        if -1 in shape:
            lead = len(shape) - self.ndim
            shape = tuple(self.shape[i - lead] if side == -1 and i >= lead else side
                          for i, side in enumerate(shape))
        return Expand.apply(self, shape)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return Expand.apply(self, tuple(shape))

    def unsqueeze(self, axis: int) -> Tensor:
        shape = list(self.shape)
        shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
        return Reshape.apply(self, tuple(shape))

    def squeeze(self, axis: int | None = None) -> Tensor:
        return Reshape.apply(self, np.squeeze(self.data, axis=axis).shape)

    def __getitem__(self, index: Any) -> Tensor:
        """Basic slicing and integer-array indexing; the gradient is scatter-added back."""
        return GetItem.apply(self, _index(index))

    def unbind(self, axis: int = 0) -> tuple[Tensor, ...]:
        """The slices along `axis`, each without that axis: an unrolled sequence's steps."""
        self._check_axis("unbind", axis)
        lead = (slice(None),) * (axis % self.ndim)
        return tuple(GetItem.apply(self, (*lead, i)) for i in range(self.shape[axis]))

    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
        """Pieces along `axis`: of size `n` each (the last may be smaller), or of the given sizes."""
        self._check_axis("split", axis)
        length = self.shape[axis]
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections <= 0:
                raise ValueError("split size must be positive")
            sizes = [split_size_or_sections] * (length // split_size_or_sections)
            if length % split_size_or_sections:
                sizes.append(length % split_size_or_sections)
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != length:
                raise ShapeError(f"split: sizes {sizes} do not add up to axis length {length}")
        lead = (slice(None),) * (axis % self.ndim)
        pieces = []
        start = 0
        for size in sizes:
            pieces.append(GetItem.apply(self, (*lead, slice(start, start + size))))
            start += size
        return tuple(pieces)

    def _check_axis(self, method: str, axis: int) -> None:
        if not -self.ndim <= axis < self.ndim:
            raise ShapeError(f"{method}: axis {axis} is out of range for a tensor of shape {self.shape}")

    def chunk(self, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
        size = -(-self.shape[axis] // chunks)
        return self.split(size, axis)


def _in_place_error(method: str, tensor: Tensor, other: Any, error: Exception) -> Exception:
    if isinstance(error, ValueError):
        return ShapeError(
            f"{method}: cannot apply a value of shape {np.shape(other)} in place to a tensor of "
            f"shape {tensor.shape} ({error})"
        )
    kind = getattr(other, "dtype", type(other).__name__)
    return DTypeError(f"{method}: cannot apply {kind} in place to a {tensor.dtype} tensor ({error})")


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _tensors(values: Sequence[Any]) -> list[Any]:
    first = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = first.dtype if first is not None else None
    return [v if isinstance(v, Tensor) else Tensor(v, dtype=dtype) for v in values]


def concat(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Tensors joined along an existing axis.

    >>> concat([a, b], axis=-1)      # the seeds' [s_f ; s_b]
    """
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    return Concat.apply(*_tensors(tensors), axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Tensors of one shape joined along a new axis."""
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return Stack.apply(*_tensors(tensors), axis)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """x where condition holds, else y (condition is not differentiated)."""
    condition = np.asarray(condition.data if isinstance(condition, Node) else condition, dtype=bool)
    x, y = _tensors([x, y])
    return Where.apply(condition, x, y)


def maximum(x: Any, y: Any) -> Tensor:
    x, y = _tensors([x, y])
    return Maximum.apply(x, y)


def minimum(x: Any, y: Any) -> Tensor:
    x, y = _tensors([x, y])
    return Minimum.apply(x, y)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """`Tensor(data, ...)` as a function, as in PyTorch."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_arg(shape), dtype=dtype or _default_dtype), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape_arg(shape), dtype=dtype or _default_dtype), requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the library's generator (see `manual_seed`)."""
    data = generator().standard_normal(_shape_arg(shape)).astype(dtype or _default_dtype)
    return Tensor(data, requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the library's generator."""
    data = generator().random(_shape_arg(shape)).astype(dtype or _default_dtype)
    return Tensor(data, requires_grad)


__all__ = [
    "Tensor", "concat", "get_default_dtype", "maximum", "minimum", "no_grad", "ones", "rand",
    "randn", "set_default_dtype", "stack", "tensor", "where", "zeros",
]


Tensor._output_type = Tensor
