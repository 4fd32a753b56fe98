"""Tools to test gradients of your own Functions and models.

- `gradcheck(fn, inputs)`: the engine's gradient against central differences (float64).
- `check_grad(fn, inputs, reference)`: against a hand-derived reference gradient.
- `strategies`: hypothesis strategies (tensors, broadcastable shapes, kink-free elements).
- `references`: the seed documents' hand-derived RNN gradients in plain numpy.
"""

import importlib
from typing import Any

from .gradcheck import GradcheckError, check_grad, gradcheck

__all__ = ["GradcheckError", "check_grad", "gradcheck", "strategies"]


def __getattr__(name: str) -> Any:  # hypothesis is only needed by the strategies
    if name == "strategies":
        # import_module, not `from . import strategies`: that would look the name up on this
        # package again, calling this function without end.
        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
