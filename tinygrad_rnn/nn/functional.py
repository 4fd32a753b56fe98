"""Stateless functions of neural networks: activations, losses, dropout, one-hot.

All are composed from the engine's Tensor ops, so their gradients come from the engine.

>>> logits = Tensor(np.array([[2.0, 0.5, -1.0]]), requires_grad=True)
>>> cross_entropy(logits, np.array([0])).backward()
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.node import Node
from ..errors import DTypeError, ShapeError
from ..random import generator
from ..tensor import Tensor, get_default_dtype, stack

_REDUCTIONS = ("none", "mean", "sum")


def _as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if like is not None and like.dtype.kind == "f" else None
    return Tensor(value, dtype=dtype)


def _check_reduction(function: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{function}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def softmax(input: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis`, shifted so it never overflows."""
    return _as_tensor(input).softmax(axis)


def log_softmax(input: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`: log-probabilities without overflow or log(0)."""
    return _as_tensor(input).log_softmax(axis)


def _class_indices(function: str, target: Any, lead_shape: tuple[int, ...], classes: int,
                   ignore_index: int) -> np.ndarray:
    """`target` as an integer array of `lead_shape`, every entry a class or `ignore_index`."""
    indices = np.asarray(target.data if isinstance(target, Node) else target)
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"{function}: class indices must be integers, got dtype {indices.dtype}")
    if indices.shape != lead_shape:
        raise ShapeError(
            f"{function}: target of shape {indices.shape} does not match input of shape "
            f"{(*lead_shape, classes)}: classes are on the input's last axis, so the target "
            f"must have shape {lead_shape}"
        )
    bad = (indices != ignore_index) & ((indices < 0) | (indices >= classes))
    if bad.any():
        first = int(indices[bad].flat[0])
        raise ValueError(
            f"{function}: class index {first} is out of range for {classes} classes "
            f"(valid: 0 to {classes - 1}, or ignore_index={ignore_index})"
        )
    return indices


def _picked_loss(log_probs: Tensor, indices: np.ndarray, ignore_index: int, smoothing: float,
                 reduction: str) -> Tensor:
    """-log_probs at each target class (mixed with the mean over classes when smoothing)."""
    classes = log_probs.shape[-1]
    lead_shape = indices.shape
    flat = log_probs if log_probs.ndim == 2 else log_probs.reshape(-1, classes)
    keep = (indices != ignore_index).reshape(-1)
    rows = np.arange(keep.size)
    picked = -flat[rows, np.where(keep, indices.reshape(-1), 0)]
    if smoothing:
        picked = picked * (1.0 - smoothing) - flat.mean(axis=-1) * smoothing
    if keep.all():
        if reduction != "none":
            return _reduce(picked, reduction)
    else:
        picked = picked * keep.astype(picked.dtype)
        if reduction == "sum":
            return picked.sum()
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                return picked.sum() / int(keep.sum())  # NaN when every target is ignored, as PyTorch
    return picked if log_probs.ndim == 2 else picked.reshape(lead_shape)


def nll_loss(log_probs: Tensor, target: Any, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities (..., C).

    `target` has the input's shape without the class axis; entries equal to `ignore_index`
    add nothing, and "mean" averages over the other entries.
    """
    _check_reduction("nll_loss", reduction)
    log_probs = _as_tensor(log_probs)
    if log_probs.ndim < 1:
        raise ShapeError("nll_loss: input needs a class axis, got a 0-d tensor")
    indices = _class_indices("nll_loss", target, log_probs.shape[:-1], log_probs.shape[-1],
                             ignore_index)
    return _picked_loss(log_probs, indices, ignore_index, 0.0, reduction)


def cross_entropy(input: Tensor, target: Any, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits (..., C) with class indices (...) or class probabilities (..., C).

    Classes are on the LAST axis, so an RNN's (T, B, C) logits go with (T, B) targets as they
    are. (PyTorch puts classes on axis 1 for inputs of more than 2 dimensions; for (N, C)
    the two agree.) Computed from log_softmax: stable for any logits.

    >>> cross_entropy(Tensor(np.zeros((2, 4))), np.array([1, 3])).item()   # log(4)
    1.3862943611198906
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    input = _as_tensor(input)
    if input.ndim < 1:
        raise ShapeError("cross_entropy: input needs a class axis, got a 0-d tensor")
    log_probs = input.log_softmax(-1)
    target_array = target.data if isinstance(target, Node) else np.asarray(target)
    if target_array.dtype.kind == "f":
        if target_array.shape != input.shape:
            raise ShapeError(
                f"cross_entropy: probability targets must have the input's shape {input.shape}, "
                f"got {target_array.shape} (class indices must be integers)"
            )
        probs = target if isinstance(target, Tensor) else Tensor(target_array.astype(input.dtype))
        if label_smoothing:
            probs = probs * (1.0 - label_smoothing) + label_smoothing / input.shape[-1]
        return _reduce(-(probs * log_probs).sum(axis=-1), reduction)
    indices = _class_indices("cross_entropy", target_array, input.shape[:-1], input.shape[-1],
                             ignore_index)
    return _picked_loss(log_probs, indices, ignore_index, label_smoothing, reduction)


def _same_shape(function: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ShapeError(f"{function}: input shape {input.shape} and target shape "
                         f"{target.shape} differ")


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of squared differences; `target` must have the input's shape."""
    _check_reduction("mse_loss", reduction)
    input = _as_tensor(input)
    target = _as_tensor(target, input)
    _same_shape("mse_loss", input, target)
    difference = input - target
    return _reduce(difference * difference, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] from logits x, stable for any x.

    Computed as softplus(x) - x y with softplus(x) = logsumexp([0, x]): smooth everywhere
    (the gradient at x = 0 is exactly sigmoid(0) - y) and finite at |x| = 1000.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    input = _as_tensor(input)
    target = _as_tensor(target, input)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    zeros = Tensor(np.zeros(input.shape, dtype=input.dtype))
    softplus = stack([zeros, input], axis=-1).logsumexp(axis=-1)
    return _reduce(softplus - input * target, reduction)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    input = _as_tensor(input)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = generator().random(input.shape) >= p
    return input * (keep * (1.0 / (1.0 - p))).astype(input.dtype)


def one_hot(indices: Any, num_classes: int = -1, dtype: Any = None) -> Tensor:
    """Indices (...) as one-hot rows (..., num_classes) of floats (the default dtype unless given).

    Unlike PyTorch (int64), the result is float: ready to feed into a Linear or an RNN.
    `num_classes=-1` uses the largest index + 1.

    >>> one_hot(np.array([2, 0]), 3).numpy()
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    array = np.asarray(indices.data if isinstance(indices, Node) else indices)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: indices must be integers, got dtype {array.dtype}")
    if num_classes == -1:
        num_classes = int(array.max()) + 1 if array.size else 0
    bad = (array < 0) | (array >= num_classes)
    if bad.any():
        raise ValueError(f"one_hot: index {int(array[bad].flat[0])} is out of range for "
                         f"{num_classes} classes")
    return Tensor(np.eye(num_classes, dtype=dtype or get_default_dtype())[array])


__all__ = [
    "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "log_softmax", "mse_loss",
    "nll_loss", "one_hot", "softmax",
]
