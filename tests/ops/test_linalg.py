"""Matrix product with numpy's `@` rules: 1-D, 2-D and batched operands with broadcast batches."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr

from .helpers import MAX_SIDE, arrays, assert_gradcheck_property, leaves

# Shapes numpy's matmul accepts: 1-D or 2-D cores, with up to two broadcast batch axes.
MATMUL_SHAPES = hnp.mutually_broadcastable_shapes(
    signature=np.matmul.signature, max_dims=2, max_side=MAX_SIDE
)


@st.composite
def matmul_operands(draw):
    shapes = draw(MATMUL_SHAPES).input_shapes
    return [draw(arrays(shape)) for shape in shapes]


@given(matmul_operands())
def test_matmul_of_1d_2d_and_batched_operands_gradchecks(operands):
    assert_gradcheck_property(lambda a, b: a @ b, np.matmul, *operands)


@given(operands=matmul_operands(), array_on_left=st.booleans())
def test_matmul_with_a_numpy_array_on_either_side_gradchecks(operands, array_on_left):
    left, right = operands
    if array_on_left:
        assert_gradcheck_property(lambda b: left @ b, lambda b: left @ b, right)
    else:
        assert_gradcheck_property(lambda a: a.matmul(right), lambda a: a @ right, left)


def test_matmul_gradients_match_hand_derivation():
    a, b = leaves([[1.0, 2.0], [3.0, 4.0]], [5.0, 6.0])
    (a @ b).sum().backward()
    # d(sum(a @ b))/da[i, j] = b[j]; d/db[j] = sum_i a[i, j]
    np.testing.assert_array_equal(a.grad.numpy(), [[5.0, 6.0], [5.0, 6.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [4.0, 6.0])


@pytest.mark.parametrize(
    "left, right",
    [((2, 3), (4, 5)), ((3,), (4,)), ((2, 2, 3), (3, 3, 4))],
)
def test_matmul_of_incompatible_shapes_names_op_and_both_shapes(left, right):
    a, b = leaves(np.zeros(left), np.zeros(right))
    with pytest.raises(tr.ShapeError) as caught:
        a @ b
    message = str(caught.value)
    assert "MatMul" in message and str(left) in message and str(right) in message


def test_matmul_of_a_0d_operand_raises_shape_error():
    a, b = leaves(np.float64(2.0), np.ones(3))
    with pytest.raises(tr.ShapeError, match="MatMul"):
        a @ b


@st.composite
def addmm_operands(draw):
    """c, a (n, k), b (k, m), with c and the (n, m) product mutually broadcastable."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=2, max_dims=2,
                                                    max_side=MAX_SIDE)).input_shapes
    (n, m), k = shapes[1], draw(st.integers(1, MAX_SIDE))
    return draw(arrays(shapes[0])), draw(arrays((n, k))), draw(arrays((k, m)))


@given(addmm_operands())
def test_addmm_equals_c_plus_a_at_b_and_gradchecks(operands):
    assert_gradcheck_property(lambda c, a, b: c.addmm(a, b), lambda c, a, b: c + a @ b, *operands)


def test_addmm_gradients_match_hand_derivation():
    bias, x, w = leaves([1.0, -1.0], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[1.0, 0.0], [0.0, 2.0]])
    bias.addmm(x, w).sum().backward()
    # d/dbias[j] = rows of x; d/dx[i, k] = sum_j w[k, j]; d/dw[k, j] = sum_i x[i, k]
    np.testing.assert_array_equal(bias.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0]] * 3)
    np.testing.assert_array_equal(w.grad.numpy(), [[9.0, 9.0], [12.0, 12.0]])


def test_addmm_keeps_the_wider_dtype_of_c():
    c = tr.Tensor(np.ones(2), requires_grad=True)
    a = tr.Tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True)
    out = c.addmm(a, a.T @ a)
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and c.grad.dtype == np.float64


@pytest.mark.parametrize(
    "c_shape, a_shape, b_shape",
    [((3,), (2, 4), (5, 3)), ((2, 3), (4, 2), (2, 3)), ((2,), (4,), (4, 2))],
)
def test_addmm_of_incompatible_shapes_names_op_and_shapes(c_shape, a_shape, b_shape):
    c, a, b = leaves(np.zeros(c_shape), np.zeros(a_shape), np.zeros(b_shape))
    with pytest.raises(tr.ShapeError) as caught:
        c.addmm(a, b)
    message = str(caught.value)
    assert "AddMatMul" in message and str(a_shape) in message and str(b_shape) in message


