"""Malformed input at the public API: a specific exception whose message names what was wrong,
never a bare numpy error from deep inside, never a silently wrong result, no state changed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import AnomalyError, DTypeError, Scalar, ShapeError, StateDictError, Tensor, nn, optim
from tinygrad_rnn.nn import functional

BINARY_OPS = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
    "Pow": lambda a, b: a**b,
    "Maximum": lambda a, b: a.maximum(b),
    "Minimum": lambda a, b: a.minimum(b),
}


@st.composite
def clashing_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes numpy cannot broadcast: one shared axis has sizes that differ and are not 1."""
    left = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    right = list(left[-draw(st.integers(1, len(left))):])
    axis = draw(st.integers(-len(right), -1))
    left[axis] = max(left[axis], 2)
    right[axis] = left[axis] + draw(st.integers(1, 2))
    if draw(st.booleans()):
        left, right = right, left
    return tuple(left), tuple(right)


@settings(max_examples=50, deadline=None)
@given(shapes=clashing_shapes(), op=st.sampled_from(sorted(BINARY_OPS)))
def test_binary_op_on_clashing_shapes_names_op_and_both_shapes(shapes, op):
    left, right = shapes
    a = Tensor(np.ones(left), requires_grad=True)
    b = Tensor(np.ones(right), requires_grad=True)
    with pytest.raises(ShapeError) as caught:
        BINARY_OPS[op](a, b)
    message = str(caught.value)
    assert message.startswith(f"{op}: ")
    assert str(left) in message and str(right) in message


@settings(max_examples=50, deadline=None)
@given(
    rows=st.integers(1, 4), inner=st.integers(1, 4), extra=st.integers(1, 3),
    cols=st.integers(1, 4), batch=st.sampled_from([(), (2,)]),
)
def test_matmul_with_mismatched_inner_sizes_names_both_shapes(rows, inner, extra, cols, batch):
    left, right = (*batch, rows, inner), (inner + extra, cols)
    with pytest.raises(ShapeError) as caught:
        Tensor(np.ones(left), requires_grad=True) @ Tensor(np.ones(right))
    message = str(caught.value)
    assert message.startswith("MatMul: ")
    assert str(left) in message and str(right) in message


@pytest.mark.parametrize(
    ("left", "right"),
    [((3,), (4,)), ((2, 3), (2,)), ((2, 3), ()), ((2, 2, 3), (4, 3, 2))],
)
def test_matmul_edge_shapes_raise_shape_error(left, right):
    with pytest.raises(ShapeError, match=r"^MatMul: ") as caught:
        Tensor(np.ones(left)).matmul(Tensor(np.ones(right)))
    assert str(left) in str(caught.value)


def test_where_with_a_condition_of_the_wrong_shape():
    with pytest.raises(ShapeError, match=r"^Where: .*\(5,\).*\(2, 3\)"):
        tr.where(np.ones(5, dtype=bool), tr.ones(2, 3), tr.zeros(2, 3))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (np.ones(3, dtype=complex), "complex128"),
        (np.array([1.0, "a"], dtype=object), "object"),
        (np.array(["1.5", "2"]), "<U3"),
        ([1.0, None], "object"),
        (["1.5"], "<U3"),
        ({"a": 1}, "object"),
    ],
)
def test_tensor_from_non_real_data_is_refused(data, what):
    with pytest.raises(DTypeError, match=rf"real numbers.*got dtype {what}"):
        Tensor(data)


def test_tensor_from_none_is_refused_not_nan():
    with pytest.raises(DTypeError, match="cannot make a Tensor from None"):
        Tensor(None)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8, bool])
def test_non_float_tensor_cannot_require_grad(dtype):
    expected = rf"only float tensors can require grad, got dtype {np.dtype(dtype)}"
    with pytest.raises(DTypeError, match=expected):
        Tensor(np.ones(3, dtype=dtype), requires_grad=True)


