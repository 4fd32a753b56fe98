"""Tools to test gradients of your own Functions and models.

- `gradcheck(fn, inputs)`: the engine's gradient against central differences (float64).
- `check_grad(fn, inputs, reference)`: against a hand-derived reference gradient.
- `strategies`: hypothesis strategies (tensors, broadcastable shapes, kink-free elements).
"""

from .gradcheck import GradcheckError, check_grad, gradcheck

__all__ = ["GradcheckError", "check_grad", "gradcheck", "strategies"]


def __getattr__(name: str):  # hypothesis is only needed by the strategies
    if name == "strategies":
        from . import strategies

        return strategies
    raise AttributeError(name)
