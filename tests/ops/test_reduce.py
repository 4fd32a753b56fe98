"""Reductions: sum, mean, max, min, logsumexp, softmax, log_softmax, against numpy and by gradcheck."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

from .helpers import array_and_axis, arrays, assert_gradcheck_property, leaves, small_shapes


def _numpy_logsumexp(a, axis=None, keepdims=False):
    return np.log(np.exp(a).sum(axis=axis, keepdims=keepdims))


def _numpy_softmax(a, axis):
    e = np.exp(a)
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp"])
@given(drawn=array_and_axis(), keepdims=st.booleans())
def test_smooth_reduction_over_any_axes_gradchecks(name, drawn, keepdims):
    x, axis = drawn
    reference = _numpy_logsumexp if name == "logsumexp" else getattr(np, name)
    assert_gradcheck_property(
        lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
        lambda a: reference(a, axis=axis, keepdims=keepdims),
        x,
    )


@pytest.mark.parametrize("name", ["max", "min"])
@given(drawn=array_and_axis(unique=True), keepdims=st.booleans())
def test_max_and_min_over_any_axes_gradcheck_without_ties(name, drawn, keepdims):
    x, axis = drawn
    assert_gradcheck_property(
        lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
        lambda a: getattr(np, name)(a, axis=axis, keepdims=keepdims),
        x,
    )


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "logsumexp"])
def test_numpy_integer_axis_reduces_like_a_python_int(name):
    (x,) = leaves(np.arange(6.0).reshape(2, 3))
    by_numpy_int, by_int = getattr(x, name)(axis=np.int64(-1)), getattr(x, name)(axis=-1)
    np.testing.assert_array_equal(by_numpy_int.numpy(), by_int.numpy())
    (grad_numpy_int,) = tr.grad(by_numpy_int.sum(), [x])
    (grad_int,) = tr.grad(by_int.sum(), [x])
    np.testing.assert_array_equal(grad_numpy_int.numpy(), grad_int.numpy())


def test_max_ties_share_the_gradient_equally():
    (x,) = leaves([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])


@st.composite
def array_and_one_axis(draw):
    shape = draw(small_shapes(min_dims=1))
    return draw(arrays(shape)), draw(st.integers(-len(shape), len(shape) - 1))


@given(array_and_one_axis())
def test_softmax_along_any_axis_gradchecks(drawn):
    x, axis = drawn
    assert_gradcheck_property(lambda t: t.softmax(axis), lambda a: _numpy_softmax(a, axis), x)


@given(array_and_one_axis())
def test_log_softmax_along_any_axis_gradchecks(drawn):
    x, axis = drawn
    assert_gradcheck_property(
        lambda t: t.log_softmax(axis), lambda a: np.log(_numpy_softmax(a, axis)), x
    )


def test_mean_of_float32_stays_float32():
    x = tr.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = x.mean(axis=0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 0.5))


# At |x| = 1000 a naive exp overflows; the stable forms shift by the maximum first. Expected
# values are derived by hand from that shift: logsumexp(c + v) = c + logsumexp(v).


def _finite_run(fn, values):
    (x,) = leaves(values)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = fn(x)
        weights = np.arange(1.0, y.size + 1).reshape(y.shape)
        (y * weights).sum().backward()
    return y.numpy(), x.grad.numpy(), weights


def test_logsumexp_is_finite_and_exact_at_large_magnitude():
    y, grad, _ = _finite_run(lambda t: t.logsumexp(), [1000.0, 1000.0, -1000.0])
    assert y == pytest.approx(1000.0 + np.log(2.0))
    np.testing.assert_allclose(grad, [0.5, 0.5, 0.0])


def test_softmax_is_finite_and_exact_at_large_magnitude():
    y, grad, weights = _finite_run(lambda t: t.softmax(), [1000.0, 1000.0 - np.log(3.0), -1000.0])
    expected = np.array([0.75, 0.25, 0.0])
    np.testing.assert_allclose(y, expected)
    # d(w . softmax)/dx = s * (w - w . s)
    np.testing.assert_allclose(grad, expected * (weights - weights @ expected), atol=1e-12)


def test_log_softmax_is_finite_and_exact_at_large_magnitude():
    y, grad, weights = _finite_run(lambda t: t.log_softmax(), [1000.0, 0.0, -1000.0])
    np.testing.assert_allclose(y, [0.0, -1000.0, -2000.0])
    # d(w . log_softmax)/dx = w - s * sum(w), with s = (1, 0, 0) to double precision
    np.testing.assert_allclose(grad, weights - np.array([1.0, 0.0, 0.0]) * weights.sum())
