"""The backward driver: one iterative pass in topological order, for Scalars and Tensors alike."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import AnomalyError, BackwardError, GraphFreedError, InplaceModificationError, ShapeError
from .function import FREED, Clock, Function, check_backward, nonfinite
from .mode import Switches, state
from .node import RETAIN, Node


class IndexGrad:
    """The gradient of `x[index]`: `values` placed at `index` of zeros shaped like `x`.

    Backward of indexing returns this instead of a dense array, so that T slices of one
    tensor (an unrolled sequence) cost O(T) and not O(T^2): the engine adds each slice into
    one buffer.
    """

    __slots__ = ("dtype", "index", "shape", "unique", "values")

    def __init__(self, index: Any, values: np.ndarray, shape: tuple[int, ...], dtype: Any,
                 unique: bool) -> None:
        self.index = index
        self.values = values
        self.shape = shape
        self.dtype = dtype
        self.unique = unique

    def add_into(self, buffer: np.ndarray) -> None:
        if self.unique:
            buffer[self.index] += self.values
        else:
            np.add.at(buffer, self.index, self.values)

    def dense(self) -> np.ndarray:
        buffer = np.zeros(self.shape, dtype=self.dtype)
        self.add_into(buffer)
        return buffer


class ProductGrad:
    """The gradient `left.T @ right` of a 2-D matmul's right operand, not yet multiplied out.

    A weight shared by the T steps of an unrolled sequence gets T such products. The engine
    keeps the factors of small ones and multiplies them out as matmuls of stacked factors:
    with a batch of one, T outer products (the slowest kind of matmul) and T full-size
    additions become T / 64 matmuls of 64 rows.
    """

    __slots__ = ("dtype", "lefts", "partial", "rights", "rows", "shape")

    # Products are stacked until they hold this many rows, then multiplied out into `partial`:
    # a stack of 64 rows is as efficient as a matmul of these shapes gets (more rows gain
    # nothing and cost memory), and a product of half that many rows or more is a proper
    # matmul already, which is multiplied out alone rather than copied into a stack.
    stack_rows = 64

    def __init__(self, left: np.ndarray, right: np.ndarray, dtype: Any) -> None:
        self.lefts = [left]
        self.rights = [right]
        self.rows = left.shape[0]
        self.partial: np.ndarray | None = None
        self.shape = (left.shape[1], right.shape[1])
        self.dtype = dtype

    def merge(self, other: ProductGrad) -> None:
        """Take on `other`'s products as well."""
        if other.partial is not None:
            self._add_partial(other.partial)
        if other.rows >= self.stack_rows // 2:
            for left, right in zip(other.lefts, other.rights):
                self._add_partial(left.T @ right)
            return
        self.lefts += other.lefts
        self.rights += other.rights
        self.rows += other.rows
        if self.rows >= self.stack_rows:
            self._fold()

    def _fold(self) -> None:
        """Multiply out the factors held so far into `partial`."""
        if len(self.lefts) == 1:
            product = self.lefts[0].T @ self.rights[0]
        else:
            product = np.concatenate(self.lefts).T @ np.concatenate(self.rights)
        self._add_partial(product)
        self.lefts, self.rights, self.rows = [], [], 0

    def _add_partial(self, product: np.ndarray) -> None:
        if self.partial is None:
            self.partial = product
        else:
            self.partial += product  # `partial` is always a product made here

    def dense(self) -> np.ndarray:
        if self.partial is None and len(self.lefts) == 1:  # a single product, the common case
            product = self.lefts[0].T @ self.rights[0]
        else:
            if self.lefts:
                self._fold()
            product = self.partial
        return product if product.dtype == self.dtype else product.astype(self.dtype)

    def add_into(self, buffer: np.ndarray) -> None:
        buffer += self.dense()

    @property
    def values(self) -> np.ndarray:
        """The gradient as an array (what anomaly mode checks)."""
        return self.dense()


