"""Elementwise ops: values against numpy, gradients against finite differences (float64)."""

import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.testing import strategies as tst

from .helpers import (
    ANY,
    AWAY_FROM_ZERO,
    MAX_DIMS,
    MAX_SIDE,
    NONZERO,
    POSITIVE,
    arrays,
    assert_gradcheck_property,
    broadcast_arrays,
    broadcast_untied_arrays,
    leaves,
    small_shapes,
)

# name: (op, numpy reference, elements of the right operand)
BINARY = {
    "add": (operator.add, np.add, ANY),
    "sub": (operator.sub, np.subtract, ANY),
    "mul": (operator.mul, np.multiply, ANY),
    "div": (operator.truediv, np.divide, NONZERO),
}

# name: (op, numpy reference, elements kept away from kinks, poles and overflow)
UNARY = {
    "neg": (operator.neg, np.negative, ANY),
    "exp": (tr.Tensor.exp, np.exp, ANY),
    "log": (tr.Tensor.log, np.log, POSITIVE),
    "sqrt": (tr.Tensor.sqrt, np.sqrt, POSITIVE),
    "abs": (tr.Tensor.abs, np.abs, AWAY_FROM_ZERO),
    "tanh": (tr.Tensor.tanh, np.tanh, ANY),
    "sigmoid": (tr.Tensor.sigmoid, lambda a: 1 / (1 + np.exp(-a)), ANY),
    "relu": (tr.Tensor.relu, lambda a: np.maximum(a, 0.0), AWAY_FROM_ZERO),
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_broadcasts_and_gradchecks(name, data):
    op, reference, right = BINARY[name]
    x, y = data.draw(broadcast_arrays(ANY, right))
    assert_gradcheck_property(op, reference, x, y)


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op_gradchecks(name, data):
    op, reference, elements = UNARY[name]
    x = data.draw(arrays(data.draw(small_shapes()), elements))
    assert_gradcheck_property(op, reference, x)


@given(data=st.data(), exponent=st.floats(-2.5, 2.5))
def test_pow_with_number_exponent_gradchecks(data, exponent):
    x = data.draw(arrays(data.draw(small_shapes()), POSITIVE))
    assert_gradcheck_property(lambda t: t**exponent, lambda a: a**exponent, x)


@given(data=st.data(), exponent=st.integers(-2, 3))
def test_pow_with_integer_exponent_gradchecks_on_negative_bases(data, exponent):
    x = data.draw(arrays(data.draw(small_shapes()), NONZERO))
    assert_gradcheck_property(lambda t: t.pow(exponent), lambda a: a ** float(exponent), x)


@given(broadcast_arrays(POSITIVE, ANY))
def test_pow_with_tensor_exponent_broadcasts_and_gradchecks(pair):
    assert_gradcheck_property(operator.pow, np.power, *pair)


def test_pow_gradients_at_zero_base_are_zero_not_nan():
    # d(x**0)/dx = 0 everywhere; d(0**p)/dp = 0 for p > 0 (0**p is constant there).
    (x,) = leaves([0.0, 2.0])
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    base, exponent = leaves([0.0, 2.0], [2.0, 3.0])
    (base**exponent).sum().backward()
    np.testing.assert_allclose(exponent.grad.numpy(), [0.0, 8.0 * np.log(2.0)])
    np.testing.assert_allclose(base.grad.numpy(), [0.0, 3.0 * 4.0])


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (-1.0, None), (None, 1.0)])
@given(data=st.data())
def test_clip_gradchecks_away_from_its_bounds(low, high, data):
    elements = tst.elements(avoid=(-1.0, 1.0))
    x = data.draw(arrays(data.draw(small_shapes()), elements))
    assert_gradcheck_property(lambda t: t.clip(low, high), lambda a: np.clip(a, low, high), x)


@pytest.mark.parametrize(
    "method, function, reference",
    [(tr.Tensor.maximum, tr.maximum, np.maximum), (tr.Tensor.minimum, tr.minimum, np.minimum)],
)
@given(pair=broadcast_untied_arrays(), use_function=st.booleans())
def test_maximum_and_minimum_broadcast_and_gradcheck_without_ties(
    method, function, reference, pair, use_function
):
    assert_gradcheck_property(function if use_function else method, reference, *pair)


