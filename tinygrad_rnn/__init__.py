"""tinygrad_rnn: reverse-mode autodiff on numpy for recurrent models you can see and test.

>>> import tinygrad_rnn as tr
>>> x = tr.Tensor([[1.0, 2.0]], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.numpy()
array([[2., 4.]], dtype=float32)
"""

from . import allocator, autograd, errors, nn, ops, optim, testing, viz
from .autograd import (
    Function,
    detect_anomaly,
    enable_grad,
    grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .errors import (
    AnomalyError,
    BackwardError,
    CheckpointNotFoundError,
    DTypeError,
    GraphFreedError,
    GraphvizNotFoundError,
    InplaceModificationError,
    SerializationError,
    ShapeError,
    StateDictError,
)
from .io import load, save
from .random import manual_seed
from .scalar import Scalar
from .tensor import (
    Tensor,
    concat,
    get_default_dtype,
    maximum,
    minimum,
    ones,
    rand,
    randn,
    set_default_dtype,
    stack,
    tensor,
    where,
    zeros,
)
from .viz import name

__version__ = "0.1.0"

allocator._setup_on_import()

__all__ = [
    "AnomalyError", "BackwardError", "CheckpointNotFoundError", "DTypeError", "Function", "GraphFreedError",
    "InplaceModificationError", "Scalar", "SerializationError", "ShapeError", "StateDictError",
    "Tensor", "allocator", "autograd", "concat", "detect_anomaly", "enable_grad", "errors",
    "get_default_dtype", "grad", "is_anomaly_enabled", "is_grad_enabled", "load", "manual_seed",
    "maximum", "minimum", "nn", "no_grad", "ones", "ops", "optim", "rand", "randn", "save",
    "set_default_dtype", "set_detect_anomaly", "set_grad_enabled", "stack", "tensor", "testing",
    "where", "zeros",
    "GraphvizNotFoundError", "name", "viz",
]
