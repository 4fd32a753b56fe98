"""The hypothesis strategies deliver what they promise; the profiles follow the CI variable."""

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_rnn as tr
from tinygrad_rnn.testing import strategies as tst


@given(tst.tensors(shape=(2, 3)))
def test_tensors_default_to_float64_leaves_that_require_grad_within_bounds(x):
    assert isinstance(x, tr.Tensor) and x.is_leaf and x.requires_grad
    assert x.shape == (2, 3) and x.dtype == np.float64
    assert np.all(np.abs(x.numpy()) <= 3.0)


@given(tst.tensors(shape=tst.shapes(max_dims=2), dtype=np.float32, requires_grad=False))
def test_tensors_take_dtype_shape_strategy_and_requires_grad(x):
    assert x.dtype == np.float32 and not x.requires_grad and x.ndim <= 2


@given(tst.shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= side <= 4 for side in shape)


@given(tst.broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4))
def test_broadcastable_shapes_broadcast_together(shapes):
    assert len(shapes) == 3
    result = np.broadcast_shapes(*shapes)
    assert all(len(shape) <= 3 for shape in shapes) and len(result) <= 3


@given(tst.elements(-2.0, 2.0, avoid=(0.0, 1.0), margin=0.05))
def test_elements_stay_in_range_and_away_from_kinks(value):
    assert np.isfinite(value) and -2.0 <= value <= 2.0
    assert abs(value) >= 0.05 and abs(value - 1.0) >= 0.05


@given(tst.arrays((4, 4), elements=tst.elements(-1.0, 1.0), unique=True))
def test_unique_arrays_have_well_separated_elements(array):
    gaps = np.diff(np.sort(array, axis=None))
    assert gaps.min() >= 0.999 * tst.UNIQUE_GAP
    assert np.all(np.abs(array) <= 1.0 + tst.UNIQUE_GAP / 2)


@given(tst.tensors(shape=(3, 3), unique=True))
def test_unique_tensors_have_no_ties_for_max(x):
    row_max = x.numpy().max(axis=1, keepdims=True)
    assert np.all((x.numpy() == row_max).sum(axis=1) == 1)


@pytest.mark.parametrize("ci, expected", [("1", "ci"), ("", "dev")])
def test_load_profile_picks_ci_when_the_variable_is_set(monkeypatch, ci, expected):
    monkeypatch.setenv("CI", ci)
    try:
        assert tst.load_profile() == expected
        current = settings()
        if expected == "ci":
            assert current.derandomize and current.deadline is None
            assert current.max_examples == 200
        else:
            assert not current.derandomize and current.deadline is None
    finally:
        monkeypatch.undo()
        tst.load_profile()
