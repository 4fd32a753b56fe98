"""Tensor as a value: construction, dtype rules, repr, numpy interplay, in-place edits, errors."""

import operator

import numpy as np
import pytest

import tinygrad_rnn as tr


@pytest.fixture
def default_dtype_float64():
    tr.set_default_dtype(np.float64)
    try:
        yield
    finally:
        tr.set_default_dtype(np.float32)


# -- dtype rules -----------------------------------------------------------------------------------


def test_python_numbers_and_lists_become_float32():
    assert tr.Tensor([1.0, 2.0]).dtype == np.float32
    assert tr.Tensor([1, 2]).dtype == np.float32
    assert tr.Tensor(3.5).dtype == np.float32
    assert tr.zeros(2, 3).dtype == np.float32 and tr.ones(2).dtype == np.float32
    assert tr.randn(2).dtype == np.float32 and tr.rand(2).dtype == np.float32


def test_ndarray_dtype_is_kept_and_data_is_not_copied():
    data = np.arange(3.0)
    x = tr.Tensor(data)
    assert x.dtype == np.float64 and x.numpy() is data
    assert tr.Tensor(np.arange(3)).dtype == np.int64


def test_set_default_dtype_changes_numbers_and_lists(default_dtype_float64):
    assert tr.get_default_dtype() == np.float64
    assert tr.Tensor([1.0]).dtype == np.float64
    assert tr.zeros(1).dtype == np.float64


def test_set_default_dtype_refuses_non_float():
    with pytest.raises(tr.DTypeError, match="int"):
        tr.set_default_dtype(np.int32)
    assert tr.get_default_dtype() == np.float32


CONSTANTS = {
    "python float": 0.5,
    "python int": 3,
    "numpy float64 scalar": np.float64(0.5),
    "numpy float64 array": np.array([0.5, 2.0]),
    "numpy int64 array": np.array([1, 2]),
    "list": [0.5, 2.0],
}
OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
             tr.Tensor.maximum]


@pytest.mark.parametrize("constant", CONSTANTS.values(), ids=CONSTANTS.keys())
@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
def test_float32_work_stays_float32_with_any_constant(op, constant):
    x = tr.Tensor(np.array([1.5, 2.5], dtype=np.float32), requires_grad=True)
    y = op(x, constant)
    assert y.dtype == np.float32
    if op is not tr.Tensor.maximum:
        assert op(constant, x).dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_float32_stays_float32_through_unary_ops_reductions_and_matmul():
    x = tr.Tensor(np.array([[0.5, 1.5]], dtype=np.float32), requires_grad=True)
    w = tr.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    hidden = (x @ w).tanh().sigmoid().exp().log().relu().sqrt().abs().clip(0.0, 5.0)
    loss = hidden.softmax().log_softmax().logsumexp() + hidden.mean() + hidden.max()
    assert hidden.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.parametrize(
    "combine",
    [
        lambda x: tr.where(np.array([True, False]), x, 0.5),
        lambda x: tr.maximum(x, np.float64(1.0)),
        lambda x: tr.minimum(2.0, x),
        lambda x: tr.concat([x, np.zeros(2)]),
        lambda x: tr.stack([np.zeros(2), x]),
        lambda x: x @ np.ones((2, 2)),
        lambda x: np.ones((3, 2)) @ x,
        lambda x: x.clip(np.float64(0.0), 2.0),
    ],
    ids=["where", "maximum", "minimum", "concat", "stack", "matmul", "rmatmul", "clip"],
)
def test_float32_stays_float32_through_functions_with_float64_constants(combine):
    x = tr.Tensor(np.array([1.5, 2.5], dtype=np.float32), requires_grad=True)
    y = combine(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_mixing_float32_and_float64_tensors_promotes_like_numpy():
    x = tr.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    y = tr.Tensor(np.ones(2), requires_grad=True)
    z = x * y
    assert z.dtype == np.float64
    z.sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64


def test_integer_tensor_with_a_float_array_gives_floats_not_truncated_values():
    y = tr.Tensor(np.arange(3)) * np.array([0.5, 0.5, 0.5])
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.5, 1.0])


