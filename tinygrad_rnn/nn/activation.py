"""Activations as modules, for `Sequential`: Tanh, ReLU, Sigmoid, Softmax, LogSoftmax, Identity."""

from __future__ import annotations

from ..tensor import Tensor
from .module import Module


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class ReLU(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.relu()


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.sigmoid()


class Identity(Module):
    """Returns its input unchanged (a placeholder in `Sequential`)."""

    def forward(self, input: Tensor) -> Tensor:
        return input


class Softmax(Module):
    """Softmax along `axis` (the last by default)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, input: Tensor) -> Tensor:
        return input.softmax(self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """Log-softmax along `axis` (the last by default)."""

    def forward(self, input: Tensor) -> Tensor:
        return input.log_softmax(self.axis)


__all__ = ["Identity", "LogSoftmax", "ReLU", "Sigmoid", "Softmax", "Tanh"]