@pytest.mark.parametrize(
    "operand",
    [np.ones(3, dtype=complex), np.array([None, 1, 2], dtype=object), None, 1j, "x", [1.0, None, 2.0]],
)
def test_non_real_operand_is_refused_not_cast(operand):
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(DTypeError):
        x + operand
    with pytest.raises(DTypeError):
        operand * x


def test_boolean_arithmetic_names_op_and_dtypes():
    flags = Tensor(np.array([True, False]))
    with pytest.raises(DTypeError, match=r"^Sub: cannot apply to shape \(2,\) bool and shape \(2,\) bool"):
        flags - flags
    with pytest.raises(DTypeError, match=r"^Neg: cannot apply to shape \(2,\) bool"):
        _ = -flags


def test_integer_and_boolean_data_still_mix_with_floats_as_numpy_promotes():
    x = Tensor(np.array([1.5, 2.5]), requires_grad=True)
    out = (x * Tensor(np.array([2, 3])) + Tensor(np.array([True, False]))).sum()
    out.backward()
    assert out.item() == 1.5 * 2 + 1 + 2.5 * 3
    np.testing.assert_array_equal(x.grad.data, [2.0, 3.0])


def test_scalar_mixed_with_an_array_says_to_use_tensors():
    with pytest.raises(DTypeError, match=r"Scalar op produced ndarray of shape \(2, 3\).*use Tensors"):
        Scalar(1.0) + tr.ones(2, 3)


@pytest.mark.parametrize("bad", ["a", None, 1j])
def test_scalar_with_a_non_number_operand(bad):
    with pytest.raises(DTypeError):
        Scalar(1.0) * bad


@pytest.mark.parametrize("data", ["abc", None, [1.0, 2.0], 1j])
def test_scalar_from_a_non_number(data):
    with pytest.raises(DTypeError, match="Scalar data must be a real number"):
        Scalar(data)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: x.reshape(4), r"^Reshape: .*\(2, 3\).*size 6 into shape \(4,\)"),
        (lambda x: x.sum(axis=2), r"^Sum: .*axis 2 is out of bounds"),
        (lambda x: x.softmax(axis=-3), r"^Softmax: .*axis -3 is out of bounds"),
        (lambda x: x.permute(0, 0), r"^Permute: .*repeated axis"),
        (lambda x: x.expand(4, 3), r"^Expand: .*\(2, 3\)"),
        (lambda x: x.unbind(2), r"^unbind: axis 2 is out of range for a tensor of shape \(2, 3\)"),
        (lambda x: x.split(1, axis=-3), r"^split: axis -3 is out of range"),
        (lambda x: x.split([1, 5]), r"^split: sizes \[1, 5\] do not add up to axis length 2"),
        (lambda x: tr.concat([x, tr.ones(3)]), r"^Concat: .*\(2, 3\) and \(3,\)"),
        (lambda x: tr.stack([x, tr.ones(3, 2)]), r"^Stack: .*\(2, 3\) and \(3, 2\)"),
        (lambda x: (x * 2).backward(np.ones(3)), r"gradient has shape \(3,\) but the output has shape"),
    ],
)
def test_shape_mistakes_in_tensor_methods(call, message):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ShapeError, match=message):
        call(x)


def test_non_integer_shape_argument_names_op():
    with pytest.raises(DTypeError, match=r"^Reshape: cannot apply to shape \(2, 3\) float64"):
        tr.ones(2, 3, dtype=np.float64).reshape("a")


