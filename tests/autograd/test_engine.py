"""The backward driver: accumulation, seeds, retain_graph, grad(), in-place checks, deep graphs."""

import contextlib
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.autograd import unbroadcast
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as tst


def leaf(values):
    return tr.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# -- accumulation ----------------------------------------------------------------------------


def test_value_used_twice_in_one_op_accumulates_gradient():
    x = leaf([3.0, -1.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, -2.0])


def test_diamond_graph_sums_gradients_of_both_paths():
    x = leaf([0.5, 2.0])
    doubled, exponential = x * 2.0, x.exp()
    (doubled * exponential).sum().backward()
    # d(2x e^x)/dx = 2 e^x + 2x e^x
    expected = 2 * np.exp([0.5, 2.0]) * (1 + np.array([0.5, 2.0]))
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_value_used_by_many_ops_gets_each_contribution_once():
    a, b = leaf([1.0, 2.0]), leaf([5.0, 5.0])
    # Add hands the same gradient array to both its inputs: accumulating into one must not
    # change the other.
    loss = (a + b).sum() + (a * 2.0).sum() + (a * 3.0).sum() + a[0] * 4.0
    loss.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [10.0, 6.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_broadcast_value_used_by_several_ops_sums_each_reduced_contribution():
    bias, x = leaf(0.5), leaf([1.0, 2.0, 3.0])
    # Each use broadcasts the 0-d bias over x, so each contribution is reduced to a number.
    ((x + bias).sum() + (x * 2.0 + bias).sum() + (x * bias).sum()).backward()
    # d/dbias = 3 + 3 + sum(x)
    np.testing.assert_array_equal(bias.grad.numpy(), 12.0)


def test_matmul_weight_shared_by_steps_and_used_once_more_sums_every_product():
    rng = np.random.default_rng(1)
    rows, weight = rng.normal(size=(5, 1, 3)), leaf(rng.normal(size=(3, 2)))
    loss = sum((tr.Tensor(row) @ weight).sum() for row in rows) + (weight * weight).sum()
    loss.backward()
    # d/dW of sum_t sum(r_t W) is sum_t r_t^T 1 (each column); of sum(W * W) it is 2W
    expected = rows.sum(axis=0).T @ np.ones((1, 2)) + 2 * weight.numpy()
    np.testing.assert_allclose(weight.grad.numpy(), expected, rtol=1e-12)


def test_matmul_weight_shared_by_hundreds_of_steps_gets_their_summed_products():
    rng = np.random.default_rng(2)
    rows, weight = rng.normal(size=(600, 1, 128)), leaf(rng.normal(size=(128, 128)))
    upstream = rng.normal(size=(600, 1, 128))
    # Enough products that the engine multiplies them out in several batches.
    loss = sum(((tr.Tensor(row) @ weight) * g).sum() for row, g in zip(rows, upstream))
    loss.backward()
    expected = sum(row.T @ g for row, g in zip(rows, upstream))
    np.testing.assert_allclose(weight.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_weight_shared_across_steps_accumulates_gradient():
    rng = np.random.default_rng(0)
    inputs = tr.Tensor(rng.normal(size=(12, 3)))
    weight_hh = leaf(rng.normal(size=(3, 3)) * 0.5)

    def unrolled_loss(weight):
        hidden = tr.zeros(3, dtype=np.float64)
        for step in inputs.unbind(0):
            hidden = (hidden @ weight + step).tanh()
        return hidden.sum()

    assert gradcheck(unrolled_loss, [weight_hh])


def test_leaf_gradient_accumulates_across_backward_calls_until_zero_grad():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0 + 2.0, 3.0 + 4.0])
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_leaf_gradient_is_a_tensor_of_the_leaf_shape_and_dtype():
    x = tr.Tensor(np.ones((2, 1), dtype=np.float32), requires_grad=True)
    (x * np.ones((3, 2, 4))).sum().backward()
    assert isinstance(x.grad, tr.Tensor)
    assert x.grad.shape == (2, 1) and x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 1), 12.0))


def test_intermediate_gradient_is_kept_only_after_retain_grad():
    x = leaf([1.0, 2.0])
    hidden = x * 3.0
    kept = x * 5.0
    kept.retain_grad()
    (hidden * kept).sum().backward()
    assert hidden.grad is None
    np.testing.assert_array_equal(kept.grad.numpy(), [3.0, 6.0])  # d/dkept = hidden


def test_retained_gradient_accumulates_across_backward_calls():
    x = leaf([1.0])
    hidden = x * 2.0
    hidden.retain_grad()
    loss = (hidden * hidden).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(hidden.grad.numpy(), [8.0])


# -- seeds -------------------------------------------------------------------------------------


