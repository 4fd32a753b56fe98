"""Shared checks of the op tests: values against numpy, gradients against finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as tst

# Small arrays keep central differences cheap: at most 27 elements per input.
MAX_DIMS = 3
MAX_SIDE = 3

# Elements for inputs of each kind of op: anywhere small, off a pole (log, sqrt, division),
# off the kink at 0 (relu, abs).
ANY = tst.elements()
POSITIVE = tst.elements(0.2, 3.0)
NONZERO = tst.elements(avoid=(0.0,), margin=0.3)
AWAY_FROM_ZERO = tst.elements(avoid=(0.0,))


def leaves(*arrays: np.ndarray) -> list[tr.Tensor]:
    """float64 leaf tensors that require grad, each on its own copy of the data."""
    return [tr.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]


def assert_gradcheck_property(
    op: Callable[..., Any],
    reference: Callable[..., Any],
    *arrays: np.ndarray,
) -> None:
    """`op(*tensors)` equals numpy's `reference(*arrays)`, and its gradient passes gradcheck.

    `op` may return one Tensor or a tuple of them (split, unbind); every output is compared.
    """
    tensors = leaves(*arrays)
    outputs = op(*tensors)
    expected = reference(*arrays)
    if isinstance(outputs, tr.Tensor):
        outputs, expected = (outputs,), (expected,)
    assert len(outputs) == len(expected)
    for out, want in zip(outputs, expected):
        assert out.shape == np.shape(want)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-10, atol=1e-12)
    assert gradcheck(op, tensors)


def arrays(shape: Sequence[int], elements: st.SearchStrategy[float] = ANY,
           unique: bool = False) -> st.SearchStrategy[np.ndarray]:
    return tst.arrays(tuple(shape), elements=elements, unique=unique)


def small_shapes(min_dims: int = 0) -> st.SearchStrategy[tuple[int, ...]]:
    return tst.shapes(min_dims=min_dims, max_dims=MAX_DIMS, max_side=MAX_SIDE)


@st.composite
def broadcast_arrays(draw: Any, *elements: st.SearchStrategy[float]) -> list[np.ndarray]:
    """One array per strategy in `elements`, of mutually broadcastable shapes."""
    shapes = draw(tst.broadcastable_shapes(len(elements), max_dims=MAX_DIMS, max_side=MAX_SIDE))
    return [draw(arrays(shape, each)) for shape, each in zip(shapes, elements)]


@st.composite
def untied_arrays(draw: Any, shapes: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Arrays of the given shapes whose elements, all together, are well separated (no ties)."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = draw(arrays((sum(sizes),), unique=True))
    pieces = np.split(flat, np.cumsum(sizes)[:-1])
    return [piece.reshape(shape) for piece, shape in zip(pieces, shapes)]


@st.composite
def broadcast_untied_arrays(draw: Any, count: int = 2) -> list[np.ndarray]:
    shapes = draw(tst.broadcastable_shapes(count, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    return draw(untied_arrays(shapes))


@st.composite
def array_and_axis(draw: Any, elements: st.SearchStrategy[float] = ANY,
                   unique: bool = False) -> tuple[np.ndarray, Any]:
    """An array and a reduction axis for it: None, an int (maybe negative) or a tuple (maybe
    empty, maybe with negative axes)."""
    shape = draw(small_shapes())
    ndim = len(shape)
    single = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    axis = draw(st.none() | single | hnp.valid_tuple_axes(ndim))
    return draw(arrays(shape, elements, unique)), axis
