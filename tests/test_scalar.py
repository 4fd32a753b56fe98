"""Scalar: micrograd-sized values on the shared engine, checked by gradcheck and against Tensor."""

import math
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as tst

from .ops.helpers import ANY, AWAY_FROM_ZERO, NONZERO, POSITIVE


def assert_scalar_gradcheck(op, reference, *values):
    """`op(*scalars)` equals `reference(*values)` (plain floats) and passes gradcheck."""
    scalars = [tr.Scalar(v) for v in values]
    out = op(*scalars)
    assert isinstance(out, tr.Scalar) and type(out.data) is float
    assert out.data == pytest.approx(reference(*values), rel=1e-12, abs=1e-12)
    assert gradcheck(op, scalars)


# name: (op, reference on floats, elements kept away from kinks and poles)
UNARY = {
    "neg": (operator.neg, operator.neg, ANY),
    "exp": (tr.Scalar.exp, math.exp, ANY),
    "log": (tr.Scalar.log, math.log, POSITIVE),
    "tanh": (tr.Scalar.tanh, math.tanh, ANY),
    "sigmoid": (tr.Scalar.sigmoid, lambda v: 1 / (1 + math.exp(-v)), ANY),
    "relu": (tr.Scalar.relu, lambda v: max(v, 0.0), AWAY_FROM_ZERO),
}

# name: (operator, elements of the left operand, elements of the right operand)
BINARY = {
    "add": (operator.add, ANY, ANY),
    "sub": (operator.sub, ANY, ANY),
    "mul": (operator.mul, ANY, ANY),
    "div": (operator.truediv, ANY, NONZERO),
    "pow": (operator.pow, POSITIVE, ANY),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_scalar_op_gradchecks(name, data):
    op, reference, elements = UNARY[name]
    assert_scalar_gradcheck(op, reference, data.draw(elements))


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data(), constant_side=st.sampled_from(["none", "left", "right"]))
def test_binary_scalar_op_with_scalars_or_numbers_on_either_side_gradchecks(
    name, data, constant_side
):
    op, left_elements, right_elements = BINARY[name]
    left, right = data.draw(left_elements), data.draw(right_elements)
    if constant_side == "left":
        assert_scalar_gradcheck(lambda s: op(left, s), lambda v: op(left, v), right)
    elif constant_side == "right":
        assert_scalar_gradcheck(lambda s: op(s, right), lambda v: op(v, right), left)
    else:
        assert_scalar_gradcheck(op, op, left, right)


@given(base=NONZERO, exponent=st.integers(-3, 3))
def test_integer_power_of_negative_base_gradchecks(base, exponent):
    assert_scalar_gradcheck(lambda s: s**exponent, lambda v: v**exponent, base)


def test_micrograd_tour_gradients_match_hand_derivation():
    a, b = tr.Scalar(2.0), tr.Scalar(-3.0)
    c = (a * b + a**2).tanh()
    c.backward()
    outer = 1 - math.tanh(-2.0) ** 2
    assert type(a.grad) is float and type(b.grad) is float
    assert a.grad == pytest.approx(outer * (-3.0 + 2 * 2.0))
    assert b.grad == pytest.approx(outer * 2.0)


def test_gradients_from_numpy_scalars_accumulate_as_floats():
    # 2 ** s has d/ds = 2 ** s * log(2), computed by numpy for an int base.
    s = tr.Scalar(1.5)
    (2**s + 2**s + 2**s).backward()
    assert type(s.grad) is float
    assert s.grad == pytest.approx(3 * 2**1.5 * math.log(2))


def test_scalar_requires_grad_by_default_and_gradients_accumulate_across_calls():
    x = tr.Scalar(3.0)
    assert x.requires_grad and x.is_leaf
    (x * x).backward()
    (x * 4.0).backward()
    assert x.grad == pytest.approx(2 * 3.0 + 4.0)
    x.zero_grad()
    assert x.grad is None


