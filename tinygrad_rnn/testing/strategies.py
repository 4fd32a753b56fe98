"""Hypothesis strategies for testing gradients of your own ops and models.

>>> from hypothesis import given
>>> from tinygrad_rnn.testing import strategies as st_tr
>>> @given(st_tr.tensors(shape=(3, 2)))
... def test_square(x):
...     assert gradcheck(lambda t: t * t, [x])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor

ShapeLike = Sequence[int]


def elements(
    min_value: float = -3.0,
    max_value: float = 3.0,
    avoid: Sequence[float] = (),
    margin: float = 1e-2,
) -> st.SearchStrategy[float]:
    """Finite floats in [min_value, max_value], at least `margin` away from each kink in `avoid`.

    Keep inputs of relu and abs away from 0 with `avoid=(0.0,)`; keep `min_value`/`max_value`
    small enough that exp and pow do not overflow.
    """
    base = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=64)
    if not avoid:
        return base
    return base.filter(lambda v: all(abs(v - k) >= margin for k in avoid))


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes small enough for finite differences."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4
                         ) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """`num_shapes` shapes that broadcast together (numpy's rules), as a tuple."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side,
    ).map(lambda result: tuple(result.input_shapes))


# Distinct floats closer than this would still tie under gradcheck's perturbation.
UNIQUE_GAP = 1e-3


def _on_grid(value: float) -> float:
    return round(value / UNIQUE_GAP) * UNIQUE_GAP


def arrays(
    shape: ShapeLike | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[float] | None = None,
    unique: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """ndarrays of `dtype` (default float64) with elements from `elements` (default [-3, 3]).

    `unique=True` draws distinct elements; floats are then rounded to multiples of
    `UNIQUE_GAP` (moving each by at most half of it), so they are at least that far apart:
    no ties, nor near-ties that a finite-difference step would swap (max, min, maximum).
    """
    chosen_elements = globals()["elements"]() if elements is None else elements
    if unique and np.dtype(dtype).kind == "f":
        chosen_elements = chosen_elements.map(_on_grid)
    return hnp.arrays(
        np.dtype(dtype),
        shapes() if shape is None else shape,
        elements=chosen_elements,
        unique=unique,
    )


def tensors(
    shape: ShapeLike | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[float] | None = None,
    requires_grad: bool = True,
    unique: bool = False,
) -> st.SearchStrategy[Tensor]:
    """Tensors for gradient tests: float64, requiring grad, elements in [-3, 3] by default.

    `unique=True` draws well-separated elements (no ties for max/min).
    """
    return arrays(shape, dtype, elements, unique).map(
        lambda data: Tensor(data, requires_grad=requires_grad)
    )


def register_profiles() -> None:
    """Register the `ci` (derandomized, no deadline, 200 examples) and `dev` profiles.

    Both derive from hypothesis's defaults, not from whichever profile is loaded at the time.
    """
    defaults = settings.get_profile("default")
    settings.register_profile(
        "ci", parent=defaults, derandomize=True, deadline=None, max_examples=200,
        print_blob=True, suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "dev", parent=defaults, deadline=None, max_examples=30,
        suppress_health_check=[HealthCheck.too_slow],
    )


def load_profile() -> str:
    """Load `ci` when the CI environment variable is set, `dev` otherwise; return its name."""
    register_profiles()
    name = "ci" if os.environ.get("CI") else "dev"
    settings.load_profile(name)
    return name
