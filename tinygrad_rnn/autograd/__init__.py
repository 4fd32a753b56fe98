"""The graph core shared by Scalar and Tensor: Function, the backward driver, grad modes."""

from .engine import backward, grad, unbroadcast
from .function import Function
from .mode import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .node import Node

__all__ = [
    "Function", "Node", "backward", "detect_anomaly", "enable_grad", "grad",
    "is_anomaly_enabled", "is_grad_enabled", "no_grad", "set_detect_anomaly",
    "set_grad_enabled", "unbroadcast",
]