def test_unbind_of_a_0d_tensor():
    with pytest.raises(ShapeError, match=r"unbind: axis 0 is out of range for a tensor of shape \(\)"):
        Tensor(1.0).unbind()


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda t: t.add_(np.ones(4)), ShapeError, r"^add_: .*shape \(4,\).*shape \(2, 3\)"),
        (lambda t: t.mul_(np.ones((3, 3))), ShapeError, r"^mul_: .*shape \(3, 3\)"),
        (lambda t: t.copy_(np.ones(4)), ShapeError, r"^copy_: source shape \(4,\)"),
        (lambda t: t.add_(None), DTypeError, r"^add_: cannot apply NoneType"),
        (lambda t: t.mul_("a"), DTypeError, r"^mul_: cannot apply str"),
    ],
)
def test_failed_in_place_edit_leaves_data_and_version_unchanged(edit, error, message):
    data = np.arange(6.0).reshape(2, 3)
    target = Tensor(data.copy())
    version = target._version
    with pytest.raises(error, match=message):
        edit(target)
    np.testing.assert_array_equal(target.data, data)
    assert target._version == version


def test_integer_tensor_in_place_float_edit_is_refused_not_truncated():
    counts = Tensor(np.array([1, 2, 3]))
    with pytest.raises(DTypeError, match=r"^add_: cannot apply float in place to a int64 tensor"):
        counts.add_(0.5)
    np.testing.assert_array_equal(counts.data, [1, 2, 3])


UNARY_OPS = {
    "Exp": Tensor.exp, "Log": Tensor.log, "Sqrt": Tensor.sqrt, "Tanh": Tensor.tanh,
    "Sigmoid": Tensor.sigmoid, "Relu": Tensor.relu, "Abs": Tensor.abs, "Sum": Tensor.sum,
    "Softmax": Tensor.softmax, "Neg": Tensor.__neg__,
}


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 6), data=st.data(), bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    op=st.sampled_from(sorted(UNARY_OPS) + sorted(BINARY_OPS) + ["MatMul"]),
)
def test_nan_or_inf_in_input_with_anomaly_mode_names_the_op_and_input(size, data, bad, op):
    values = np.full(size, 0.5)
    values[data.draw(st.integers(0, size - 1))] = bad
    clean = Tensor(np.full(size, 0.5))
    poisoned = Tensor(values, requires_grad=True)
    poisoned_first = data.draw(st.booleans())
    if op in UNARY_OPS:
        run, index = (lambda: UNARY_OPS[op](poisoned)), 0
    else:
        apply = BINARY_OPS[op] if op != "MatMul" else (lambda a, b: a @ b)
        pair = (poisoned, clean) if poisoned_first else (clean, poisoned)
        run, index = (lambda: apply(*pair)), (0 if poisoned_first else 1)
    with np.errstate(all="ignore"):
        spreads = not np.isfinite(run().data).all()
        if not spreads:
            # Only an infinity can be absorbed (tanh(inf) = 1, exp(-inf) = 0); NaN always spreads.
            assert not np.isnan(bad)
            with tr.detect_anomaly():
                run()
            return
        with tr.detect_anomaly(), pytest.raises(AnomalyError) as caught:
            run()
    assert str(caught.value).startswith(f"{op}: input {index} ")
    assert f"contains {'NaN' if np.isnan(bad) else 'Inf'}" in str(caught.value)


# -- recurrent modules ---------------------------------------------------------------------------

INPUT_SIZE, HIDDEN_SIZE = 3, 4


@pytest.fixture(scope="module")
def rnn() -> nn.RNN:
    tr.manual_seed(0)
    return nn.RNN(INPUT_SIZE, HIDDEN_SIZE)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 4), features=st.integers(1, 5))
def test_rnn_given_batch_by_features_instead_of_a_sequence(rnn, batch, features):
    with pytest.raises(ShapeError) as caught:
        rnn(tr.ones(batch, features))
    message = str(caught.value)
    assert message.startswith("RNN: expected a 3-D input (T, batch, features)")
    assert f"got shape {(batch, features)}" in message


@settings(max_examples=25, deadline=None)
@given(steps=st.integers(1, 4), batch=st.integers(1, 3),
       features=st.integers(1, 6).filter(lambda f: f != INPUT_SIZE))
