"""Gradient checks for users' own ops and models: central differences and reference gradients."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.engine import grad as autograd_grad
from ..autograd.mode import no_grad
from ..autograd.node import Node
from ..errors import DTypeError


class GradcheckError(AssertionError):
    """The engine's gradient and the reference disagree; the message names the worst element."""


def _items(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _projections(items: Sequence[Any], seed: int) -> list[Any]:
    """Fixed random weights for each element of each output that requires grad (None for the
    other outputs), away from zero and of mixed sign."""
    rng = np.random.default_rng(seed)
    weights = []
    for item in items:
        if not (isinstance(item, Node) and item.requires_grad):
            weights.append(None)
            continue
        shape = np.shape(item.data)
        w = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        weights.append(float(w) if not item._shaped else w)
    return weights


def _projected_value(fn: Callable[..., Any], inputs: Sequence[Any], weights: Sequence[Any]) -> float:
    with no_grad():
        items = _items(fn(*inputs))
    return float(sum(np.sum(np.asarray(item.data, dtype=np.float64) * w)
                     for item, w in zip(items, weights) if w is not None))


def _differentiable(inputs: Sequence[Any]) -> list[int]:
    chosen = []
    for index, value in enumerate(inputs):
        if isinstance(value, Node) and value.requires_grad:
            if value._shaped and value.data.dtype != np.float64:
                raise DTypeError(
                    f"gradcheck: input {index} is {value.data.dtype}; finite differences need "
                    f"float64 inputs (use .double() or dtype=np.float64)"
                )
            chosen.append(index)
    if not chosen:
        raise ValueError("gradcheck: no input requires grad")
    return chosen


def _compare(label: str, analytic: Any, expected: Any, atol: float, rtol: float,
             what: str) -> None:
    analytic = np.asarray(analytic, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if analytic.shape != expected.shape:
        raise GradcheckError(
            f"{label}: engine gradient has shape {analytic.shape}, {what} has {expected.shape}"
        )
    error = np.abs(analytic - expected)
    bad = ~(error <= atol + rtol * np.abs(expected))
    if not bad.any():
        return
    scale = np.maximum(np.abs(analytic), np.abs(expected))
    relative = np.where(scale > 0, error / np.where(scale > 0, scale, 1), 0.0)
    relative = np.where(np.isnan(error), np.inf, relative)
    worst = np.unravel_index(int(np.argmax(np.where(bad, relative, -1))), analytic.shape)
    where = f"element {tuple(int(i) for i in worst)}" if analytic.ndim else "the value"
    raise GradcheckError(
        f"{label}: gradient mismatch at {where}: engine {float(analytic[worst]):.10g} vs {what} "
        f"{float(expected[worst]):.10g} (relative error {relative[worst]:.3g}; {int(bad.sum())} of "
        f"{bad.size} elements outside atol={atol}, rtol={rtol})"
    )


def _label(index: int, value: Node) -> str:
    return f"input {index}" + (f" ({value.name!r})" if value.name else "")


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check the engine's gradient of `fn(*inputs)` against central differences.

    Non-scalar outputs are reduced to one number with fixed random weights, so every output
    element is checked. Inputs that require grad must be float64. Returns True, or raises
    `GradcheckError` naming the input, the worst element, both values and the relative error.

    >>> x = Tensor(np.random.rand(3, 2), requires_grad=True, dtype=np.float64)
    >>> gradcheck(lambda t: (t * t).tanh(), [x])
    True
    """
    inputs = list(inputs)
    chosen = _differentiable(inputs)
    items = _items(fn(*inputs))
    weights = _projections(items, seed)
    outputs = [item for item, w in zip(items, weights) if w is not None]
    if not outputs:
        raise ValueError("gradcheck: fn's output does not depend on any input that requires grad")
    targets = [inputs[i] for i in chosen]
    analytic = autograd_grad(outputs, targets, grad_outputs=[w for w in weights if w is not None],
                             allow_unused=True)
    for index, engine_grad in zip(chosen, analytic):
        value = inputs[index]
        numeric = _numeric_grad(fn, inputs, value, weights, eps)
        engine = np.zeros_like(numeric) if engine_grad is None else (
            engine_grad.data if isinstance(engine_grad, Node) else engine_grad)
        _compare(_label(index, value), engine, numeric, atol, rtol, "finite differences")
    return True


def _numeric_grad(fn: Callable[..., Any], inputs: Sequence[Any], value: Node,
                  weights: Sequence[Any], eps: float) -> np.ndarray:
    if not value._shaped:
        original = value.data
        value.data = original + eps
        plus = _projected_value(fn, inputs, weights)
        value.data = original - eps
        minus = _projected_value(fn, inputs, weights)
        value.data = original
        return np.asarray((plus - minus) / (2 * eps))
    data = value.data
    if not data.flags.writeable:
        raise ValueError("gradcheck perturbs each input element in place: pass writable input data")
    numeric = np.zeros(data.shape, dtype=np.float64)
    for index in np.ndindex(*data.shape):
        original = data[index]
        data[index] = original + eps
        plus = _projected_value(fn, inputs, weights)
        data[index] = original - eps
        minus = _projected_value(fn, inputs, weights)
        data[index] = original
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric


def check_grad(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    reference: Callable[..., Sequence[Any]],
    atol: float = 1e-8,
    rtol: float = 1e-6,
) -> bool:
    """Check the engine's gradient of the scalar `fn(*inputs)` against a reference formula.

    `reference(*raw_inputs)` receives the inputs' raw data and returns one gradient per input
    that requires grad, in order: this is how hand-derived gradients are tested.

    >>> check_grad(lambda x: (x * x).sum(), [x], lambda x: [2 * x])
    True
    """
    inputs = list(inputs)
    chosen = [i for i, v in enumerate(inputs) if isinstance(v, Node) and v.requires_grad]
    out = fn(*inputs)
    engine = autograd_grad(out, [inputs[i] for i in chosen], allow_unused=True)
    raw = [v.data if isinstance(v, Node) else v for v in inputs]
    expected = list(reference(*raw))
    if len(expected) != len(chosen):
        raise ValueError(
            f"check_grad: reference returned {len(expected)} gradients for {len(chosen)} inputs "
            f"that require grad"
        )
    for index, got, want in zip(chosen, engine, expected):
        if got is None:
            got = np.zeros(np.shape(raw[index]))
        _compare(_label(index, inputs[index]), got.data if isinstance(got, Node) else got, want,
                 atol, rtol, "reference")
    return True
