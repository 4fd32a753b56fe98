"""`trace`: the graph behind some values as plain nodes and edges, in topological order.

The drawing is made from this structure, and it is public so that a graph can be analysed in
code: which ops ran, in which module and time step, with which shapes, values and gradients.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.mode import scope_labels
from ..autograd.node import Node

STEP_LABEL = re.compile(r"t=(-?\d+)$")  # the scope a recurrent module opens per time step


@dataclass(frozen=True)
class TraceNode:
    """One node of a traced graph: a value (Tensor or Scalar) or an op (the Function that ran).

    `label` is what a drawing shows first: the value's name (or its type when unnamed), or
    the op's name. `cluster` is the scope path the node was created in, outermost first.
    """

    id: str
    kind: str  # "value" or "op"
    label: str
    name: str | None = None
    shape: tuple[int, ...] | None = None  # None for a Scalar and for ops
    dtype: str | None = None
    value: str | None = None
    grad: str | None = None
    detail: str | None = None  # an op's non-graph arguments, e.g. "axis=1"
    cluster: tuple[str, ...] = ()
    is_leaf: bool = False
    requires_grad: bool = False
    obj: Any = field(default=None, repr=False, compare=False)

    @property
    def step(self) -> int | None:
        """The time step t of the innermost `t=...` scope the node is in, or None."""
        for label in reversed(self.cluster):
            match = STEP_LABEL.match(label)
            if match:
                return int(match.group(1))
        return None


@dataclass(frozen=True)
class TraceEdge:
    """An edge in the forward direction: value -> op (as input `index`) or op -> value."""

    src: str
    dst: str
    index: int = 0


@dataclass
class Trace:
    """The nodes (inputs before the ops that use them), edges and root ids of a graph.

    >>> t = trace((x @ w).tanh().sum())
    >>> [n.label for n in t.ops]
    ['MatMul', 'Tanh', 'Sum']
    """

    nodes: list[TraceNode]
    edges: list[TraceEdge]
    roots: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {node.id: node for node in self.nodes}
        self._by_object = {id(node.obj): node for node in self.nodes}
        self._inputs: dict[str, list[TraceEdge]] = {}
        self._consumers: dict[str, list[str]] = {}
        for edge in self.edges:
            self._inputs.setdefault(edge.dst, []).append(edge)
            self._consumers.setdefault(edge.src, []).append(edge.dst)

    def __getitem__(self, node_id: str) -> TraceNode:
        return self._by_id[node_id]

    def __iter__(self) -> Iterator[TraceNode]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def values(self) -> list[TraceNode]:
        return [n for n in self.nodes if n.kind == "value"]

    @property
    def ops(self) -> list[TraceNode]:
        return [n for n in self.nodes if n.kind == "op"]

    @property
    def clusters(self) -> list[tuple[str, ...]]:
        """Every non-empty scope path that holds a node, and each of its enclosing paths."""
        paths: dict[tuple[str, ...], None] = {}
        for node in self.nodes:
            for depth in range(1, len(node.cluster) + 1):
                paths[node.cluster[:depth]] = None
        return list(paths)

    def find(self, obj: Node | Function) -> TraceNode:
        """The trace node of a Tensor, Scalar or op object."""
        node = self._by_object.get(id(obj))
        if node is None or node.obj is not obj:
            raise KeyError(f"{obj!r} is not in this trace")
        return node

    def inputs(self, node_id: str) -> list[str]:
        """The ids of the nodes with an edge into `node_id`, in input order."""
        return [e.src for e in sorted(self._inputs.get(node_id, ()), key=lambda e: e.index)]

    def consumers(self, node_id: str) -> list[str]:
        """The ids of the nodes that `node_id` has an edge into."""
        return list(self._consumers.get(node_id, ()))


def parameter_names(params: Any) -> dict[int, str]:
    """id(tensor) -> dotted name, from a Module (`named_parameters()`) or a name -> Tensor dict."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        items = params.named_parameters()
    elif isinstance(params, Mapping):
        items = params.items()
    else:
        raise TypeError(
            f"params must be a Module or a dict of name -> Tensor, got {type(params).__name__}"
        )
    return {id(tensor): str(name) for name, tensor in items}


def trace(*roots: Node, params: Any = None) -> Trace:
    """The graph that computed `roots`, as nodes and edges in topological order.

    Value nodes are the Tensors and Scalars reachable through each op's inputs (leaves
    included, whether or not they require grad); op nodes are the recorded Functions. Names
    come from `params` (a Module or a dict name -> Tensor: dotted parameter names), else from
    each value's `.name`. Nothing in the graph or its gradients is changed, and the walk is
    iterative, so a graph of any depth can be traced.

    >>> t = trace(loss, params=model)
    >>> [(n.label, n.cluster) for n in t.values][:2]
    [('rnn.weight_ih_l0', ()), ('x', ())]
    """
    for position, root in enumerate(roots):
        if not isinstance(root, Node):
            raise TypeError(f"trace: root {position} is a {type(root).__name__}, not a Tensor or Scalar")
    names = parameter_names(params)
    order, outputs = _forward_order(roots)
    overwritten = _overwritten_values(order)
    ids: dict[int, str] = {}
    nodes: list[TraceNode] = []
    edges: list[TraceEdge] = []
    for obj in order:
        node_id = f"n{len(nodes)}"
        ids[id(obj)] = node_id
        if isinstance(obj, Node):
            nodes.append(_value_node(node_id, obj, names, overwritten.get(id(obj))))
            if obj._ctx is not None:
                edges.append(TraceEdge(ids[id(obj._ctx)], node_id))
        else:
            nodes.append(_op_node(node_id, obj, outputs[id(obj)]))
            for index, parent in enumerate(obj.parents):
                if isinstance(parent, Node):
                    edges.append(TraceEdge(ids[id(parent)], node_id, index))
    return Trace(nodes, edges, roots=[ids[id(root)] for root in roots])


