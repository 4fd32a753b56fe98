"""Shape ops: reshape, permute/transpose/.T, expand, indexing, concat, stack, split, unbind."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr

from .helpers import MAX_SIDE, arrays, assert_gradcheck_property, leaves, small_shapes


@st.composite
def array_and_new_shape(draw):
    shape = draw(small_shapes())
    new_shape = list(draw(st.permutations(shape)))
    if new_shape and draw(st.booleans()):
        new_shape[draw(st.integers(0, len(new_shape) - 1))] = -1
    return draw(arrays(shape)), tuple(new_shape)


@given(array_and_new_shape())
def test_reshape_gradchecks(drawn):
    x, new_shape = drawn
    assert_gradcheck_property(lambda t: t.reshape(new_shape), lambda a: a.reshape(new_shape), x)


@st.composite
def array_and_axes(draw):
    shape = draw(small_shapes())
    axes = draw(st.permutations(range(len(shape))))
    negative = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    axes = tuple(a - len(shape) if flip else a for a, flip in zip(axes, negative))
    return draw(arrays(shape)), axes


@given(array_and_axes())
def test_permute_with_positive_and_negative_axes_gradchecks(drawn):
    x, axes = drawn
    assert_gradcheck_property(lambda t: t.permute(*axes), lambda a: a.transpose(axes), x)


@st.composite
def array_and_two_axes(draw):
    shape = draw(small_shapes(min_dims=1))
    axis = st.integers(-len(shape), len(shape) - 1)
    return draw(arrays(shape)), draw(axis), draw(axis)


@given(array_and_two_axes())
def test_transpose_of_two_axes_gradchecks(drawn):
    x, axis0, axis1 = drawn
    assert_gradcheck_property(
        lambda t: t.transpose(axis0, axis1), lambda a: np.swapaxes(a, axis0, axis1), x
    )


@given(st.data())
def test_T_reverses_axes_and_gradchecks(data):
    x = data.draw(arrays(data.draw(small_shapes())))
    assert_gradcheck_property(lambda t: t.T, lambda a: a.T, x)


@st.composite
def array_and_target_shape(draw):
    """An array and a shape it broadcasts to (new leading axes, size-1 axes stretched)."""
    target = draw(small_shapes())
    kept = draw(st.integers(0, len(target)))
    shape = tuple(draw(st.sampled_from([1, side])) for side in target[len(target) - kept:])
    return draw(arrays(shape)), target


@pytest.mark.parametrize("method", ["expand", "broadcast_to"])
@given(drawn=array_and_target_shape())
def test_expand_and_broadcast_to_sum_gradient_back(method, drawn):
    x, target = drawn
    assert_gradcheck_property(
        lambda t: getattr(t, method)(target), lambda a: np.broadcast_to(a, target), x
    )


def test_expand_with_minus_one_keeps_that_axis():
    (x,) = leaves([[1.0], [2.0]])
    y = x.expand(3, -1, 4)
    assert y.shape == (3, 2, 4)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[12.0], [12.0]])
    with pytest.raises(tr.ShapeError, match="Expand"):
        x.expand(-1, 2, 4)


@st.composite
def array_and_basic_index(draw):
    shape = draw(small_shapes(min_dims=1))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    return draw(arrays(shape)), index


@given(array_and_basic_index())
def test_basic_slicing_gradchecks(drawn):
    x, index = drawn
    assert_gradcheck_property(lambda t: t[index], lambda a: a[index], x)


@st.composite
def array_and_integer_array_index(draw):
    shape = draw(small_shapes(min_dims=1))
    result_shape = hnp.array_shapes(min_dims=0, max_dims=2, max_side=4)
    index = draw(hnp.integer_array_indices(shape, result_shape=result_shape))
    return draw(arrays(shape)), index


@given(array_and_integer_array_index())
def test_integer_array_indexing_scatter_adds_gradient(drawn):
    x, index = drawn
    assert_gradcheck_property(lambda t: t[index], lambda a: a[index], x)


def test_repeated_indices_accumulate_gradient():
    (x,) = leaves([10.0, 20.0, 30.0])
    y = x[[0, 0, 2, 0]]
    (y * np.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0 + 2.0 + 4.0, 0.0, 3.0])


def test_index_given_as_int_tensor_and_boolean_mask():
    (x,) = leaves([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows = tr.Tensor(np.array([2, 0, 2]))
    mask = np.array([[True, False], [False, False], [False, True]])
    (x[rows].sum() + (x[mask] * 10.0).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[11.0, 1.0], [0.0, 0.0], [2.0, 12.0]])


@st.composite
def concat_pieces(draw):
    base = list(draw(small_shapes(min_dims=1)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        base[axis] = draw(st.integers(1, MAX_SIDE))
        pieces.append(draw(arrays(tuple(base))))
    return pieces, axis


@given(concat_pieces())
def test_concat_gradchecks(drawn):
    pieces, axis = drawn
    assert_gradcheck_property(
        lambda *ts: tr.concat(ts, axis=axis), lambda *arrs: np.concatenate(arrs, axis=axis), *pieces
    )


@st.composite
def stack_pieces(draw):
    shape = draw(small_shapes())
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    count = draw(st.integers(1, 3))
    return [draw(arrays(shape)) for _ in range(count)], axis


@given(stack_pieces())
def test_stack_gradchecks(drawn):
    pieces, axis = drawn
    assert_gradcheck_property(
        lambda *ts: tr.stack(ts, axis=axis), lambda *arrs: np.stack(arrs, axis=axis), *pieces
    )


def test_concat_and_stack_accept_arrays_next_to_tensors():
    (x,) = leaves([1.0, 2.0])
    joined = tr.concat([x, np.array([3.0])])
    stacked = tr.stack([np.zeros(2), x], axis=1)
    np.testing.assert_array_equal(joined.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(stacked.numpy(), [[0.0, 1.0], [0.0, 2.0]])
    (joined.sum() + (stacked * 2.0).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


@st.composite
def array_axis_and_sizes(draw):
    shape = draw(small_shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    length = shape[axis]
    if draw(st.booleans()):
        return draw(arrays(shape)), axis, draw(st.integers(1, length + 1))
    cuts = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, length])]
    return draw(arrays(shape)), axis, sizes


def _numpy_split(a, sizes, axis):
    if isinstance(sizes, int):
        return np.split(a, range(sizes, a.shape[axis], sizes), axis=axis)
    return np.split(a, np.cumsum(sizes)[:-1], axis=axis)


@given(array_axis_and_sizes())
def test_split_by_size_or_sections_gradchecks(drawn):
    x, axis, sizes = drawn
    assert_gradcheck_property(
        lambda t: t.split(sizes, axis=axis), lambda a: tuple(_numpy_split(a, sizes, axis)), x
    )


@st.composite
def array_and_one_axis(draw):
    shape = draw(small_shapes(min_dims=1))
    return draw(arrays(shape)), draw(st.integers(-len(shape), len(shape) - 1))


@given(array_and_one_axis())
def test_unbind_gradchecks(drawn):
    x, axis = drawn
    assert_gradcheck_property(
        lambda t: t.unbind(axis), lambda a: tuple(np.moveaxis(a, axis, 0)), x
    )


def test_unbind_of_a_long_sequence_sums_every_step_gradient():
    steps = 2000
    (x,) = leaves(np.arange(steps * 2.0).reshape(steps, 2))
    total = None
    for t, step in enumerate(x.unbind(0)):
        term = step * float(t)
        total = term if total is None else total + term
    total.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(np.arange(steps * 1.0), 2).reshape(steps, 2))


def test_split_sizes_that_do_not_cover_the_axis_raise_shape_error():
    (x,) = leaves(np.zeros((4, 2)))
    with pytest.raises(tr.ShapeError, match=r"\[1, 2\].*4"):
        x.split([1, 2])


def test_concat_of_column_layout_arrays_is_c_contiguous():
    # numpy's own concatenate would keep the inputs' Fortran layout.
    columns = [np.asfortranarray(np.arange(6.0).reshape(2, 3) + k) for k in range(3)]
    joined = tr.concat([tr.Tensor(c) for c in columns], axis=0)
    np.testing.assert_array_equal(joined.numpy(), np.concatenate(columns))
    assert joined.numpy().flags.c_contiguous


def test_stack_of_column_layout_matrices_keeps_their_layout_and_reshapes_as_a_view():
    # A recurrent layer's states: (B, H) matrices in column layout, stacked over T steps.
    columns = [np.asfortranarray(np.arange(6.0).reshape(2, 3) + k) for k in range(4)]
    stacked = tr.stack([tr.Tensor(c) for c in columns], axis=0)
    np.testing.assert_array_equal(stacked.numpy(), np.stack(columns))
    assert all(stacked.numpy()[t].strides[0] == 8 for t in range(4))  # rows along the fast axis
    flat = stacked.reshape(8, 3).numpy()
    assert np.shares_memory(flat, stacked.numpy())
    np.testing.assert_array_equal(flat, np.concatenate(columns))


@pytest.mark.parametrize("axis", [1, 2])
def test_stack_of_column_layout_matrices_along_another_axis_is_c_contiguous(axis):
    columns = [np.asfortranarray(np.arange(6.0).reshape(2, 3) + k) for k in range(3)]
    stacked = tr.stack([tr.Tensor(c) for c in columns], axis=axis)
    np.testing.assert_array_equal(stacked.numpy(), np.stack(columns, axis=axis))
    assert stacked.numpy().flags.c_contiguous


@pytest.mark.parametrize(("join", "axis"), [(tr.stack, 3), (tr.stack, -4), (tr.concat, 2)])
def test_stack_and_concat_name_an_axis_out_of_range(join, axis):
    with pytest.raises(tr.ShapeError, match=f"axis {axis} is out of bounds"):
        join([tr.Tensor(np.ones((2, 3)))] * 2, axis=axis)
