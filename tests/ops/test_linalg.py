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
