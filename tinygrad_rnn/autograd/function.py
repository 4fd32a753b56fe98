"""`Function`: the base of every op, and `apply`, which runs an op and records it in the graph."""

from __future__ import annotations

import traceback
from typing import Any

import numpy as np

from ..errors import AnomalyError, ShapeError
from .mode import state
from .node import Node

FREED = object()  # `saved_tensors` after backward has released them


class Clock:
    """Counts in-place modifications; an op records the count when it runs."""

    ticks = 0

    @classmethod
    def tick(cls) -> int:
        cls.ticks += 1
        return cls.ticks


class Function:
    """An op with `forward(ctx, *inputs)` and `backward(ctx, grad)`, both static.

    `forward` receives raw data (ndarray for Tensor inputs, float for Scalar inputs, and any
    non-graph argument as given) and returns raw data. `backward` receives the gradient of
    the output and returns one gradient per input (None where there is none). Broadcast
    gradients are reduced to each input's shape by the engine, so `backward` need not.

    >>> class Cube(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return 3 * x ** 2 * grad
    >>> Cube.apply(Scalar(2.0)).data
    8.0

    The instance that `forward` and `backward` receive as `ctx` is also the graph's record of
    the op: the output's `grad_fn`.
    """

    __slots__ = ("__dict__", "created_at", "needs_input_grad", "parents", "saved_tensors")

    parents: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]
    saved_tensors: Any
    created_at: int

    # Built-in ops turn a ValueError of numpy's into a ShapeError naming the op and the shapes.
    shape_checked = False

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        for method in ("forward", "backward"):
            if not hasattr(cls, method):
                raise TypeError(f"{cls.__name__} must define a static `{method}(ctx, ...)`")

    def save_for_backward(self, *values: Any) -> None:
        """Keep raw values for `backward`; they come back as `ctx.saved_tensors`."""
        self.saved_tensors = values

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[Function | Node | None, ...]:
        """The creators of this op's inputs (the leaf itself for a leaf, None for a constant)."""
        return tuple(
            (p._ctx or p) if isinstance(p, Node) and need else None
            for p, need in zip(self.parents, self.needs_input_grad)
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run the op on Scalars, Tensors and constants; record it if any input needs grad."""
        ctx = object.__new__(cls)
        ctx.saved_tensors = ()
        raw = []
        needs = []
        out_type = None
        any_grad = False
        for arg in args:
            if isinstance(arg, Node):
                if out_type is None:
                    out_type = arg._output_type
                raw.append(arg.data)
                needs.append(arg.requires_grad)
                any_grad = any_grad or arg.requires_grad
            else:
                raw.append(arg)
                needs.append(False)
        if out_type is None:
            raise TypeError(f"{cls.__name__}.apply needs at least one Scalar or Tensor input")
        any_grad = any_grad and state.grad_enabled
        ctx.needs_input_grad = tuple(needs) if any_grad else (False,) * len(needs)
        try:
            data = cls.forward(ctx, *raw)
        except ValueError as error:
            if cls.shape_checked and not isinstance(error, ShapeError):
                raise _shape_error(cls.__name__, args, error) from error
            raise
        out = out_type._from_op_output(data)
        if state.anomaly:
            _check_forward(cls.__name__, ctx, args, out.data)
        if any_grad:
            ctx.parents = args
            ctx.created_at = Clock.ticks
            out.requires_grad = True
            out._ctx = ctx
        return out


def _shape_of(arg: Any) -> Any:
    return getattr(arg.data if isinstance(arg, Node) else arg, "shape", type(arg).__name__)


def _shape_error(op: str, args: tuple[Any, ...], error: ValueError) -> ShapeError:
    shapes = " and ".join(str(_shape_of(a)) for a in args)
    return ShapeError(f"{op}: cannot apply to shapes {shapes} ({error})")


def creation_site() -> str:
    """The innermost stack frame outside tinygrad_rnn, as 'file:line in function: code'."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if "/tinygrad_rnn/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "unknown"


def _nonfinite(value: Any) -> str | None:
    array = np.asarray(value)
    if array.dtype.kind not in "fc":
        return None
    if np.isnan(array).any():
        return "NaN"
    if np.isinf(array).any():
        return "Inf"
    return None


def _check_forward(op: str, ctx: Function, args: tuple[Any, ...], output: Any) -> None:
    ctx.__dict__["anomaly_site"] = site = creation_site()
    for index, arg in enumerate(args):
        bad = _nonfinite(arg.data if isinstance(arg, Node) else arg)
        if bad:
            raise AnomalyError(
                f"{op}: input {index} (shape {_shape_of(arg)}) contains {bad}; "
                f"op created at {site}"
            )
    bad = _nonfinite(output)
    if bad:
        shapes = ", ".join(str(_shape_of(a)) for a in args)
        raise AnomalyError(
            f"{op} produced {bad} in its forward output from finite inputs of shapes {shapes}; "
            f"op created at {site}"
        )


def check_backward(ctx: Function, grads: tuple[Any, ...]) -> None:
    """Anomaly mode's check of the gradients one op's backward returned."""
    for index, grad in enumerate(grads):
        bad = None if grad is None else _nonfinite(getattr(grad, "values", grad))
        if bad:
            shapes = ", ".join(str(_shape_of(a)) for a in ctx.parents)
            site = ctx.__dict__.get("anomaly_site", "unknown (anomaly mode was off in forward)")
            raise AnomalyError(
                f"{type(ctx).__name__}.backward returned {bad} in the gradient of input {index} "
                f"(input shapes {shapes}); op created at {site}"
            )
