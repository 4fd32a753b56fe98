"""The engine's primitive ops, as `Function` subclasses grouped by kind.

Each op's forward and backward math sit side by side. Elementwise ops work on floats (Scalar)
and ndarrays (Tensor) alike; the rest are Tensor-only.
"""

from .elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from .linalg import AddMatMul, MatMul
from .reduce import LogSoftmax, LogSumExp, Max, Mean, Min, Softmax, Sum
from .shape import Concat, Expand, GetItem, Permute, Reshape, Stack

__all__ = [
    "Abs", "Add", "AddMatMul", "Cast", "Clip", "Concat", "Div", "Exp", "Expand", "GetItem", "Log",
    "LogSoftmax", "LogSumExp", "MatMul", "Max", "Maximum", "Mean", "Min", "Minimum", "Mul", "Neg",
    "Permute", "Pow", "Relu", "Reshape", "Sigmoid", "Softmax", "Sqrt", "Stack", "Sub", "Sum",
    "Tanh", "Where",
]