# -- dtype errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype",
    [(np.arange(3), None), (np.array([True, False]), None), ([1, 2], np.int64)],
)
def test_integer_or_boolean_data_cannot_require_grad(data, dtype):
    with pytest.raises(tr.DTypeError, match="float"):
        tr.Tensor(data, requires_grad=True, dtype=dtype)


@pytest.mark.parametrize(
    "data",
    [np.array([1 + 2j]), [1j, 2.0], np.array([object()]), ["a", "b"], np.array(["x"])],
    ids=["complex array", "complex list", "object array", "strings", "string array"],
)
def test_complex_object_and_string_data_raise_dtype_error(data):
    with pytest.raises(tr.DTypeError):
        tr.Tensor(data)


def test_dtype_error_is_a_type_error():
    assert issubclass(tr.DTypeError, TypeError)


# -- shape errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, name",
    [(operator.add, "Add"), (operator.sub, "Sub"), (operator.mul, "Mul"),
     (operator.truediv, "Div"), (tr.Tensor.maximum, "Maximum")],
)
def test_binary_op_on_incompatible_shapes_names_op_and_both_shapes(op, name):
    x, y = tr.Tensor(np.ones((2, 3))), tr.Tensor(np.ones((4, 3)))
    with pytest.raises(tr.ShapeError) as caught:
        op(x, y)
    message = str(caught.value)
    assert name in message and "(2, 3)" in message and "(4, 3)" in message
    assert isinstance(caught.value, ValueError)


# -- repr, properties and numpy interplay ----------------------------------------------------------


def test_repr_shows_data_shape_dtype_and_creator():
    x = tr.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = x.tanh()
    text = repr(y)
    assert text.startswith("Tensor([ 0.7616, -0.964")
    assert "shape=(2,)" in text and "dtype=float64" in text and "grad_fn=<Tanh>" in text
    assert "requires_grad=True" in repr(x)
    assert repr(tr.Tensor([1.0])) == "Tensor([1.], shape=(1,), dtype=float32)"


def test_large_tensor_repr_is_summarised():
    assert "..." in repr(tr.Tensor(np.zeros(1000)))


def test_shape_properties_item_and_len():
    x = tr.Tensor(np.zeros((2, 3)))
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 3), 2, 6, 2)
    assert tr.Tensor([4.5]).item() == 4.5
    with pytest.raises(ValueError, match="one-element"):
        x.item()
    with pytest.raises(TypeError):
        len(tr.Tensor(1.0))


def test_comparisons_give_boolean_tensors_outside_the_graph():
    x = tr.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), [False, True, True])
    np.testing.assert_array_equal((x == 2.0).numpy(), [False, True, False])


def test_truth_value_of_a_multi_element_tensor_is_ambiguous():
    assert bool(tr.Tensor([1.0]))
    assert not bool(tr.Tensor([0.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tr.Tensor([1.0, 2.0]) == tr.Tensor([3.0, 4.0]))


def test_numpy_arrays_on_the_left_defer_to_the_tensor():
    x = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for result in (np.ones(2) + x, np.ones(2) - x, np.ones(2) * x, np.ones(2) / x,
                   np.float64(2.0) * x, np.ones((3, 2)) @ x):
        assert isinstance(result, tr.Tensor) and result.requires_grad
    np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0])


# -- in-place edits ----------------------------------------------------------------------------


def test_in_place_edits_change_the_data_and_bump_the_version():
    x = tr.Tensor(np.array([1.0, 2.0]))
    data = x.numpy()
    versions = [x._version]
    x.copy_([3.0, 4.0])
    versions.append(x._version)
    x.add_(np.array([1.0, 1.0]), alpha=2.0)
    versions.append(x._version)
    x.mul_(0.5)
    versions.append(x._version)
    np.testing.assert_array_equal(x.numpy(), [2.5, 3.0])
    assert x.numpy() is data
    assert versions == sorted(set(versions))
    x.zero_()
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.0])