def test_maximum_tie_splits_gradient_between_inputs():
    x, y = leaves([1.0, 2.0], [1.0, 0.0])
    x.maximum(y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 0.0])


@st.composite
def condition_and_branches(draw):
    shapes = draw(tst.broadcastable_shapes(3, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    condition = draw(tst.arrays(shapes[0], dtype=bool, elements=st.booleans()))
    return condition, draw(arrays(shapes[1])), draw(arrays(shapes[2]))


@given(condition_and_branches())
def test_where_broadcasts_and_routes_gradient_by_condition(drawn):
    condition, x, y = drawn
    assert_gradcheck_property(
        lambda a, b: tr.where(condition, a, b), lambda a, b: np.where(condition, a, b), x, y
    )


@given(data=st.data())
def test_astype_within_float64_gradchecks(data):
    x = data.draw(arrays(data.draw(small_shapes())))
    assert_gradcheck_property(lambda t: t.astype(np.float64) * t, lambda a: a * a, x)


def test_double_of_float32_leaf_returns_float32_gradient():
    x = tr.Tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
    weights = np.array([3.0, 0.25])
    y = x.double()
    assert y.dtype == np.float64
    (y * weights).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), weights.astype(np.float32))


def test_float_of_float64_leaf_returns_float64_gradient():
    (x,) = leaves([1.0, -2.0])
    y = x.float()
    assert y.dtype == np.float32
    (y * 2.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


# Reflected and mixed operators: a Tensor with a Python number or a numpy array on either side.
# name: (op, elements of the tensor, elements of the constant)
WITH_CONSTANT = {
    "add": (operator.add, ANY, ANY),
    "sub": (operator.sub, ANY, ANY),
    "mul": (operator.mul, ANY, ANY),
    "div": (operator.truediv, NONZERO, NONZERO),
    "pow": (operator.pow, POSITIVE, POSITIVE),
}


@pytest.mark.parametrize("name", WITH_CONSTANT)
@given(
    data=st.data(),
    constant_kind=st.sampled_from(["number", "array"]),
    tensor_on_left=st.booleans(),
)
def test_operators_with_numbers_and_arrays_on_either_side_gradcheck(
    name, data, constant_kind, tensor_on_left
):
    op, tensor_elements, constant_elements = WITH_CONSTANT[name]
    if constant_kind == "number":
        constant = data.draw(constant_elements)
        x = data.draw(arrays(data.draw(small_shapes()), tensor_elements))
    else:
        x, constant = data.draw(broadcast_arrays(tensor_elements, constant_elements))
    if tensor_on_left:
        assert_gradcheck_property(lambda t: op(t, constant), lambda a: op(a, constant), x)
    else:
        assert_gradcheck_property(lambda t: op(constant, t), lambda a: op(constant, a), x)


@pytest.mark.parametrize("value", [1000.0, -1000.0])
def test_sigmoid_is_finite_and_exact_at_large_magnitude(value):
    (x,) = leaves([value, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [1.0 if value > 0 else 0.0, 0.5])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.25])


@given(data=st.data())
def test_tanh_written_over_a_new_input_array_gradchecks(data):
    x = data.draw(arrays(data.draw(small_shapes()), ANY))
    # `x * 1.0` is a new array that nothing else reads, which is what overwriting is for.
    assert_gradcheck_property(lambda t: tr.ops.Tanh.apply(t * 1.0, True), np.tanh, x)


def test_tanh_that_overwrites_leaves_its_output_in_the_input_array():
    (x,) = leaves([0.5, -2.0])
    pre_activation = x * 2.0
    out = tr.ops.Tanh.apply(pre_activation, True)
    assert out.data is pre_activation.data
    np.testing.assert_allclose(pre_activation.numpy(), np.tanh([1.0, -4.0]))
    assert out.grad_fn.overwritten_input == 0
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (1.0 - np.tanh([1.0, -4.0]) ** 2))


def test_plain_tanh_and_scalar_tanh_overwrite_nothing():
    (x,) = leaves([0.5, -2.0])
    pre_activation = x * 2.0
    out = pre_activation.tanh()
    assert out.data is not pre_activation.data and out.grad_fn.overwritten_input is None
    scalar = tr.Scalar(0.5, requires_grad=True)
    assert tr.ops.Tanh.apply(scalar * 2.0, True).grad_fn.overwritten_input is None