def test_rnn_given_the_wrong_feature_size(rnn, steps, batch, features):
    with pytest.raises(ShapeError) as caught:
        rnn(tr.ones(steps, batch, features))
    assert str(caught.value) == (
        f"RNN: input has {features} features (shape {(steps, batch, features)}) "
        f"but input_size is {INPUT_SIZE}"
    )


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple).filter(
    lambda shape: shape != (1, 2, HIDDEN_SIZE)))
def test_rnn_given_an_initial_state_of_the_wrong_shape(rnn, shape):
    with pytest.raises(ShapeError) as caught:
        rnn(tr.ones(5, 2, INPUT_SIZE), tr.zeros(*shape))
    message = str(caught.value)
    assert message.startswith("RNN: h_0 must have shape")
    assert f"= {(1, 2, HIDDEN_SIZE)}, got {shape}" in message


def test_lstm_given_one_state_instead_of_a_pair():
    with pytest.raises(TypeError, match=r"^LSTM: hx must be a pair \(h_0, c_0\) or None"):
        nn.LSTM(INPUT_SIZE, HIDDEN_SIZE)(tr.ones(5, 2, INPUT_SIZE), tr.zeros(1, 2, HIDDEN_SIZE))


def test_cell_given_a_sequence_instead_of_one_step():
    with pytest.raises(ShapeError, match=r"^RNNCell: expected input of shape \(batch, 3\), got \(5, 2, 3\)"):
        nn.RNNCell(INPUT_SIZE, HIDDEN_SIZE)(tr.ones(5, 2, INPUT_SIZE))


@pytest.mark.parametrize(
    ("dtype", "shown"),
    [(np.int64, "got dtype int64"), (np.int32, "got dtype int32"), (bool, "got dtype bool"),
     (complex, "got dtype complex128"), (object, "got dtype object")],
)
def test_modules_given_non_float_input(rnn, dtype, shown):
    data = np.ones((5, 2, INPUT_SIZE), dtype=dtype)
    with pytest.raises(DTypeError, match=rf"^RNN: input must be a float tensor.*{shown}"):
        rnn(data)
    with pytest.raises(DTypeError, match=rf"^Linear: input must be a float tensor.*{shown}"):
        nn.Linear(INPUT_SIZE, 2)(data)


@pytest.mark.parametrize("dtype", [np.int64, bool, complex, object])
def test_rnn_given_a_non_float_initial_state(rnn, dtype):
    with pytest.raises(DTypeError, match=rf"^RNN: h_0 must be a float tensor.*got dtype {np.dtype(dtype)}"):
        rnn(tr.ones(5, 2, INPUT_SIZE), np.zeros((1, 2, HIDDEN_SIZE), dtype=dtype))


def test_rnn_input_with_nan_in_anomaly_mode_names_the_first_op_and_the_module(rnn):
    data = np.ones((5, 2, INPUT_SIZE), dtype=np.float32)
    data[3, 1, 0] = np.nan
    with tr.detect_anomaly(), pytest.raises(AnomalyError) as caught:
        rnn(data)
    message = str(caught.value)
    assert "input 0 `x` (shape (5, 2, 3) float32) contains NaN" in message
    assert "first at (3, 1, 0)" in message
    assert "in scope RNN" in message


def test_nan_in_padding_past_the_lengths_is_no_anomaly(rnn):
    data = np.ones((5, 2, INPUT_SIZE), dtype=np.float32)
    padded = data.copy()
    padded[3:, 1] = np.nan
    lengths = np.array([5, 3])
    with tr.detect_anomaly():
        output, h_n = rnn(padded, lengths=lengths)
        output.sum().backward()
    expected_output, expected_h = rnn(data, lengths=lengths)
    np.testing.assert_array_equal(output.data, expected_output.data)
    np.testing.assert_array_equal(h_n.data, expected_h.data)


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(1, 4), data=st.data())
def test_rnn_lengths_outside_one_to_t(rnn, steps, data):
    bad = data.draw(st.one_of(st.integers(-3, 0), st.integers(steps + 1, steps + 4)))
    good = data.draw(st.integers(1, steps))
    lengths = data.draw(st.permutations([bad, good]))
    with pytest.raises(ValueError) as caught:
        rnn(tr.ones(steps, 2, INPUT_SIZE), lengths=np.array(lengths))
    assert str(caught.value) == f"RNN: every length must be in 1..T = 1..{steps}, got {bad}"


