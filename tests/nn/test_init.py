"""Initialisers: ranges and spreads from their formulas, orthogonality, reproducibility."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.nn import init


def empty(*shape, dtype=np.float64):
    return nn.Parameter(np.empty(shape, dtype=dtype))


def test_uniform_fills_the_interval():
    tr.manual_seed(0)
    values = init.uniform_(empty(100, 100), -2.0, 3.0).numpy()
    assert values.min() >= -2.0 and values.max() < 3.0
    assert abs(values.mean() - 0.5) < 0.05


def test_normal_has_the_requested_mean_and_std():
    tr.manual_seed(0)
    values = init.normal_(empty(200, 200), 1.0, 0.5).numpy()
    assert abs(values.mean() - 1.0) < 0.01 and abs(values.std() - 0.5) < 0.01


def test_constant_zeros_and_ones():
    tensor = empty(2, 3)
    np.testing.assert_array_equal(init.constant_(tensor, 0.25).numpy(), np.full((2, 3), 0.25))
    np.testing.assert_array_equal(init.zeros_(tensor).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.ones_(tensor).numpy(), np.ones((2, 3)))


def test_initialisers_keep_the_tensor_dtype_and_identity():
    tensor = empty(3, 4, dtype=np.float32)
    assert init.xavier_normal_(tensor) is tensor
    assert tensor.dtype == np.float32


def test_xavier_uniform_bound_is_gain_times_sqrt_six_over_fans():
    tr.manual_seed(1)
    values = init.xavier_uniform_(empty(300, 200), gain=2.0).numpy()
    bound = 2.0 * math.sqrt(6.0 / 500)
    assert values.max() <= bound and values.min() >= -bound
    assert values.max() > 0.99 * bound
    assert init.glorot_uniform_ is init.xavier_uniform_


def test_xavier_normal_std_is_gain_times_sqrt_two_over_fans():
    tr.manual_seed(2)
    values = init.xavier_normal_(empty(300, 200)).numpy()
    assert abs(values.std() - math.sqrt(2.0 / 500)) < 0.002


def test_kaiming_uniform_and_normal_follow_he_et_al():
    tr.manual_seed(3)
    relu_std = math.sqrt(2.0) / math.sqrt(200)
    values = init.kaiming_normal_(empty(300, 200), nonlinearity="relu").numpy()
    assert abs(values.std() - relu_std) < 0.002
    values = init.kaiming_uniform_(empty(300, 200), nonlinearity="relu", mode="fan_out").numpy()
    bound = math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(300)
    assert values.max() <= bound and values.max() > 0.99 * bound
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(empty(2, 2), mode="fan")


def test_kaiming_uniform_with_slope_sqrt5_gives_pytorch_linear_bound():
    tr.manual_seed(4)
    values = init.kaiming_uniform_(empty(500, 40), a=math.sqrt(5)).numpy()
    bound = 1 / math.sqrt(40)
    assert values.max() <= bound and values.max() > 0.99 * bound


def test_calculate_gain_values():
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")


def test_fans_count_receptive_fields():
    assert init.fan_in_and_fan_out(empty(4, 3, 2, 5)) == (30, 40)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fan_in_and_fan_out(empty(4))


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3), (4, 2, 3)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    tr.manual_seed(5)
    values = init.orthogonal_(empty(*shape), gain=1.5).numpy().reshape(shape[0], -1) / 1.5
    rows, cols = values.shape
    gram = values @ values.T if rows <= cols else values.T @ values
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)


def test_manual_seed_makes_model_creation_reproducible():
    def build():
        return nn.Sequential(nn.Linear(3, 4), nn.RNN(4, 5), nn.Embedding(6, 2))

    tr.manual_seed(11)
    first = build().state_dict()
    tr.manual_seed(11)
    second = build().state_dict()
    tr.manual_seed(12)
    third = build().state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert not np.array_equal(first["0.weight"], third["0.weight"])


def test_initialisers_bump_the_version_of_the_tensor():
    tensor = empty(2, 2)
    version = tensor._version
    init.normal_(tensor)
    assert tensor._version > version