def test_backward_of_non_scalar_output_takes_gradient():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    seed = np.arange(6.0).reshape(2, 3)
    (x * 3.0).backward(gradient=seed)
    np.testing.assert_array_equal(x.grad.numpy(), 3.0 * seed)
    x.zero_grad()
    (x * 3.0).backward(gradient=tr.Tensor(seed))
    np.testing.assert_array_equal(x.grad.numpy(), 3.0 * seed)


def test_backward_of_non_scalar_output_without_gradient_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(tr.BackwardError, match=r"shape \(2,\).*gradient"):
        (x * 2.0).backward()
    assert x.grad is None


def test_backward_of_single_element_output_needs_no_gradient():
    x = leaf([[2.0]])
    (x * 3.0).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0]])


def test_backward_gradient_of_wrong_shape_raises_shape_error():
    x = leaf([1.0, 2.0])
    with pytest.raises(tr.ShapeError, match=r"\(3,\).*\(2,\)"):
        (x * 2.0).backward(gradient=np.ones(3))


def test_backward_of_value_that_needs_no_grad_raises():
    with pytest.raises(tr.BackwardError, match="does not require grad"):
        (tr.Tensor([1.0]) * 2.0).sum().backward()


# -- retain_graph ------------------------------------------------------------------------------


def test_second_backward_without_retain_graph_raises_graph_freed_error():
    x = leaf([1.0, 2.0])
    loss = (x.tanh() * x).sum()
    loss.backward()
    with pytest.raises(tr.GraphFreedError, match="retain_graph=True"):
        loss.backward()
    assert issubclass(tr.GraphFreedError, tr.BackwardError)


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])


def test_graph_freed_by_grad_cannot_be_walked_again():
    x = leaf([1.0])
    loss = (x * x).sum()
    tr.grad(loss, [x])
    with pytest.raises(tr.GraphFreedError):
        loss.backward()


# -- grad() ------------------------------------------------------------------------------------


def test_grad_returns_gradients_and_leaves_dot_grad_untouched():
    x, w = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    x.grad = tr.Tensor(np.array([7.0, 7.0]))
    dx, dw = tr.grad((x * w).sum(), [x, w])
    np.testing.assert_array_equal(dx.numpy(), [3.0, -1.0])
    np.testing.assert_array_equal(dw.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])
    assert w.grad is None


def test_grad_with_respect_to_an_intermediate_value():
    x = leaf([1.0, 2.0])
    hidden = x * 2.0
    (dhidden,) = tr.grad((hidden * hidden).sum(), [hidden])
    np.testing.assert_array_equal(dhidden.numpy(), [4.0, 8.0])
    assert x.grad is None


def test_grad_of_unused_input_raises_unless_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(tr.BackwardError, match="allow_unused"):
        tr.grad((x * 2.0).sum(), [x, unused], retain_graph=True)
    dx, dunused = tr.grad((x * 2.0).sum(), [x, unused], allow_unused=True)
    np.testing.assert_array_equal(dx.numpy(), [2.0])
    assert dunused is None


def test_grad_of_several_outputs_with_grad_outputs_sums_them():
    x = leaf([1.0, 2.0])
    first, second = x * 2.0, x * x
    (dx,) = tr.grad([first, second], [x], grad_outputs=[np.ones(2), np.array([1.0, 10.0])])
    np.testing.assert_array_equal(dx.numpy(), [2.0 + 2.0, 2.0 + 40.0])


def test_grad_of_scalars_returns_floats():
    a, b = tr.Scalar(2.0), tr.Scalar(5.0)
    da, db = tr.grad(a * b + a, [a, b])
    assert (da, db) == (6.0, 2.0)
    assert a.grad is None and b.grad is None


def test_grad_refuses_inputs_and_outputs_that_need_no_grad():
    x = leaf([1.0])
    with pytest.raises(tr.BackwardError, match="input"):
        tr.grad((x * 2.0).sum(), [tr.Tensor([1.0])])
    with pytest.raises(tr.BackwardError, match="output"):
        tr.grad(tr.Tensor([1.0]).sum(), [x])


# -- in-place modification of saved values -------------------------------------------------------

MODIFICATIONS = {
    "copy_": lambda t: t.copy_(np.full(t.shape, 5.0)),
    "add_": lambda t: t.add_(1.0),
    "mul_": lambda t: t.mul_(2.0),
    "zero_": lambda t: t.zero_(),
}


@pytest.mark.parametrize("name", MODIFICATIONS)
def test_modifying_a_saved_input_in_place_raises_on_backward(name):
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    loss = (x * w).sum()
    MODIFICATIONS[name](x)
    with pytest.raises(tr.InplaceModificationError, match=r"\(2,\) saved by Mul"):
        loss.backward()
    assert w.grad is None and x.grad is None


def test_modifying_a_saved_value_through_another_view_raises():
    base = tr.Tensor(np.ones(3))
    w = leaf([3.0, 4.0])
    loss = (base[0:2] * w).sum()
    base.add_(1.0)
    with pytest.raises(tr.InplaceModificationError):
        loss.backward()