# Gradients that backward functions return unevaluated; made dense by `dense()`.
_LAZY = (IndexGrad, ProductGrad)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` over the axes that broadcasting added or stretched, giving `shape`.

    The one place where a broadcast gradient is reduced back to its input.
    """
    # np.add.reduce is ndarray.sum without its Python-level wrapper.
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = np.add.reduce(grad, axis=0 if extra == 1 else tuple(range(extra)))
    if 1 in shape:
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if stretched:
            grad = np.add.reduce(grad, axis=stretched, keepdims=True)
    return grad


def _tensor_grad(ctx: Function, parent: Node, grad: Any) -> Any:
    """Bring one gradient from `ctx.backward` to the shape and dtype of its input `parent`."""
    data = parent.data
    if type(grad) in _LAZY:
        if grad.shape != data.shape:
            raise ShapeError(
                f"{type(ctx).__name__}.backward returned a gradient of shape {grad.shape} for "
                f"input {_position(ctx, parent)} of shape {data.shape}"
            )
        return grad
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad, dtype=data.dtype)
    if grad.shape != data.shape:
        grad_shape = grad.shape
        try:
            grad = unbroadcast(grad, data.shape)
        except (ValueError, IndexError):
            grad = None
        if grad is None or grad.shape != data.shape:
            raise ShapeError(
                f"{type(ctx).__name__}.backward returned a gradient of shape {grad_shape} "
                f"that cannot be reduced to input {_position(ctx, parent)}'s shape {data.shape}"
            )
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    if type(grad) is not np.ndarray:  # a reduction to 0-d gives a numpy scalar
        grad = np.asarray(grad)
    return grad


def _position(ctx: Function, parent: Node) -> int:
    return next(i for i, p in enumerate(ctx.parents) if p is parent)


def _seed(root: Node, gradient: Any) -> Any:
    if gradient is None:
        seed = root._output_type._unit_seed(root.data)
        if seed is not None:
            return seed
        raise BackwardError(
            f"backward() on a value of shape {np.shape(root.data)} needs a `gradient` "
            f"of that shape (d loss / d value); call it on a scalar loss or pass gradient="
        )
    seed = root._output_type._check_seed(root.data, gradient.data if isinstance(gradient, Node) else gradient)
    if Switches.changed and state.anomaly:
        bad = nonfinite(seed)
        if bad:  # otherwise the first op's backward would be blamed for it
            raise AnomalyError(f"backward: the `gradient` passed in contains {bad}; no op made it")
    return seed


def _run_hooks(node: Node, grad: Any) -> Any:
    """Call the node's hooks in order, each may replace the gradient; then, if the node retains
    its gradient, add the final one into `.grad` (as PyTorch does, whatever the hook order)."""
    wrap = node._output_type._wrap_grad
    retain = False
    for hook in list(node._hooks or ()):
        if hook is RETAIN:
            retain = True
            continue
        replaced = hook(wrap(grad))
        if replaced is not None:
            grad = replaced.data if isinstance(replaced, Node) else replaced
            if node._shaped:
                grad = np.array(grad, dtype=node.data.dtype)
            if np.shape(grad) != np.shape(node.data):
                raise ShapeError(
                    f"a hook returned a gradient of shape {np.shape(grad)} for a value of "
                    f"shape {np.shape(node.data)}"
                )
    if retain:
        node._accumulate_leaf(grad, False)
    return grad


def _check_not_modified(ctx: Function) -> None:
    for saved in ctx.saved_tensors:
        if type(saved) is np.ndarray and Clock.modified_since(saved, ctx.created_at):
            raise InplaceModificationError(
                f"a value of shape {saved.shape} saved by {type(ctx).__name__} for backward "
                f"was modified in place (directly or through a view of the same memory) after "
                f"the op ran; clone it before modifying, or modify it after backward"
            )


def run_backward(
    roots: Sequence[Node],
    seeds: Sequence[Any],
    retain_graph: bool,
    targets: Iterable[Node] | None = None,
) -> dict[Node, Any] | None:
    """Propagate `seeds` from `roots` through the graph.

    Without `targets`, leaf gradients accumulate into `.grad`; with `targets`, their raw
    gradients are returned and no `.grad` changes.

    Ops run latest first (by `Function.sequence`), so every op that consumes a value has
    passed its gradient on before the value's own op runs: no separate topological sort, and
    only the frontier of the graph is ever held here. Iterative: no depth limit.
    """
    wanted = None if targets is None else set(targets)
    found: dict[Node, Any] = {}
    grads: dict[Node, Any] = {}
    owned: set[Node] = set()  # nodes whose buffer was allocated here and may be added into
    frontier: list[tuple[int, Node]] = []  # (sequence, node) of non-leaves holding a gradient
    leaves: list[Node] = []  # leaves holding a gradient, finished after the loop
    for root, seed in zip(roots, seeds):
        if root not in grads:
            if root._ctx is None:
                leaves.append(root)
            else:
                frontier.append((root._ctx.sequence, root))
            grads[root] = seed
        else:
            _accumulate(grads, owned, root, seed)
    heapq.heapify(frontier)
    anomaly = Switches.changed and state.anomaly
    ndarray = np.ndarray
    pop, push = heapq.heappop, heapq.heappush
    special = wanted is not None  # every node must be looked up in `wanted`
    while frontier:
        node = pop(frontier)[1]
        grad = grads.pop(node)
        if special or node._hooks or type(grad) in _LAZY:
            grad = _finish_grad(node, grad, owned, wanted, found)
        ctx = node._ctx
        if ctx.saved_tensors is FREED:
            raise GraphFreedError(
                f"backward through {type(ctx).__name__} a second time: its saved values were "
                f"freed by the first backward; pass retain_graph=True to the first call"
            )
        if Clock.ticks > ctx.created_at:
            _check_not_modified(ctx)
        in_grads = type(ctx).backward(ctx, grad)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        if anomaly:
            check_backward(ctx, in_grads)
        inputs = ctx._inputs
        if inputs is None:  # an op of up to four inputs keeps them in slots: see Function.parents
            inputs = (ctx._input0, ctx._input1, ctx._input2, ctx._input3)
        for parent, in_grad, needed in zip(inputs, in_grads, ctx.needs_input_grad):
            if not needed or in_grad is None:
                continue
            if parent._shaped:
                data = parent.data
                # The common case, a dense array already of the input's shape and dtype, is
                # tested inline; everything else goes through `_tensor_grad`.
                if (type(in_grad) is not ndarray or in_grad.shape != data.shape
                        or in_grad.dtype is not data.dtype):
                    reduced = _tensor_grad(ctx, parent, in_grad)
                    if (parent not in grads and type(reduced) is ndarray
                            and type(in_grad) is ndarray and reduced is not in_grad):
                        owned.add(parent)  # a sum or a cast made just now: free to add into
                    in_grad = reduced
            current = grads.get(parent)
            if current is None:
                grads[parent] = in_grad
                parent_ctx = parent._ctx
                if parent_ctx is None:
                    leaves.append(parent)
                else:
                    push(frontier, (parent_ctx.sequence, parent))
            elif type(current) is float:  # a Scalar's: plain addition
                grads[parent] = current + in_grad
            else:
                _accumulate(grads, owned, parent, in_grad)
        if not retain_graph:
            ctx.saved_tensors = FREED
    for leaf in leaves:
        grad = grads.pop(leaf)
        if special or leaf._hooks:
            grad = _finish_grad(leaf, grad, owned, wanted, found)
        elif type(grad) in _LAZY:
            grad = grad.dense()
            owned.add(leaf)
        if wanted is None:
            leaf._accumulate_leaf(grad, leaf in owned)
    return found if wanted is not None else None


def _finish_grad(node: Node, grad: Any, owned: set[Node], wanted: set[Node] | None,
                 found: dict[Node, Any]) -> Any:
    """A node's complete gradient, made dense, passed through its hooks, and noted if wanted."""
    if type(grad) in _LAZY:
        grad = grad.dense()
        owned.add(node)
    if node._hooks:
        grad = _run_hooks(node, grad)
    if wanted is not None and node in wanted:
        found[node] = grad
    return grad


def _accumulate(grads: dict[Node, Any], owned: set[Node], node: Node, grad: Any) -> None:
    """Add one more gradient contribution for `node` into `grads`."""
    current = grads.get(node)
    if current is None:
        grads[node] = grad
        return
    if not node._shaped:  # a Scalar's gradient: a float, or a numpy scalar a backward returned
        grads[node] = current + grad
        return
    if type(current) is ProductGrad and type(grad) is ProductGrad:
        current.merge(grad)  # made by a backward for this node alone, so it may be extended
        return
    if node in owned:
        if type(grad) in _LAZY:
            grad.add_into(current)
        else:
            current += grad
        return
    if type(current) in _LAZY:
        current = current.dense()
        if type(grad) in _LAZY:
            grad.add_into(current)
        else:
            current += grad
    elif type(grad) in _LAZY:
        current = current.copy()
        grad.add_into(current)
    else:
        current = current + grad
        if type(current) is not np.ndarray:  # 0-d operands give a numpy scalar, which `+=` rebinds
            current = np.asarray(current)
    grads[node] = current
    owned.add(node)


def backward(root: Node, gradient: Any = None, retain_graph: bool = False) -> None:
    """`root.backward(...)`: see `Node.backward`."""
    if not root.requires_grad:
        raise BackwardError(
            "backward() on a value that does not require grad: no input of the computation "
            "had requires_grad=True (or it ran under no_grad)"
        )
    run_backward([root], [_seed(root, gradient)], retain_graph)


def grad(
    outputs: Node | Sequence[Node],
    inputs: Node | Sequence[Node],
    grad_outputs: Any = None,
    retain_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """d(outputs)/d(inputs) as a tuple, one per input, without touching any `.grad`.

    >>> (dx,) = grad(y, [x])
    """
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    ins = [inputs] if isinstance(inputs, Node) else list(inputs)
    if not isinstance(grad_outputs, (list, tuple)):  # None, or one gradient for each output
        grad_outputs = [grad_outputs] * len(outs)
    for node in ins:
        if not node.requires_grad:
            raise BackwardError("grad(): an input does not require grad")
    for out in outs:
        if not out.requires_grad:
            raise BackwardError("grad(): an output does not require grad")
    seeds = [_seed(out, g) for out, g in zip(outs, grad_outputs)]
    found = run_backward(outs, seeds, retain_graph, targets=ins) or {}
    result = []
    for node in ins:
        if node not in found:
            if not allow_unused:
                raise BackwardError(
                    "grad(): an input was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        else:
            result.append(node._output_type._wrap_grad(found[node]))
    return tuple(result)