def _forward_order(roots: tuple[Node, ...]) -> tuple[list[Node | Function], dict[int, Node]]:
    """Values and ops, each after all of its inputs (iterative depth-first post-order), and
    id(op) -> the value it produced (an op does not point to its output)."""
    order: list[Node | Function] = []
    outputs: dict[int, Node] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        obj, expanded = stack.pop()
        if expanded:
            order.append(obj)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        stack.append((obj, True))
        if isinstance(obj, Node):
            ctx = obj._ctx
            if ctx is not None and id(ctx) not in seen:
                outputs[id(ctx)] = obj
                stack.append((ctx, False))
        else:
            for parent in reversed(obj.parents):
                if isinstance(parent, Node) and id(parent) not in seen:
                    stack.append((parent, False))
    return order, outputs


def _overwritten_values(order: list[Node | Function]) -> dict[int, str]:
    """id(value) -> the name of the op that wrote its output into the value's array."""
    overwritten = {}
    for obj in order:
        if isinstance(obj, Function):
            position = obj.overwritten_input
            if position is not None:
                overwritten[id(obj.parents[position])] = type(obj).__name__
    return overwritten


def _value_node(node_id: str, value: Node, names: dict[int, str],
                overwritten_by: str | None = None) -> TraceNode:
    name = names.get(id(value)) or value.name
    shaped = value._shaped
    data = value.data
    return TraceNode(
        id=node_id,
        kind="value",
        label=name or type(value).__name__,
        name=name,
        shape=tuple(data.shape) if shaped else None,
        dtype=str(data.dtype) if shaped else None,
        value=summarize(data) if overwritten_by is None else f"overwritten by {overwritten_by}",
        grad=None if value.grad is None else summarize(_raw(value.grad)),
        cluster=scope_labels(value._scope),
        is_leaf=value._ctx is None,
        requires_grad=value.requires_grad,
        obj=value,
    )


def _op_node(node_id: str, ctx: Function, output: Node) -> TraceNode:
    return TraceNode(
        id=node_id,
        kind="op",
        label=type(ctx).__name__,
        detail=_op_detail(ctx),
        cluster=scope_labels(output._scope),
        requires_grad=True,
        obj=ctx,
    )


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Node) else value


def summarize(data: Any, entries: int = 4) -> str:
    """A short text for a value: the number itself, up to `entries` numbers, or min/mean/max.

    >>> summarize(np.array([[1.0, -2.0], [0.5, 3.0], [0.0, 0.0]]))
    'min -2 mean 0.417 max 3'
    """
    if not isinstance(data, np.ndarray):
        return _number(float(data))
    if data.size == 0:
        return "empty"
    if data.dtype.kind == "b":
        return f"{int(data.sum())} of {data.size} true"
    if data.size == 1:
        return _number(float(data.item()))
    if data.size <= entries:
        return "[" + ", ".join(_number(float(v)) for v in data.ravel()) + "]"
    values = data.astype(np.float64, copy=False)
    finite = np.isfinite(values)
    bad = data.size - int(finite.sum())
    if bad == data.size:
        return f"all {data.size} non-finite"
    if bad:
        values = values[finite]
    text = f"min {_number(values.min())} mean {_number(values.mean())} max {_number(values.max())}"
    return text if not bad else f"{text} ({bad} non-finite)"


def _number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.3g}"


_forward_arguments: dict[type, list[str]] = {}


def _argument_names(cls: type) -> list[str]:
    names = _forward_arguments.get(cls)
    if names is None:
        try:
            parameters = list(inspect.signature(cls.forward).parameters.values())[1:]
        except (TypeError, ValueError):
            parameters = []
        names = [p.name for p in parameters if p.kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        _forward_arguments[cls] = names
    return names


def _op_detail(ctx: Function) -> str | None:
    """The op's arguments that are not graph values, e.g. 'axis=1' or 'index=[:, 3]'."""
    names = _argument_names(type(ctx))
    parts = []
    for index, argument in enumerate(ctx.parents):
        if isinstance(argument, Node) or argument is None or argument is False:
            continue
        text = _format_argument(argument)
        parts.append(f"{names[index]}={text}" if index < len(names) else text)
    return ", ".join(parts) or None


def _format_argument(argument: Any) -> str:
    if isinstance(argument, np.ndarray):
        if argument.size <= 4 and argument.ndim <= 1:
            return "[" + ", ".join(str(v) for v in argument.tolist()) + "]"
        return f"{argument.dtype}{tuple(argument.shape)}"
    if isinstance(argument, slice):
        return _format_slice(argument)
    if isinstance(argument, tuple):
        if any(isinstance(a, slice) for a in argument):
            return "[" + ", ".join(_format_argument(a) for a in argument) + "]"
        inner = ", ".join(_format_argument(a) for a in argument)
        return f"({inner},)" if len(argument) == 1 else f"({inner})"
    if argument is Ellipsis:
        return "..."
    if isinstance(argument, float):
        return _number(argument)
    if isinstance(argument, np.dtype) or (isinstance(argument, type) and issubclass(argument, np.generic)):
        return str(np.dtype(argument))
    text = str(argument)
    return text if len(text) <= 24 else text[:21] + "..."


def _format_slice(part: slice) -> str:
    start = "" if part.start is None else str(part.start)
    stop = "" if part.stop is None else str(part.stop)
    step = "" if part.step is None else f":{part.step}"
    return f"{start}:{stop}{step}"
