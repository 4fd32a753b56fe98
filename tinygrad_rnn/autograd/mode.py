"""Per-thread switches of the engine: grad mode, anomaly mode and the current drawing scope."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadState(threading.local):
    grad_enabled: bool = True
    anomaly: bool = False
    scope: tuple[str | int, ...] | None = None
    departed: bool = False  # whether any of the three differs from its default


state = _ThreadState()


class Switches:
    """How many threads have a switch away from its default, counted over all threads.

    While none has, ops skip the thread-local reads of `state` (each costs several times a
    plain attribute read) and take the defaults: grad on, anomaly off, no scope. Every
    change of a switch goes through `set_switch`, which keeps the count. A thread that ends
    with a switch still set keeps it raised: ops then read the switches, slower but right.
    """

    changed = 0
    _lock = threading.Lock()


def set_switch(name: str, value: Any) -> None:
    """Set one of this thread's switches (`grad_enabled`, `anomaly` or `scope`)."""
    setattr(state, name, value)
    departed = bool(not state.grad_enabled or state.anomaly or state.scope is not None)
    if departed is not state.departed:
        state.departed = departed
        with Switches._lock:  # `+=` on a shared attribute is not atomic between threads
            Switches.changed += 1 if departed else -1


class _GradMode:
    """Context manager and decorator that sets grad mode for the current thread."""

    enabled: bool

    def __enter__(self) -> None:
        self._previous = state.grad_enabled
        set_switch("grad_enabled", self.enabled)

    def __exit__(self, *exc: object) -> None:
        set_switch("grad_enabled", self._previous)

    def __call__(self, fn: F) -> F:
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = state.grad_enabled
            set_switch("grad_enabled", enabled)
            try:
                return fn(*args, **kwargs)
            finally:
                set_switch("grad_enabled", previous)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Build no graph inside this block (this thread only).

    >>> with no_grad():
    ...     y = x * 2          # y.requires_grad is False
    """

    enabled = False


class enable_grad(_GradMode):
    """Build the graph again inside a `no_grad` block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """`with set_grad_enabled(False):` is `no_grad`; called bare it sets the mode for the thread."""

    def __init__(self, mode: bool) -> None:
        self.enabled = bool(mode)
        self._previous = state.grad_enabled
        set_switch("grad_enabled", self.enabled)

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: F) -> F:
        set_switch("grad_enabled", self._previous)  # as a decorator it sets the mode inside `fn` only
        return super().__call__(fn)


def is_grad_enabled() -> bool:
    """Whether ops in this thread record a graph."""
    return state.grad_enabled


class detect_anomaly:
    """Raise `AnomalyError` at the first op whose output or gradient is NaN or Inf.

    While on, each op records where it was created, so the error points at the user's line.
    Normal runs pay nothing for this.

    >>> with detect_anomaly():
    ...     loss.backward()
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        self._previous = state.anomaly
        set_switch("anomaly", self.enabled)

    def __exit__(self, *exc: object) -> None:
        set_switch("anomaly", self._previous)


class set_detect_anomaly:
    """Turn anomaly mode on or off for the current thread; as `with set_detect_anomaly(True):`
    only until the block ends, as in PyTorch.

    >>> with set_detect_anomaly(True):
    ...     loss.backward()
    """

    def __init__(self, enabled: bool) -> None:
        self._previous = state.anomaly
        set_switch("anomaly", bool(enabled))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        set_switch("anomaly", self._previous)


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in this thread."""
    return state.anomaly


class scope:
    """Group the values created inside this block under `label` (nested blocks nest).

    Modules open one per call and recurrent modules one per time step (`t=3`); graph
    drawings turn them into clusters.

    >>> with scope("decoder step 4"):
    ...     y = cell(x, h)
    """

    def __init__(self, label: str) -> None:
        self.label = str(label)

    def __enter__(self) -> None:
        self._previous = state.scope
        set_switch("scope", (self.label,) if self._previous is None else (*self._previous, self.label))

    def __exit__(self, *exc: object) -> None:
        set_switch("scope", self._previous)


def current_scope() -> tuple[str, ...]:
    """The labels of the scopes open in this thread, outermost first."""
    return scope_labels(state.scope)


def scope_labels(path: tuple[str | int, ...] | None) -> tuple[str, ...]:
    """A recorded scope path as labels. Recurrent modules record time step t as the int itself
    (it is the step's row index too, so a long sequence keeps no label string per step): it
    reads `t=3`."""
    if not path:
        return ()
    return tuple(f"t={part}" if type(part) is int else part for part in path)
