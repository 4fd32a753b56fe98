"""The gradient_flow example (seed 002): the norms of dL/dh_t vanish or explode as the seed says."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_rnn import Tensor, manual_seed
from tinygrad_rnn.examples import run_example
from tinygrad_rnn.examples.gradient_flow import SETTINGS, build_cell, unroll
from tinygrad_rnn.viz import gradient_flow


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_norms_equal_the_backward_recursion_through_the_jacobians(nonlinearity):
    manual_seed(3)
    setting = next(s for s in SETTINGS if s.cell == nonlinearity)
    cell = build_cell(setting, hidden=6)
    inputs = np.random.default_rng(0).standard_normal((7, 3, 8))
    states = unroll(cell, Tensor(inputs))
    readout = np.random.default_rng(1).standard_normal(6)
    norms = gradient_flow(states, (states[-1] @ Tensor(readout)).sum()).norms

    # dL/dh_T = v; dL/dh_(t-1) = (f'(pre_t) * dL/dh_t) W_hh, with f' from the states.
    weight_hh = cell.weight_hh.numpy()
    h = [s.numpy() for s in states]
    upstream = np.tile(readout, (3, 1))
    expected = [np.linalg.norm(upstream)]
    for t in range(len(h) - 1, 0, -1):
        slope = 1 - h[t] ** 2 if nonlinearity == "tanh" else (h[t] > 0).astype(float)
        upstream = (slope * upstream) @ weight_hh
        expected.append(np.linalg.norm(upstream))
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-10)


def test_the_recurrent_weights_get_the_setting_gain_and_the_lstm_its_forget_bias():
    manual_seed(0)
    large = build_cell(SETTINGS[1], hidden=200)
    radius = np.abs(np.linalg.eigvals(large.weight_hh.numpy())).max()
    assert radius == pytest.approx(SETTINGS[1].gain, rel=0.15)
    lstm = build_cell(SETTINGS[3], hidden=5)
    forget_bias = lstm.bias_hh.numpy()[5:10]
    assert (forget_bias > 3 - 1 / np.sqrt(5)).all()


def test_short_run_shows_vanishing_and_exploding_and_draws_the_plot(tmp_path):
    results = run_example("gradient_flow", ["--steps", "40", "--hidden", "32", "--out", str(tmp_path),
                                            "--quiet"])
    verdicts = results["verdicts"]
    assert verdicts["tanh, small W (gain 0.5)"] == "vanishing"
    assert verdicts["tanh, large W (gain 3)"] == "exploding"
    assert verdicts["ReLU, gain 2"] == "exploding"
    assert verdicts["LSTM, forget bias +3"] == "kept"
    for norms in results["norms"].values():
        assert norms.shape == (40,)
        assert norms[-1] == pytest.approx(np.sqrt(16))  # v has norm 1 in each of 16 sequences
    pytest.importorskip("matplotlib")
    assert (tmp_path / "gradient_flow.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_default_run_spans_many_orders_of_magnitude(tmp_path):
    results = run_example("gradient_flow", ["--out", str(tmp_path), "--quiet"])
    assert results["norms"]["tanh, small W (gain 0.5)"][0] < 1e-20
    assert results["norms"]["ReLU, gain 2"][0] > 1e15