@st.composite
def indexed_addmm_operands(draw):
    """c (T, ...) whose row c[index] broadcasts with the (n, m) product of a (n, k) and b (k, m)."""
    row_shape, (n, m) = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=2, max_dims=2, max_side=MAX_SIDE)).input_shapes
    steps, k = draw(st.integers(1, 4)), draw(st.integers(1, MAX_SIDE))
    index = draw(st.integers(-steps, steps - 1))
    return index, (draw(arrays((steps, *row_shape))), draw(arrays((n, k))), draw(arrays((k, m))))


@given(indexed_addmm_operands())
def test_addmm_of_one_row_of_c_equals_c_index_plus_a_at_b_and_gradchecks(drawn):
    index, operands = drawn
    assert_gradcheck_property(lambda c, a, b: c.addmm(a, b, index=index),
                              lambda c, a, b: c[index] + a @ b, *operands)


def column_layout(c: np.ndarray) -> np.ndarray:
    """c (T, n, k) laid out as the transpose of a (k, T, n) array: each c[t] has its n rows
    along the fast axis, as a recurrent layer's input projection of a batch."""
    return np.ascontiguousarray(c.transpose(2, 0, 1)).transpose(1, 2, 0)


@st.composite
def recurrent_operands(draw):
    """c (T, n, k), an initial state (n, k) and a square weight (k, k): a recurrent step's
    operands. c comes in C or in column layout; with the latter, addmm computes each product
    in column layout and the next step reads it so."""
    steps, n, k = draw(st.integers(1, 3)), draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    c = draw(arrays((steps, n, k)))
    if draw(st.booleans()):
        c = column_layout(c)
    return c, draw(arrays((n, k))), draw(arrays((k, k)))


def unrolled(c, h, w):
    """h_t = tanh(c[t] + h_{t-1} @ w), each step fed the state the previous one made."""
    for t in range(len(c)):
        h = np.tanh(c[t] + h @ w) if isinstance(h, np.ndarray) else c.addmm(h, w, index=t).tanh()
    return h


@given(recurrent_operands())
def test_addmm_steps_with_a_square_weight_equal_the_numpy_recurrence_and_gradcheck(operands):
    assert_gradcheck_property(unrolled, unrolled, *operands)


@pytest.mark.parametrize("columns", [False, True])
def test_addmm_product_of_a_batch_takes_the_layout_of_the_indexed_row(columns):
    rng = np.random.default_rng(0)
    c, h, w = rng.standard_normal((3, 4, 5)), rng.standard_normal((4, 5)), rng.standard_normal((5, 5))
    if columns:
        c = column_layout(c)
    out = tr.Tensor(c).addmm(tr.Tensor(h), tr.Tensor(w), index=1).numpy()
    np.testing.assert_allclose(out, c[1] + h @ w, rtol=1e-12)
    assert out.flags.f_contiguous is columns and out.flags.c_contiguous is not columns


def test_addmm_rows_of_one_tensor_share_its_gradient():
    # Every step of an unrolled sequence adds its own row: each row's gradient is the sum of
    # the gradient of its step's output, here all ones times the step's weight t + 1.
    projected, h, w = leaves(np.zeros((3, 2, 4)), np.ones((2, 5)), np.ones((5, 4)))
    loss = sum((t + 1) * projected.addmm(h, w, index=t).sum() for t in range(3))
    loss.backward()
    expected = np.arange(1.0, 4.0)[:, None, None] * np.ones((3, 2, 4))
    np.testing.assert_array_equal(projected.grad.numpy(), expected)
    np.testing.assert_array_equal(w.grad.numpy(), np.full((5, 4), 2.0 * (1 + 2 + 3)))


@pytest.mark.parametrize("index", [3, -4, 10])
def test_addmm_index_out_of_range_is_an_index_error(index):
    c, a, b = leaves(np.zeros((3, 2)), np.zeros((1, 2)), np.zeros((2, 2)))
    with pytest.raises(IndexError, match=f"index {index} is out of range .*\\(3, 2\\)"):
        c.addmm(a, b, index=index)


def test_addmm_index_must_be_an_integer():
    c, a, b = leaves(np.zeros((3, 2)), np.zeros((1, 2)), np.zeros((2, 2)))
    with pytest.raises(TypeError):
        c.addmm(a, b, index=1.5)