@pytest.mark.parametrize(
    ("lengths", "error", "message"),
    [
        ([2.5, 3.0], DTypeError, r"^RNN: lengths must be integers, got dtype float64"),
        ([True, True], DTypeError, r"^RNN: lengths must be integers, got dtype bool"),
        ([1, 2, 3], ShapeError, r"^RNN: lengths must have shape \(batch,\) = \(2,\), got \(3,\)"),
    ],
)
def test_rnn_lengths_of_the_wrong_type_or_count(rnn, lengths, error, message):
    with pytest.raises(error, match=message):
        rnn(tr.ones(5, 2, INPUT_SIZE), lengths=lengths)


# -- losses ----------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    classes=st.integers(1, 5), lead=st.sampled_from([(), (4,), (3, 2)]), data=st.data(),
)
def test_cross_entropy_with_an_out_of_range_class_index(classes, lead, data):
    bad = data.draw(st.one_of(st.integers(classes, classes + 5), st.integers(-5, -1)))
    target = np.zeros(lead, dtype=np.int64)
    target[data.draw(st.sampled_from(list(np.ndindex(*lead))))] = bad
    logits = Tensor(np.zeros((*lead, classes)), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        functional.cross_entropy(logits, target)
    assert str(caught.value).startswith(
        f"cross_entropy: class index {bad} is out of range for {classes} classes "
        f"(valid: 0 to {classes - 1}"
    )


def test_cross_entropy_with_a_target_of_the_wrong_shape_or_dtype():
    logits = Tensor(np.zeros((4, 3)), requires_grad=True)
    with pytest.raises(ShapeError, match=r"^cross_entropy: target of shape \(3,\) does not match input"):
        functional.cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(DTypeError, match=r"^cross_entropy: class indices must be integers, got dtype bool"):
        functional.cross_entropy(logits, np.array([True, False, True, False]))
    with pytest.raises(ShapeError, match=r"^cross_entropy: probability targets must have"):
        functional.cross_entropy(logits, np.array([0.0, 1.0, 2.0, 1.0]))


# -- optimizers ------------------------------------------------------------------------------------

OPTIMIZERS = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("empty", [[], (), iter([])])
def test_optimizer_given_no_parameters(optimizer, empty):
    with pytest.raises(ValueError, match=rf"^{optimizer.__name__} got an empty parameter list"):
        optimizer(empty, lr=0.1)


@settings(max_examples=20, deadline=None)
@given(optimizer=st.sampled_from(OPTIMIZERS),
       lr=st.floats(max_value=0.0, exclude_max=True, allow_infinity=True) | st.just(float("nan")))
def test_optimizer_given_a_negative_or_nan_learning_rate(rnn, optimizer, lr):
    with pytest.raises(ValueError) as caught:
        optimizer(rnn.parameters(), lr=lr)
    assert str(caught.value) == f"{optimizer.__name__}: invalid lr: {lr} (must be >= 0)"


@pytest.mark.parametrize("lr", [None, "0.1"])
def test_optimizer_given_a_learning_rate_that_is_not_a_number(rnn, lr):
    with pytest.raises(TypeError, match=rf"^SGD: invalid lr: {lr!r} \(must be a number >= 0\)"):
        optim.SGD(rnn.parameters(), lr=lr)


def test_optimizer_given_the_module_instead_of_its_parameters(rnn):
    with pytest.raises(TypeError, match=r"got RNN; pass module.parameters\(\)"):
        optim.Adam(rnn)


def test_optimizer_load_state_dict_given_something_else_leaves_it_unchanged(rnn):
    optimizer = optim.Adam(rnn.parameters(), lr=0.5)
    for wrong in (None, {"foo": 1}, [1, 2]):
        with pytest.raises(StateDictError, match=r"^Adam.load_state_dict: expected a dict with 'state'"):
            optimizer.load_state_dict(wrong)
    assert optimizer.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("clip", [optim.clip_grad_norm_, optim.clip_grad_value_])
def test_gradient_clipping_given_the_module_instead_of_its_parameters(rnn, clip):
    with pytest.raises(TypeError, match=rf"^{clip.__name__}: .*got RNN; pass module.parameters\(\)"):
        clip(rnn, 1.0)


def test_linear_given_the_wrong_feature_size():
    with pytest.raises(ShapeError, match=r"^Linear: expected input of shape \(\.\.\., 3\), got \(2, 4\)"):
        nn.Linear(3, 2)(tr.ones(2, 4))


@pytest.mark.parametrize(
    ("index", "error", "message"),
    [
        (np.array([0, 5]), ValueError, r"^Embedding: index 5 is out of range for 5 embeddings"),
        (np.array([-1]), ValueError, r"^Embedding: index -1 is out of range for 5 embeddings"),
        (np.array([1.0]), DTypeError, r"^Embedding: indices must be integers, got dtype float64"),
    ],
)
def test_embedding_given_bad_indices(index, error, message):
    with pytest.raises(error, match=message):
        nn.Embedding(5, 3)(index)


# -- state dicts -------------------------------------------------------------------------------------


def model_snapshot(model: nn.Module) -> dict[str, bytes]:
    return {name: (p.dtype.str, p.shape, p.data.tobytes()) for name, p in model.named_parameters()}


CORRUPTIONS = {
    "missing": lambda state, key: state.pop(key),
    "extra": lambda state, key: state.__setitem__(key + "_extra", state[key]),
    "transposed": lambda state, key: state.__setitem__(key, np.ones(state[key].shape[::-1] + (2,))),
    "flattened": lambda state, key: state.__setitem__(key, state[key].reshape(-1)[:-1]),
    "integer": lambda state, key: state.__setitem__(key, state[key].astype(np.int64)),
    "boolean": lambda state, key: state.__setitem__(key, state[key] > 0),
    "complex": lambda state, key: state.__setitem__(key, state[key].astype(complex)),
    "object": lambda state, key: state.__setitem__(key, state[key].astype(object)),
    "string": lambda state, key: state.__setitem__(key, "weights"),
    "none": lambda state, key: state.__setitem__(key, None),
}


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kinds=st.lists(st.sampled_from(sorted(CORRUPTIONS)), min_size=1, max_size=3))
def test_load_state_dict_refuses_bad_entries_and_leaves_the_model_unchanged(data, kinds):
    tr.manual_seed(1)
    model = nn.LSTM(2, 3, num_layers=2)
    before = model_snapshot(model)
    donor = nn.LSTM(2, 3, num_layers=2)
    state = donor.state_dict()
    keys = sorted(state)
    chosen = data.draw(st.lists(st.sampled_from(keys), min_size=len(kinds), max_size=len(kinds),
                                unique=True))
    for kind, key in zip(kinds, chosen):
        CORRUPTIONS[kind](state, key)
    with pytest.raises(StateDictError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert message.startswith("load_state_dict into LSTM: ")
    assert "no parameter was changed" in message
    for key in chosen:
        assert repr(key) in message or repr(key + "_extra") in message
    assert model_snapshot(model) == before


def test_load_state_dict_given_something_that_is_not_a_mapping(rnn):
    before = model_snapshot(rnn)
    for wrong in (rnn, None, [("weight_ih_l0", np.ones((4, 3)))]):
        with pytest.raises(TypeError, match=r"^load_state_dict into RNN: expected a mapping"):
            rnn.load_state_dict(wrong)
    assert model_snapshot(rnn) == before