def test_scalar_repr_shows_value_gradient_and_creator():
    x = tr.Scalar(2.0)
    y = x.tanh()
    y.backward()
    assert repr(y).startswith("Scalar(0.964") and "grad_fn=<Tanh>" in repr(y)
    assert "grad=0.0706" in repr(x)


def test_scalar_detach_is_a_leaf_that_needs_no_grad():
    x = tr.Scalar(2.0)
    y = (x * 3.0).detach()
    assert y.data == 6.0 and y.is_leaf and not y.requires_grad


@pytest.mark.parametrize("value", ["two", None, 1j, [1.0, 2.0]])
def test_scalar_from_a_non_number_raises_dtype_error(value):
    with pytest.raises(tr.DTypeError):
        tr.Scalar(value)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_scalar_ops_at_extremes_give_inf_or_nan_as_tensors_do():
    assert tr.Scalar(1000.0).exp().data == math.inf
    assert tr.Scalar(0.0).log().data == -math.inf
    assert (tr.Scalar(1.0) / 0.0).data == math.inf
    assert (-1.0 / tr.Scalar(0.0)).data == -math.inf
    assert math.isnan((tr.Scalar(0.0) / 0.0).data)
    assert tr.Scalar(0.0).pow(-1).data == math.inf
    assert tr.Scalar(-1000.0).sigmoid().data == 0.0
    assert tr.Scalar(1000.0).sigmoid().data == 1.0


# -- a Tensor expression equals the same expression built from Scalars, element by element --

UNARY_STEPS = [
    lambda a: -a,
    lambda a: a.tanh(),
    lambda a: a.sigmoid(),
    lambda a: a.relu(),
    lambda a: a.tanh().exp(),
    lambda a: (a * a + 1.0).log(),
    lambda a: a**2,
    lambda a: 2.0 - a,
    lambda a: 1.0 / (a * a + 1.0),
    lambda a: 0.5 * a + 1.0,
]
BINARY_STEPS = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
    lambda a, b: (a * a + 1.0) ** b.tanh(),
]


@st.composite
def programs(draw, max_steps=6):
    """A straight-line program over the inputs x and y: each step combines earlier values."""
    steps = []
    for count in range(2, 2 + draw(st.integers(1, max_steps))):
        operand = st.integers(0, count - 1)
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(UNARY_STEPS)), draw(operand), None))
        else:
            steps.append((draw(st.sampled_from(BINARY_STEPS)), draw(operand), draw(operand)))
    return steps


def run_program(steps, x, y):
    values = [x, y]
    for op, i, j in steps:
        values.append(op(values[i]) if j is None else op(values[i], values[j]))
    return values[-1]


def _grad_or_zero(grad, index=None):
    """A gradient as a float, 0.0 for an input the expression did not use."""
    if grad is None:
        return 0.0
    return grad if index is None else grad.numpy()[index]


@given(
    program=programs(),
    xs=tst.arrays((4,), elements=tst.elements(-2.0, 2.0)),
    ys=tst.arrays((4,), elements=tst.elements(-2.0, 2.0)),
)
def test_tensor_expression_equals_scalar_expression_element_by_element(program, xs, ys):
    x, y = tr.Tensor(xs, requires_grad=True), tr.Tensor(ys, requires_grad=True)
    out = run_program(program, x, y)
    out.sum().backward()
    for i in range(len(xs)):
        xi, yi = tr.Scalar(xs[i]), tr.Scalar(ys[i])
        out_i = run_program(program, xi, yi)
        out_i.backward()
        assert out_i.data == pytest.approx(out.numpy()[i], rel=1e-9, abs=1e-12)
        assert _grad_or_zero(xi.grad) == pytest.approx(_grad_or_zero(x.grad, i), rel=1e-7, abs=1e-9)
        assert _grad_or_zero(yi.grad) == pytest.approx(_grad_or_zero(y.grad, i), rel=1e-7, abs=1e-9)
