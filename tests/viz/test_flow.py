"""gradient_flow: norms of dL/dh_t against hand-derived BPTT; vanishing and exploding gradients."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.viz import GradientFlow, gradient_flow, hidden_states, scope


def run_tanh_rnn(xs, u, w, b, h0, readout):
    """h_t = tanh(x_t U + h_{t-1} W + b) built from Tensor ops; loss = sum_t sum(h_t * v_t)."""
    u_, w_, b_ = (tr.Tensor(a, requires_grad=True) for a in (u, w, b))
    h = tr.Tensor(h0)
    states, loss = [], None
    for t in range(len(xs)):
        with scope(f"t={t}"):
            h = (tr.Tensor(xs[t]) @ u_ + h @ w_ + b_).tanh()
        states.append(h)
        term = (h * tr.Tensor(readout[t])).sum()
        loss = term if loss is None else loss + term
    return states, loss, (u_, w_, b_)


def bptt_norms(xs, u, w, b, h0, readout):
    """The seeds' backward loop in numpy: dh_t = v_t + (dh_{t+1} * (1 - h_{t+1}^2)) W^T."""
    hs, h = [], h0
    for x in xs:
        h = np.tanh(x @ u + h @ w + b)
        hs.append(h)
    norms = [0.0] * len(xs)
    upstream = np.zeros_like(h0)
    for t in reversed(range(len(xs))):
        dh = readout[t] + upstream
        norms[t] = float(np.sqrt(np.sum(dh * dh)))
        upstream = (dh * (1.0 - hs[t] ** 2)) @ w.T
    return norms


@settings(max_examples=30, deadline=None)
@given(steps=st.integers(1, 6), batch=st.integers(1, 3), hidden=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_norms_match_hand_derived_bptt(steps, batch, hidden, seed):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, batch, 2))
    u, w = rng.standard_normal((2, hidden)), rng.standard_normal((hidden, hidden))
    b, h0 = rng.standard_normal(hidden), rng.standard_normal((batch, hidden))
    readout = rng.standard_normal((steps, batch, hidden))
    states, loss, _ = run_tanh_rnn(xs, u, w, b, h0, readout)
    flow = gradient_flow(states, loss)
    assert flow.steps == list(range(steps))
    np.testing.assert_allclose(flow.norms, bptt_norms(xs, u, w, b, h0, readout), rtol=1e-10)


def orthogonal(size, scale, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((size, size)))
    return scale * q


@pytest.mark.parametrize(("case", "scale", "inputs", "h0"), [
    ("small W vanishes", 0.5, 0.0, 0.5),
    ("saturated tanh vanishes even with a large W", 3.0, 3.0, 0.5),
    ("large W explodes while tanh stays linear", 1.5, 0.0, 1e-8),
])
def test_vanishing_and_exploding_gradients(case, scale, inputs, h0):
    steps, hidden = 20, 4
    rng = np.random.default_rng(3)
    xs = inputs * rng.standard_normal((steps, 1, 2))
    u, w = rng.standard_normal((2, hidden)), orthogonal(hidden, scale)
    readout = np.zeros((steps, 1, hidden))
    readout[-1] = 1.0  # the loss reads only the last state
    states, loss, _ = run_tanh_rnn(xs, u, w, np.zeros(hidden), np.full((1, hidden), h0), readout)
    norms = gradient_flow(states, loss).norms
    ratio = norms[0] / norms[-1]
    if "explodes" in case:
        # near-linear tanh: each step back multiplies the norm by ~1.5, 1.5**19 ~ 2217
        assert 1e3 < ratio < 1.5**19 * 1.01
        assert np.all(np.diff(norms) < 0)
    else:
        assert ratio < 1e-4


def test_hidden_states_of_an_nn_rnn_give_bptt_norms():
    tr.manual_seed(2)
    rnn = tr.nn.RNN(3, 4, dtype=np.float64)
    x = np.random.default_rng(5).standard_normal((6, 2, 3))
    readout = np.random.default_rng(6).standard_normal((6, 2, 4))
    output, _ = rnn(tr.Tensor(x))
    loss = (output * tr.Tensor(readout)).sum()
    states = hidden_states(loss, "RNN")
    assert sorted(states) == list(range(6)) and all(len(v) == 1 for v in states.values())
    flow = gradient_flow(states.values(), loss, steps=states.keys())
    weights = {k: np.asarray(v, dtype=np.float64) for k, v in rnn.state_dict().items()}
    expected = bptt_norms(x, weights["weight_ih_l0"].T, weights["weight_hh_l0"].T,
                          weights["bias_ih_l0"] + weights["bias_hh_l0"], np.zeros((2, 4)), readout)
    np.testing.assert_allclose(flow.norms, expected, rtol=1e-9)


def test_states_of_both_directions_of_a_birnn_are_taken_together():
    tr.manual_seed(4)
    birnn = tr.nn.BiRNN(2, 3, dtype=np.float64)
    output, _ = birnn(tr.Tensor(np.random.default_rng(0).standard_normal((5, 1, 2))))
    loss = output.sum()
    states = hidden_states(loss)
    assert all(len(pair) == 2 for pair in states.values())
    forward, backward = output.data[..., :3], output.data[..., 3:]
    for t, pair in states.items():
        values = sorted((p.data for p in pair), key=lambda a: float(a.sum()))
        expected = sorted((forward[t], backward[t]), key=lambda a: float(a.sum()))
        for got, want in zip(values, expected):
            np.testing.assert_allclose(got, want)


def test_flow_leaves_gradients_alone_and_backward_still_works():
    rng = np.random.default_rng(1)
    args = (rng.standard_normal((4, 1, 2)), rng.standard_normal((2, 3)),
            rng.standard_normal((3, 3)), rng.standard_normal(3), np.zeros((1, 3)),
            rng.standard_normal((4, 1, 3)))
    states, loss, params = run_tanh_rnn(*args)
    _, reference_loss, reference_params = run_tanh_rnn(*args)
    gradient_flow(states, loss)
    assert all(p.grad is None for p in params) and all(s.grad is None for s in states)
    loss.backward()
    reference_loss.backward()
    for got, want in zip(params, reference_params):
        np.testing.assert_array_equal(got.grad.numpy(), want.grad.numpy())


def test_a_state_the_loss_does_not_use_has_norm_zero():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    used, unused = x * 2.0, x * 3.0
    flow = gradient_flow([used, unused], used.sum())
    assert flow.rows == ((0, pytest.approx(np.sqrt(2.0))), (1, 0.0))


def test_table_lists_each_step_with_longer_bars_for_larger_norms():
    flow = GradientFlow(((0, 1e-6), (1, 1e-3), (2, 1.0)))
    lines = str(flow).splitlines()
    assert len(lines) == 4 and "dL/dh_t" in lines[0]
    assert lines[1].split()[:2] == ["0", "1.000e-06"]
    bars = [line.count("#") for line in lines[1:]]
    assert bars[0] < bars[1] < bars[2]


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = GradientFlow(((0, 0.1), (1, 0.5), (2, 2.0))).plot(str(tmp_path / "flow.png"))
    with open(path, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        GradientFlow(((0, 1.0),)).plot(str(tmp_path / "flow.png"))


def test_hidden_states_need_one_recurrent_module():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="one recurrent module"):
        hidden_states((x * 2).sum())
    tr.manual_seed(0)
    rnn = tr.nn.RNN(2, 2)
    output, _ = rnn(tr.randn(3, 1, 2))
    with pytest.raises(ValueError, match="'decoder'"):
        hidden_states(output.sum(), "decoder")
