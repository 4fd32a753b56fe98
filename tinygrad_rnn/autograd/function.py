"""`Function`: the base of every op, and `apply`, which runs an op and records it in the graph."""

from __future__ import annotations

import inspect
import itertools
import linecache
import math
import sys
import weakref
from typing import Any, ClassVar

import numpy as np

from ..errors import AnomalyError, DTypeError, ShapeError
from .mode import Switches, scope_labels, state
from .node import Node

FREED = object()  # `saved_tensors` after backward has released them
_new = object.__new__
# Recorded ops are numbered -1, -2, ... in the order they run. An op's inputs always exist before
# it runs, so the smallest number still waiting is an op no pending op consumes: backward pops
# them from a min-heap, latest op first, with no separate topological sort.
_sequence = itertools.count(-1, -1)
_SHARED_NEEDS: dict[tuple[bool, ...], tuple[bool, ...]] = {
    needs: needs for needs in itertools.chain.from_iterable(
        itertools.product((False, True), repeat=count) for count in range(5)
    )
}


def _memory_owner(array: np.ndarray) -> np.ndarray:
    """The ndarray that owns the memory `array` views (`array` itself if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class Clock:
    """Counts in-place modifications; an op records the count when it runs.

    `modified` maps each modified memory owner (by id) to the tick of its last in-place
    modification, so that backward can tell whether an array an op saved changed after the
    op ran, whether it was modified directly or through another view of the same memory.
    """

    ticks = 0
    modified: ClassVar[dict[int, tuple[int, weakref.ref]]] = {}

    @classmethod
    def tick(cls, array: np.ndarray | None = None) -> int:
        """Count one in-place modification (of `array`'s memory, when given)."""
        cls.ticks += 1
        if array is not None:
            owner = _memory_owner(array)
            key = id(owner)

            def forget(_: weakref.ref) -> None:
                cls.modified.pop(key, None)

            cls.modified[key] = (cls.ticks, weakref.ref(owner, forget))
        return cls.ticks

    @classmethod
    def modified_since(cls, array: np.ndarray, tick: int) -> bool:
        """Whether `array`'s memory was modified in place after `tick`."""
        owner = _memory_owner(array)
        entry = cls.modified.get(id(owner))
        return entry is not None and entry[0] > tick and entry[1]() is owner


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

    __slots__ = (
        "__weakref__", "_input0", "_input1", "_input2", "_input3", "_inputs", "anomaly_site", "created_at",
        "needs_input_grad", "saved_tensors", "sequence",
    )

    needs_input_grad: tuple[bool, ...]
    saved_tensors: Any
    created_at: int
    sequence: int  # order of recording, see `_sequence`

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
    def overwritten_input(self) -> int | None:
        """The position of the input whose array this op wrote its output into, if it did
        (its value node then holds the output's values)."""
        return None

    @property
    def parents(self) -> tuple[Any, ...]:
        """The op's inputs as given to `apply`: Scalars, Tensors and constants."""
        inputs = self._inputs
        if inputs is None:  # up to four inputs, kept in slots (see `apply`)
            return (self._input0, self._input1, self._input2, self._input3)[: len(self.needs_input_grad)]
        return inputs

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
        ctx = _new(cls)
        ctx.saved_tensors = ()
        # Binary ops, unary ops and ops of a node and two more inputs (addmm, a reduction with
        # its axis and keepdims) are nearly every op a model runs: they skip the generic scan.
        # This is the per-op overhead of the whole library.
        count = len(args)
        first = args[0] if count else None
        if count == 2:
            second = args[1]
            if isinstance(first, Node):
                out_type = first._output_type
                if isinstance(second, Node):
                    raw = (first.data, second.data)
                    needs = (first.requires_grad, second.requires_grad)
                else:
                    raw = (first.data, second)
                    needs = (first.requires_grad, False)
            elif isinstance(second, Node):  # a constant on the left: 1 - x
                out_type = second._output_type
                raw = (first, second.data)
                needs = (False, second.requires_grad)
            else:
                out_type, raw, needs = _scan_inputs(cls, args)
        elif count == 1 and isinstance(first, Node):
            out_type = first._output_type
            raw = (first.data,)
            needs = (first.requires_grad,)
        elif isinstance(first, Node) and (count == 3 or (count == 4 and not isinstance(args[3], Node))):
            # addmm, a reduction with its axis and keepdims; addmm of one row has the row last
            out_type = first._output_type
            second, third = args[1], args[2]
            second_node, third_node = isinstance(second, Node), isinstance(third, Node)
            raw = (first.data, second.data if second_node else second,
                   third.data if third_node else third)
            needs = (first.requires_grad, second_node and second.requires_grad,
                     third_node and third.requires_grad)
            if count == 4:
                raw += (args[3],)
                needs += (False,)
        else:
            out_type, raw, needs = _scan_inputs(cls, args)
        if Switches.changed:  # some thread has a switch off its default: read this thread's
            grad_enabled, anomaly, scope = state.grad_enabled, state.anomaly, state.scope
        else:
            grad_enabled, anomaly, scope = True, False, None
        any_grad = True in needs and grad_enabled
        if not any_grad:
            needs = (False,) * count
        # One shared tuple per pattern: fewer objects per op to allocate and for the cyclic
        # garbage collector to visit.
        ctx.needs_input_grad = _SHARED_NEEDS.get(needs, needs)
        try:
            data = cls.forward(ctx, *raw)
        except ValueError as error:
            if cls.shape_checked and not isinstance(error, ShapeError):
                raise _shape_error(cls.__name__, args, error) from error
            raise
        except TypeError as error:
            if cls.shape_checked and not isinstance(error, DTypeError):
                raise _dtype_error(cls.__name__, args, error) from error
            raise
        if type(data) is not out_type._raw_type:
            data = out_type._as_raw(data)
        # The output's slots are filled here rather than in a method: this is the hottest code.
        out = _new(out_type)
        out.data = data
        out.grad = None
        out._version = 0
        out._scope = scope
        out._hooks = None
        out.name = None
        if anomaly:
            _check_forward(cls.__name__, ctx, args, data)
        if any_grad:
            # Up to four inputs go in slots, not in the `args` tuple: one object fewer per op for
            # the cyclic garbage collector to scan, which in a large graph of small ops costs
            # more than the ops themselves.
            if count <= 4:
                ctx._input0 = first
                ctx._input1 = args[1] if count >= 2 else None
                ctx._input2 = args[2] if count >= 3 else None
                ctx._input3 = args[3] if count == 4 else None
                ctx._inputs = None
            else:
                ctx._inputs = args
            ctx.created_at = Clock.ticks
            ctx.sequence = next(_sequence)
            out.requires_grad = True
            out._ctx = ctx
        else:
            out.requires_grad = False
            out._ctx = None
        return out


def _scan_inputs(cls: type, args: tuple[Any, ...]) -> tuple[type[Node], list[Any], tuple[bool, ...]]:
    """The output type (that of the first node), the raw inputs and which need grad."""
    out_type = None
    raw = []
    needs = []
    for arg in args:
        if isinstance(arg, Node):
            if out_type is None:
                out_type = arg._output_type
            raw.append(arg.data)
            needs.append(arg.requires_grad)
        else:
            raw.append(arg)
            needs.append(False)
    if out_type is None:
        raise TypeError(f"{cls.__name__}.apply needs at least one Scalar or Tensor input")
    return out_type, raw, tuple(needs)


def _shape_of(arg: Any) -> Any:
    return getattr(arg.data if isinstance(arg, Node) else arg, "shape", type(arg).__name__)


def _shape_error(op: str, args: tuple[Any, ...], error: ValueError) -> ShapeError:
    shapes = " and ".join(str(_shape_of(a)) for a in args)
    return ShapeError(f"{op}: cannot apply to shapes {shapes} ({error})")


def _dtype_error(op: str, args: tuple[Any, ...], error: TypeError) -> DTypeError:
    operands = " and ".join(_describe(a) for a in args)
    return DTypeError(f"{op}: cannot apply to {operands} ({error})")


# -- anomaly mode ------------------------------------------------------------------------------
# Only ever called while anomaly mode is on: normal runs pay one flag test per op, nothing more.

_PACKAGE = __name__.partition(".")[0]
# Frames of these modules say nothing about which model code created an op.
_CORE = tuple(f"{_PACKAGE}.{part}" for part in ("autograd.", "ops.", "tensor", "scalar"))

Frame = tuple[str, int, str]  # file, line, function


def _record_site() -> tuple[Frame | None, Frame | None, tuple[str, ...]]:
    """Where the running op is being created: the first frame outside the package, the innermost
    package frame above the core (a module's `forward`, say), and the open scopes."""
    via = None
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        code = frame.f_code
        if module != _PACKAGE and not module.startswith(_PACKAGE + "."):
            return (code.co_filename, frame.f_lineno, code.co_name), via, scope_labels(state.scope)
        if via is None and not module.startswith(_CORE):
            via = (code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None, via, scope_labels(state.scope)


def _frame_text(frame: Frame) -> str:
    filename, lineno, function = frame
    code = linecache.getline(filename, lineno).strip()
    return f"{filename}:{lineno} in {function}" + (f": {code}" if code else "")


def creation_site() -> str:
    """The caller's line outside tinygrad_rnn, as 'file:line in function: code'."""
    user, _, _ = _record_site()
    return "unknown" if user is None else _frame_text(user)


def _site_text(ctx: Function) -> str:
    site = getattr(ctx, "anomaly_site", None)
    if site is None:
        return "\n  created with anomaly mode off, so its creation site was not recorded"
    user, via, scope = site
    lines = [f"created at {_frame_text(user)}" if user else "created inside tinygrad_rnn"]
    if via is not None:
        lines.append(f"via {_frame_text(via)}")
    if scope:
        lines.append(f"in scope {' > '.join(scope)}")
    return "".join(f"\n  {line}" for line in lines)


def nonfinite(value: Any) -> str | None:
    """'NaN (2 of 12 elements, first at (0, 3))' if `value` has NaN or Inf, else None."""
    if type(value) is float:
        if math.isfinite(value):
            return None
        return "NaN" if math.isnan(value) else "Inf"
    if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind not in "fc":
        return None
    bad = ~np.isfinite(value)
    if not bad.any():
        return None
    nan = bool(np.isnan(value).any())
    inf = bool(np.isinf(value).any())
    kind = "NaN and Inf" if nan and inf else "NaN" if nan else "Inf"
    if value.size == 1:
        return kind
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{kind} ({int(bad.sum())} of {value.size} elements, first at {first})"


def _input_name(ctx: Function, index: int) -> str:
    """'input 1 `b`': the position and, where the signature tells it, the name in `forward`."""
    try:
        parameters = list(inspect.signature(type(ctx).forward).parameters.values())[1:]
    except (TypeError, ValueError):
        parameters = []
    if index < len(parameters) and parameters[index].kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
    ):
        return f"input {index} `{parameters[index].name}`"
    return f"input {index}"


def _describe(value: Any) -> str:
    if isinstance(value, Node):
        if not value._shaped:
            return type(value).__name__
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        return f"shape {value.shape} {value.dtype}"
    return type(value).__name__


def _describe_inputs(args: tuple[Any, ...]) -> str:
    return ", ".join(_describe(a) for a in args if isinstance(a, (Node, np.ndarray, float)))


def _check_forward(op: str, ctx: Function, args: tuple[Any, ...], output: Any) -> None:
    """Anomaly mode's check of one op's output, and of its inputs when the output is bad;
    records where the op was created. A NaN input that the op drops (padding masked by
    `where`) does not spread, so it is no anomaly."""
    ctx.anomaly_site = _record_site()
    produced = nonfinite(output)
    if produced is None:
        return
    for index, arg in enumerate(args):
        bad = nonfinite(arg.data if isinstance(arg, Node) else arg)
        if bad:
            raise AnomalyError(
                f"{op}: {_input_name(ctx, index)} ({_describe(arg)}) contains {bad} before the "
                f"op ran; it came from outside the ops checked in anomaly mode (input data, a "
                f"leaf edited in place, or a value computed with anomaly mode off){_site_text(ctx)}"
            )
    raise AnomalyError(
        f"{op} produced {produced} in its output "
        f"({'Scalar' if type(output) is float else _describe(output)}) from finite inputs "
        f"({_describe_inputs(args)}){_site_text(ctx)}"
    )


def check_backward(ctx: Function, grads: tuple[Any, ...]) -> None:
    """Anomaly mode's check of the gradients one op's backward returned."""
    for index, grad in enumerate(grads):
        bad = None if grad is None else nonfinite(getattr(grad, "values", grad))
        if bad:
            raise AnomalyError(
                f"{type(ctx).__name__}.backward produced {bad} in the gradient for "
                f"{_input_name(ctx, index)} ({_describe(ctx.parents[index])}); the op's inputs: "
                f"{_describe_inputs(ctx.parents)}{_site_text(ctx)}"
            )
