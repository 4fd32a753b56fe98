"""Losses as modules: thin wrappers that hold the options of `tinygrad_rnn.nn.functional`'s losses."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional
from .module import Module


class CrossEntropyLoss(Module):
    """`functional.cross_entropy` with fixed options: logits (..., C), targets (...) or (..., C).

    >>> CrossEntropyLoss()(logits, targets)
    """

    def __init__(self, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.cross_entropy(input, target, self.ignore_index, self.reduction,
                               self.label_smoothing)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class NLLLoss(Module):
    """`functional.nll_loss` with fixed options: log-probabilities (..., C), targets (...)."""

    def __init__(self, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.nll_loss(input, target, self.ignore_index, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _ReducedLoss(Module):
    """A loss whose only option is its reduction: "mean", "sum" or "none"."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_ReducedLoss):
    """`functional.mse_loss` with a fixed reduction."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.mse_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_ReducedLoss):
    """`functional.binary_cross_entropy_with_logits` with a fixed reduction."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.binary_cross_entropy_with_logits(input, target, self.reduction)


__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss"]
