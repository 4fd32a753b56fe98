"""Linear, Embedding, Dropout, Sequential and ModuleList."""

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as st_tr

# -- Linear -------------------------------------------------------------------------------------


@settings(max_examples=40)
@given(data=st.data(), lead=st_tr.shapes(min_dims=1, max_dims=3, max_side=3),
       features=st.integers(1, 4), outputs=st.integers(1, 4), bias=st.booleans())
def test_linear_gradients_match_finite_differences(data, lead, features, outputs, bias):
    layer = nn.Linear(features, outputs, bias=bias, dtype=np.float64)
    x = data.draw(st_tr.tensors((*lead, features)))
    gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


@settings(max_examples=40)
@given(data=st.data(), lead=st_tr.shapes(min_dims=0, max_dims=3, max_side=3),
       features=st.integers(1, 4), outputs=st.integers(1, 4))
def test_linear_equals_x_times_weight_transposed_plus_bias(data, lead, features, outputs):
    layer = nn.Linear(features, outputs, dtype=np.float64)
    x = data.draw(st_tr.arrays((*lead, features)))
    expected = x @ layer.weight.numpy().T + layer.bias.numpy()
    out = layer(tr.Tensor(x))
    assert out.shape == (*lead, outputs)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    tr.manual_seed(0)
    layer = nn.Linear(16, 400)
    bound = 1 / np.sqrt(16)
    for parameter in (layer.weight, layer.bias):
        values = parameter.numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.min() < -0.9 * bound and values.max() > 0.9 * bound  # fills the range
    assert layer.weight.dtype == np.float32


def test_linear_rejects_wrong_feature_size_naming_both_shapes():
    with pytest.raises(tr.ShapeError, match=r"\(\.\.\., 3\), got \(2, 4\)"):
        nn.Linear(3, 2)(tr.Tensor(np.ones((2, 4))))


def test_linear_rejects_non_positive_sizes():
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 2)


@pytest.mark.torch
def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    reference = torch.nn.Linear(4, 3).double()
    layer = nn.Linear(4, 3, dtype=np.float64)
    layer.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 5, 4))
    x_t = torch.tensor(x, requires_grad=True)
    reference(x_t).pow(2).sum().backward()
    x_ours = tr.Tensor(x, requires_grad=True)
    (layer(x_ours) ** 2).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), reference.weight.grad.numpy(), rtol=1e-12)


# -- Embedding ----------------------------------------------------------------------------------


def test_embedding_looks_up_rows_for_any_index_shape():
    table = nn.Embedding(5, 3, dtype=np.float64)
    indices = np.array([[4, 0], [2, 2]])
    out = table(indices)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), table.weight.numpy()[indices])


@settings(max_examples=40)
@given(data=st.data(), rows=st.integers(1, 4), dim=st.integers(1, 3),
       shape=st_tr.shapes(min_dims=1, max_dims=2, max_side=3), padding=st.booleans())
def test_embedding_gradients_match_finite_differences(data, rows, dim, shape, padding):
    table = nn.Embedding(rows, dim, padding_idx=0 if padding else None, dtype=np.float64)
    indices = data.draw(st_tr.arrays(shape, dtype=np.int64, elements=st.integers(0, rows - 1)))
    gradcheck(lambda weight: table(indices), [table.weight])


def test_embedding_gradient_accumulates_for_repeated_indices():
    table = nn.Embedding(4, 2, dtype=np.float64)
    table(np.array([1, 3, 1, 1])).sum().backward()
    np.testing.assert_array_equal(table.weight.grad.numpy(), [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    table = nn.Embedding(4, 2, padding_idx=0, dtype=np.float64)
    np.testing.assert_array_equal(table.weight.numpy()[0], [0, 0])
    out = table(np.array([0, 2, 0]))
    np.testing.assert_array_equal(out.numpy()[0], [0, 0])
    out.sum().backward()
    np.testing.assert_array_equal(table.weight.grad.numpy(), [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_embedding_rejects_out_of_range_and_float_indices():
    table = nn.Embedding(4, 2)
    with pytest.raises(ValueError, match="index 4 is out of range for 4"):
        table(np.array([1, 4]))
    with pytest.raises(ValueError, match="index -1"):
        table(np.array([-1]))
    with pytest.raises(tr.DTypeError, match="integers"):
        table(np.array([1.0]))


def test_embedding_default_init_is_standard_normal():
    tr.manual_seed(3)
    values = nn.Embedding(200, 50).weight.numpy()
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1) < 0.02


# -- Dropout ------------------------------------------------------------------------------------


def test_dropout_module_is_active_only_in_training():
    layer = nn.Dropout(0.5)
    x = tr.Tensor(np.ones((50, 40)))
    dropped = layer(x).numpy()
    assert set(np.unique(dropped)) <= {0.0, 2.0}
    assert 0.4 < (dropped == 0).mean() < 0.6
    layer.eval()
    assert layer(x) is x


def test_dropout_rejects_probabilities_outside_zero_one():
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


# -- Sequential and ModuleList ------------------------------------------------------------------


def test_sequential_applies_modules_in_order():
    first, second = nn.Linear(2, 3, dtype=np.float64), nn.Linear(3, 1, dtype=np.float64)
    model = nn.Sequential(first, nn.Tanh(), second)
    x = np.random.default_rng(0).standard_normal((4, 2))
    expected = np.tanh(x @ first.weight.numpy().T + first.bias.numpy())
    expected = expected @ second.weight.numpy().T + second.bias.numpy()
    np.testing.assert_allclose(model(tr.Tensor(x)).numpy(), expected, rtol=1e-12)
    assert len(model) == 3 and model[0] is first and model[-1] is second
    assert list(model[1:]) == list(model)[1:]


def test_sequential_from_ordered_dict_uses_its_names():
    model = nn.Sequential(OrderedDict([("encode", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [name for name, _ in model.named_children()] == ["encode", "act"]
    assert list(model.state_dict()) == ["encode.weight", "encode.bias"]


def test_module_list_indexing_append_and_set():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 3)).extend([nn.Linear(3, 1)])
    assert len(layers) == 3
    assert layers[-1].out_features == 1
    replacement = nn.Linear(2, 4)
    layers[1] = replacement
    assert layers[1] is replacement
    assert [n for n, _ in layers.named_parameters()][2:4] == ["1.weight", "1.bias"]
    with pytest.raises(IndexError, match="out of range"):
        layers[3]
