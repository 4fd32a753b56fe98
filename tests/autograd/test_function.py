"""User-defined ops: one `Function` serves Tensor and Scalar, and the engine does the rest."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as tst


class Cube(tr.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * grad


class ScaledAdd(tr.Function):
    """x + scale * y for a constant `scale`; backward returns gradients of the broadcast shape."""

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.scale = scale
        ctx.seen_needs = ctx.needs_input_grad
        return x + scale * y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad * ctx.scale, None


@given(tst.tensors(tst.shapes(max_dims=3, max_side=3)))
def test_cube_on_tensors_matches_numpy_and_gradchecks(x):
    y = Cube.apply(x)
    assert isinstance(y, tr.Tensor) and repr(y.grad_fn) == "<Cube>"
    np.testing.assert_allclose(y.numpy(), x.numpy() ** 3)
    assert gradcheck(Cube.apply, [x])


@given(tst.elements())
def test_cube_on_scalars_matches_python_and_gradchecks(value):
    x = tr.Scalar(value)
    y = Cube.apply(x)
    assert isinstance(y, tr.Scalar) and type(y.data) is float
    assert y.data == pytest.approx(value**3)
    assert gradcheck(Cube.apply, [x])


def test_cube_inside_a_larger_expression_gets_the_chain_rule():
    x = tr.Scalar(2.0)
    (Cube.apply(x * 3.0) + x).backward()
    assert x.grad == pytest.approx(3 * 6.0**2 * 3.0 + 1.0)


@st.composite
def broadcastable_tensors(draw):
    shapes = draw(tst.broadcastable_shapes(2, max_dims=3, max_side=3))
    return [draw(tst.tensors(shape)) for shape in shapes]


@given(broadcastable_tensors())
def test_engine_reduces_broadcast_gradients_of_a_user_function(pair):
    x, y = pair
    out = ScaledAdd.apply(x, y, 2.5)
    np.testing.assert_allclose(out.numpy(), x.numpy() + 2.5 * y.numpy())
    assert gradcheck(lambda a, b: ScaledAdd.apply(a, b, 2.5), [x, y])


def test_ctx_knows_which_inputs_need_a_gradient():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    out = ScaledAdd.apply(x, tr.Tensor(np.ones(2)), 2.0)
    assert out.grad_fn.seen_needs == (True, False, False)
    assert isinstance(out.grad_fn, ScaledAdd)


def test_function_with_no_input_needing_grad_records_nothing():
    x = tr.Tensor(np.ones(2))
    out = Cube.apply(x)
    assert not out.requires_grad and out.grad_fn is None


def test_saved_values_are_released_after_backward():
    x = tr.Tensor(np.array([2.0]), requires_grad=True)
    out = Cube.apply(x)
    out.backward()
    with pytest.raises(tr.GraphFreedError, match="Cube"):
        out.backward()


def test_backward_returning_a_wrong_shape_raises_shape_error_naming_the_function():
    class Broken(tr.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return np.ones(5)

    x = tr.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(tr.ShapeError, match=r"Broken.*\(2, 3\)"):
        Broken.apply(x).sum().backward()


def test_backward_returning_none_means_no_gradient():
    class Blocked(tr.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return None

    x = tr.Tensor(np.ones(2), requires_grad=True)
    (Blocked.apply(x) + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_function_without_backward_is_refused_at_definition():
    with pytest.raises(TypeError, match="backward"):

        class Incomplete(tr.Function):
            @staticmethod
            def forward(ctx, x):
                return x


def test_apply_without_any_scalar_or_tensor_is_refused():
    with pytest.raises(TypeError, match="Cube"):
        Cube.apply(2.0)
