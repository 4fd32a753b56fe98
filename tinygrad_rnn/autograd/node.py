"""`Node`: what `Scalar` and `Tensor` share as values in the graph."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .mode import Switches, state

if TYPE_CHECKING:
    from .function import Function

RETAIN = object()  # marker in a node's hook list: keep this non-leaf's gradient in `.grad`


class Node:
    """A value in the graph: its data, its gradient, and the op (`grad_fn`) that created it.

    Leaves have no creator; a leaf with `requires_grad` collects its gradient in `.grad`.
    A node holds its creator and the creator holds its inputs, never the other way round,
    so a finished graph is freed by reference counting alone.
    """

    __slots__ = (
        "__weakref__",
        "_ctx",
        "_hooks",
        "_scope",
        "_version",
        "data",
        "grad",
        "name",
        "requires_grad",
    )

    data: Any
    grad: Any
    requires_grad: bool
    _ctx: Function | None
    _version: int
    _scope: tuple[str, ...] | None
    _hooks: list[Any] | None
    name: str | None

    # The type of value an op returns when this node is among its inputs.
    _output_type: type[Node]
    # Whether data has a shape (Tensor) or is a float (Scalar).
    _shaped: bool

    # The raw data type of this kind of value, and its conversion of anything else an op returns.
    _raw_type: type
    _as_raw: Callable[[Any], Any]

    def _init_leaf(self, data: Any, requires_grad: bool, name: str | None) -> None:
        """Fill every slot of a new leaf. (Ops fill their outputs' slots inline: it is hot.)"""
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._version = 0
        self._scope = state.scope if Switches.changed else None
        self._hooks = None
        self.name = name

    @classmethod
    def _constant(cls, data: Any) -> Any:
        """A new leaf holding `data` (converted to the raw type) that needs no grad."""
        if type(data) is not cls._raw_type:
            data = cls._as_raw(data)
        out = object.__new__(cls)
        out._init_leaf(data, False, None)
        return out

    @property
    def grad_fn(self) -> Function | None:
        """The op that created this value (None for a leaf)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        """True for values created by the user rather than by an op."""
        return self._ctx is None

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        `gradient` is required when `self` is not a single number. With `retain_graph=False`
        the saved values are freed and a second backward through this graph raises.
        """
        engine.backward(self, gradient, retain_graph)

    def register_hook(self, hook: Callable[[Any], Any]) -> Callable[[], None]:
        """Call `hook(grad)` when this value's gradient is computed; a non-None return replaces it.

        Returns a function that removes the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a value that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        hooks = self._hooks

        def remove() -> None:
            if hook in hooks:
                hooks.remove(hook)

        return remove

    def retain_grad(self) -> None:
        """Keep this intermediate value's gradient in `.grad` after backward (leaves always do)."""
        if self._ctx is None:
            return
        if self._hooks is None:
            self._hooks = []
        if RETAIN not in self._hooks:
            self._hooks.append(RETAIN)

    @property
    def retains_grad(self) -> bool:
        return self._hooks is not None and RETAIN in self._hooks

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (sets `.grad` to None)."""
        self.grad = None


# Imported last because the engine imports this module: an import inside `backward` would cost
# more than the rest of a small model's backward call.
from . import engine  # noqa: E402