def test_modifying_a_saved_output_in_place_raises():
    x = leaf([1.0, 2.0])
    y = x.exp()  # backward uses its own output
    loss = y.sum()
    y.mul_(2.0)
    with pytest.raises(tr.InplaceModificationError, match="Exp"):
        loss.backward()


def test_modifying_values_no_op_saved_is_allowed():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    loss = (x + w).sum()  # addition saves nothing
    x.add_(10.0)
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


def test_modifying_before_the_op_or_after_backward_is_allowed():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    x.mul_(2.0)
    loss = (x * w).sum()
    loss.backward()
    w.add_(-0.1 * w.grad.numpy())
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
    np.testing.assert_allclose(w.numpy(), [2.8, 3.6])


def test_in_place_edit_with_wrong_shape_raises_and_leaves_data():
    x = leaf([1.0, 2.0])
    with pytest.raises(tr.ShapeError, match=r"\(3,\).*\(2,\)"):
        x.copy_(np.zeros(3))
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


# -- deep graphs and unbroadcast ------------------------------------------------------------------


@contextlib.contextmanager
def default_recursion_limit():
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def test_200000_node_chain_backpropagates_under_default_recursion_limit():
    steps, factor = 200_000, 1.00001
    with default_recursion_limit():
        x = tr.Scalar(1.0)
        y = x
        for _ in range(steps):
            y = y * factor
        y.backward()
        del y  # freeing the chain must not recurse either
    assert x.grad == pytest.approx(factor**steps, rel=1e-9)


def test_deep_tensor_graph_with_fan_in_backpropagates_under_default_recursion_limit():
    steps = 20_000
    with default_recursion_limit():
        x = leaf([0.5, -0.5])
        hidden = x
        total = x * 0.0
        for _ in range(steps):
            hidden = hidden * 1.0
            total = total + hidden
        total.sum().backward()
        del hidden, total
    np.testing.assert_array_equal(x.grad.numpy(), [float(steps), float(steps)])


@given(tst.broadcastable_shapes(2, max_dims=4, max_side=3))
def test_unbroadcast_sums_exactly_the_broadcast_axes(shapes):
    shape = shapes[0]
    full = np.broadcast_shapes(*shapes)
    grad = np.arange(float(np.prod(full))).reshape(full)
    # Reference: each element of the broadcast result came from one element of the input.
    expected = np.zeros(shape)
    for index in np.ndindex(*full):
        source = tuple(0 if side == 1 else i for i, side in zip(index[len(full) - len(shape):], shape))
        expected[source] += grad[index]
    assert unbroadcast(grad, shape).shape == shape
    np.testing.assert_array_equal(unbroadcast(grad, shape), expected)


# -- random graphs: reuse, slicing, broadcasting, scatter, all through one engine ----------------

SHAPE = (3, 4)
MASK = np.array([[True, False, False, True], [False, True, True, False], [True, True, False, False]])
GRAPH_STEPS = [
    lambda a, b: a + b,
    lambda a, b: a * b,
    lambda a, b: a - b.tanh(),
    lambda a, b: a / (b * b + 1.0),
    lambda a, b: a.sum(axis=0, keepdims=True) * b,
    lambda a, b: a.mean(axis=1, keepdims=True) - b,
    lambda a, b: (a @ b.T) @ a * 0.1,
    lambda a, b: tr.concat([a[:, :2], b[:, 2:]], axis=1),
    lambda a, b: tr.stack([a, b]).sum(axis=0),
    lambda a, b: tr.stack(a.unbind(0)[::-1]) + b,
    lambda a, b: a[[0, 0, 2]] * b,
    lambda a, b: a[::-1] + b[:, ::-1],
    lambda a, b: a.T.reshape(SHAPE).sigmoid() * b,
    lambda a, b: a.softmax(axis=1) + b.log_softmax(axis=0),
    lambda a, b: tr.where(MASK, a, b),
]


@st.composite
def graph_programs(draw):
    steps = []
    for count in range(2, 2 + draw(st.integers(1, 6))):
        operand = st.integers(0, count - 1)
        steps.append((draw(st.sampled_from(GRAPH_STEPS)), draw(operand), draw(operand)))
    return steps


def run_graph(steps, x, y):
    values = [x, y]
    for op, i, j in steps:
        values.append(op(values[i], values[j]))
    return values[-1] + 0.0 * (x + y)  # both inputs always reach the output


@given(
    program=graph_programs(),
    x=tst.tensors(SHAPE, elements=tst.elements(-1.5, 1.5)),
    y=tst.tensors(SHAPE, elements=tst.elements(-1.5, 1.5)),
)
def test_random_graphs_with_reuse_slicing_and_broadcasting_gradcheck(program, x, y):
    assert gradcheck(lambda a, b: run_graph(program, a, b), [x, y])
