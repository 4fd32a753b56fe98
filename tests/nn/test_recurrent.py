"""Recurrent cells and layers: numpy references, finite differences, Scalars, seeds, torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tests.nn.reference import gru_forward, lstm_forward, rnn_bptt, rnn_forward, sigmoid
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as st_tr

KINDS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
F64 = np.float64


def params_of(module):
    return {name: p.numpy() for name, p in module.named_parameters()}


def reference_layers(kind, params, x, h0, c0, num_layers, directions):
    """Stacked (bi)directional layers from the single-direction numpy references.

    x (T, B, F) time-major; h0, c0 (layers * directions, B, H). Returns output, h_n, c_n.
    """
    layer_input = x
    finals_h, finals_c = [], []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [params[name + suffix] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            sequence = layer_input[::-1] if direction else layer_input
            index = layer * directions + direction
            if kind == "LSTM":
                states, c = lstm_forward(sequence, h0[index], c0[index], *weights)
                finals_c.append(c)
            elif kind == "GRU":
                states = gru_forward(sequence, h0[index], *weights)
            else:
                states = rnn_forward(sequence, h0[index], *weights)
            finals_h.append(states[-1])
            outputs.append(states[::-1] if direction else states)
        layer_input = np.concatenate(outputs, axis=-1)
    return layer_input, np.stack(finals_h), (np.stack(finals_c) if kind == "LSTM" else None)


def flat_outputs(result):
    """(output, h_n) or (output, (h_n, c_n)) as a flat tuple of tensors."""
    output, state = result
    return (output, *state) if isinstance(state, tuple) else (output, state)


def run(module, x, hx=None, lengths=None):
    return flat_outputs(module(x, hx, lengths=lengths))


@st.composite
def layer_configs(draw, max_layers=2):
    return {
        "kind": draw(st.sampled_from(sorted(KINDS))),
        "input_size": draw(st.integers(1, 4)),
        "hidden_size": draw(st.integers(1, 4)),
        "batch": draw(st.integers(1, 3)),
        "steps": draw(st.integers(1, 4)),
        "num_layers": draw(st.integers(1, max_layers)),
        "bidirectional": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
    }


def build(config, **options):
    tr.manual_seed(0)
    return KINDS[config["kind"]](
        config["input_size"], config["hidden_size"], num_layers=config["num_layers"],
        bidirectional=config["bidirectional"], batch_first=config["batch_first"], dtype=F64,
        **options,
    )


def input_shape(config):
    steps, batch = config["steps"], config["batch"]
    lead = (batch, steps) if config["batch_first"] else (steps, batch)
    return (*lead, config["input_size"])


def state_shape(config):
    directions = 2 if config["bidirectional"] else 1
    return (config["num_layers"] * directions, config["batch"], config["hidden_size"])


def initial_state(config, draw):
    count = 2 if config["kind"] == "LSTM" else 1
    states = [draw(st_tr.tensors(state_shape(config), elements=st_tr.elements(-1, 1)))
              for _ in range(count)]
    return states, (tuple(states) if count == 2 else states[0])


# -- against numpy references -------------------------------------------------------------------


@settings(max_examples=60)
@given(config=layer_configs(), data=st.data())
def test_layers_match_the_numpy_reference(config, data):
    module = build(config)
    x = data.draw(st_tr.arrays(input_shape(config)))
    states, hx = initial_state(config, data.draw)
    output, *finals = run(module, tr.Tensor(x), hx)
    time_major = x.transpose(1, 0, 2) if config["batch_first"] else x
    c0 = states[1].numpy() if config["kind"] == "LSTM" else None
    directions = 2 if config["bidirectional"] else 1
    expected, h_n, c_n = reference_layers(config["kind"], params_of(module), time_major,
                                          states[0].numpy(), c0, config["num_layers"], directions)
    if config["batch_first"]:
        expected = expected.transpose(1, 0, 2)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(finals[0].numpy(), h_n, rtol=1e-10, atol=1e-12)
    if config["kind"] == "LSTM":
        np.testing.assert_allclose(finals[1].numpy(), c_n, rtol=1e-10, atol=1e-12)


def test_relu_rnn_matches_the_numpy_reference():
    tr.manual_seed(1)
    module = nn.RNN(3, 4, nonlinearity="relu", dtype=F64)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    p = params_of(module)
    expected = rnn_forward(x, np.zeros((2, 4)), p["weight_ih_l0"], p["weight_hh_l0"],
                           p["bias_ih_l0"], p["bias_hh_l0"], activation=lambda v: np.maximum(v, 0))
    np.testing.assert_allclose(module(tr.Tensor(x))[0].numpy(), expected, rtol=1e-12)


@settings(max_examples=40)
@given(kind=st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]), sizes=st.tuples(
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)), data=st.data())
def test_cells_match_one_step_of_the_numpy_reference(kind, sizes, data):
    features, hidden, batch = sizes
    cell = getattr(nn, kind)(features, hidden, dtype=F64)
    x = data.draw(st_tr.arrays((batch, features)))
    h = data.draw(st_tr.arrays((batch, hidden)))
    c = data.draw(st_tr.arrays((batch, hidden)))
    weights = (cell.weight_ih.numpy(), cell.weight_hh.numpy(), cell.bias_ih.numpy(),
               cell.bias_hh.numpy())
    if kind == "LSTMCell":
        got_h, got_c = cell(tr.Tensor(x), (tr.Tensor(h), tr.Tensor(c)))
        states, expected_c = lstm_forward(x[None], h, c, *weights)
        np.testing.assert_allclose(got_c.numpy(), expected_c, rtol=1e-10, atol=1e-12)
    elif kind == "GRUCell":
        got_h = cell(tr.Tensor(x), tr.Tensor(h))
        states = gru_forward(x[None], h, *weights)
    else:
        got_h = cell(tr.Tensor(x), tr.Tensor(h))
        states = rnn_forward(x[None], h, *weights)
    np.testing.assert_allclose(got_h.numpy(), states[0], rtol=1e-10, atol=1e-12)


def test_cell_without_state_starts_from_zeros():
    for kind in ("RNNCell", "GRUCell", "LSTMCell"):
        cell = getattr(nn, kind)(3, 2, dtype=F64)
        x = tr.Tensor(np.random.default_rng(0).standard_normal((4, 3)))
        zeros = tr.Tensor(np.zeros((4, 2)))
        implicit = cell(x)
        explicit = cell(x, (zeros, zeros) if kind == "LSTMCell" else zeros)
        for a, b in zip(flat_outputs((None, implicit))[1:], flat_outputs((None, explicit))[1:]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)


def test_layer_without_bias_matches_reference_with_zero_biases():
    tr.manual_seed(2)
    module = nn.GRU(3, 2, bias=False, dtype=F64)
    assert [name for name, _ in module.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    zeros = np.zeros(6)
    expected = gru_forward(x, np.zeros((2, 2)), module.weight_ih_l0.numpy(),
                           module.weight_hh_l0.numpy(), zeros, zeros)
    np.testing.assert_allclose(module(tr.Tensor(x))[0].numpy(), expected, rtol=1e-12)


def test_seed_004_worked_example_forward_values():
    """Seed 004's table: 3 steps of 2-d input, 2 tanh hidden units, one tanh output."""
    kernel = np.array([[0.4359949, 0.02592623], [0.54966248, 0.43532239],
                       [0.4203678, 0.33033482], [0.20464863, 0.61927097]])  # rows: [state; input]
    rnn = nn.RNN(2, 2, dtype=F64)
    rnn.load_state_dict({"weight_ih_l0": kernel[2:].T, "weight_hh_l0": kernel[:2].T,
                         "bias_ih_l0": np.array([0.29965467, 0.26682728]),
                         "bias_hh_l0": np.zeros(2)})
    head = nn.Linear(2, 1, dtype=F64)
    head.load_state_dict({"weight": np.array([[0.5507979, 0.70814782]]),
                          "bias": np.array([0.2909047389129443])})
    states, _ = rnn(tr.Tensor(np.array([[[1.0, 2.0]], [[2.0, 3.0]], [[3.0, 4.0]]])))
    np.testing.assert_allclose(states.numpy()[:, 0], [[0.81078632, 0.95038109],
                                                      [0.98966769, 0.99681261],
                                                      [0.99758382, 0.9995454]], atol=1e-7)
    outputs = head(states).tanh().numpy().reshape(-1)
    np.testing.assert_allclose(outputs, [0.88759908355, 0.91243947228, 0.91348763002], atol=1e-7)


# -- gradients ----------------------------------------------------------------------------------


@settings(max_examples=100)
@given(config=layer_configs(), data=st.data(), start=st.sampled_from(["zeros", "given", "learned"]),
       padded=st.booleans())
def test_layer_gradients_match_finite_differences(config, data, start, padded):
    module = build(config, learn_h0=start == "learned")
    x = data.draw(st_tr.tensors(input_shape(config)))
    states, hx = initial_state(config, data.draw) if start == "given" else ([], None)
    lengths = None
    if padded:
        lengths = data.draw(st.lists(st.integers(1, config["steps"]), min_size=config["batch"],
                                     max_size=config["batch"]))
    # Each example checks the inputs, the initial states and a few of the parameters.
    parameters = dict(module.named_parameters())
    chosen = data.draw(st.lists(st.sampled_from(sorted(parameters)), min_size=1, max_size=2,
                                unique=True))
    if start == "learned":
        chosen.append("h_0")
    gradcheck(lambda x, *rest: run(module, x, hx, lengths),
              [x, *states, *(parameters[name] for name in chosen)])


@settings(max_examples=40)
@given(kind=st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]),
       sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)), data=st.data())
def test_cell_gradients_match_finite_differences(kind, sizes, data):
    features, hidden, batch = sizes
    tr.manual_seed(0)
    cell = getattr(nn, kind)(features, hidden, dtype=F64)
    x = data.draw(st_tr.tensors((batch, features)))
    states = [data.draw(st_tr.tensors((batch, hidden))) for _ in range(2 if kind == "LSTMCell" else 1)]
    hx = tuple(states) if kind == "LSTMCell" else states[0]
    gradcheck(lambda x, *rest: cell(x, hx), [x, *states, *cell.parameters()])


@settings(max_examples=40)
@given(data=st.data(), features=st.integers(1, 4), hidden=st.integers(1, 4),
       batch=st.integers(1, 3), steps=st.integers(1, 5))
def test_rnn_gradients_equal_seed_001_hand_derived_bptt(data, features, hidden, batch, steps):
    tr.manual_seed(0)
    rnn = nn.RNN(features, hidden, dtype=F64)
    x = data.draw(st_tr.tensors((steps, batch, features)))
    h0 = data.draw(st_tr.tensors((1, batch, hidden)))
    upstream = data.draw(st_tr.arrays((steps, batch, hidden)))
    output, _ = rnn(x, h0)
    (output * upstream).sum().backward()
    p = params_of(rnn)
    states = rnn_forward(x.numpy(), h0.numpy()[0], p["weight_ih_l0"], p["weight_hh_l0"],
                         p["bias_ih_l0"], p["bias_hh_l0"])
    d_x, d_h0, d_w_ih, d_w_hh, d_b = rnn_bptt(x.numpy(), h0.numpy()[0], p["weight_ih_l0"],
                                             p["weight_hh_l0"], states, upstream)
    for got, expected in [(x.grad, d_x), (h0.grad.numpy()[0], d_h0), (rnn.weight_ih_l0.grad, d_w_ih),
                          (rnn.weight_hh_l0.grad, d_w_hh), (rnn.bias_ih_l0.grad, d_b),
                          (rnn.bias_hh_l0.grad, d_b)]:
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=30)
@given(data=st.data(), features=st.integers(1, 3), hidden=st.integers(1, 3),
       batch=st.integers(1, 2))
def test_tensor_rnn_cell_equals_the_cell_built_from_scalars(data, features, hidden, batch):
    tr.manual_seed(0)
    cell = nn.RNNCell(features, hidden, dtype=F64)
    x = data.draw(st_tr.tensors((batch, features)))
    h = data.draw(st_tr.tensors((batch, hidden)))
    upstream = data.draw(st_tr.arrays((batch, hidden)))
    out = cell(x, h)
    (out * upstream).sum().backward()

    def scalars(array):
        return np.vectorize(tr.Scalar, otypes=[object])(array)

    w_ih, w_hh = scalars(cell.weight_ih.numpy()), scalars(cell.weight_hh.numpy())
    b_ih, b_hh = scalars(cell.bias_ih.numpy()), scalars(cell.bias_hh.numpy())
    xs, hs = scalars(x.numpy()), scalars(h.numpy())
    loss = tr.Scalar(0.0)
    for b in range(batch):
        for j in range(hidden):
            pre = b_ih[j] + b_hh[j]
            for i in range(features):
                pre = pre + xs[b, i] * w_ih[j, i]
            for k in range(hidden):
                pre = pre + hs[b, k] * w_hh[j, k]
            value = pre.tanh()
            assert value.data == pytest.approx(out.numpy()[b, j], rel=1e-12, abs=1e-15)
            loss = loss + value * float(upstream[b, j])
    loss.backward()

    def grads(array):
        return np.vectorize(lambda s: s.grad or 0.0)(array)

    for tensor, scalar_values in [(cell.weight_ih, w_ih), (cell.weight_hh, w_hh), (cell.bias_ih, b_ih),
                                  (cell.bias_hh, b_hh), (x, xs), (h, hs)]:
        np.testing.assert_allclose(tensor.grad.numpy(), grads(scalar_values), rtol=1e-10, atol=1e-14)


def test_truncated_bptt_by_detach_equals_the_truncated_hand_derived_gradient():
    tr.manual_seed(3)
    rnn = nn.RNN(2, 3, dtype=F64)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 2, 2))
    upstream = rng.standard_normal((6, 2, 3))
    h = None
    for chunk in (slice(0, 3), slice(3, 6)):
        output, h = rnn(tr.Tensor(x[chunk]), h)
        (output * upstream[chunk]).sum().backward()
        h = h.detach()
    p = params_of(rnn)
    weights = (p["weight_ih_l0"], p["weight_hh_l0"])
    states = rnn_forward(x, np.zeros((2, 3)), *weights, p["bias_ih_l0"], p["bias_hh_l0"])
    first = rnn_bptt(x[:3], np.zeros((2, 3)), *weights, states[:3], upstream[:3])
    second = rnn_bptt(x[3:], states[2], *weights, states[3:], upstream[3:])
    np.testing.assert_allclose(rnn.weight_hh_l0.grad.numpy(), first[3] + second[3], rtol=1e-10)
    np.testing.assert_allclose(rnn.weight_ih_l0.grad.numpy(), first[2] + second[2], rtol=1e-10)
    np.testing.assert_allclose(rnn.bias_ih_l0.grad.numpy(), first[4] + second[4], rtol=1e-10)
    full = rnn_bptt(x, np.zeros((2, 3)), *weights, states, upstream)
    assert not np.allclose(rnn.weight_hh_l0.grad.numpy(), full[3])  # truncation changed something


# -- variable lengths ---------------------------------------------------------------------------


@settings(max_examples=40)
@given(config=layer_configs(), data=st.data(), given_state=st.booleans())
def test_padded_batch_equals_running_each_sequence_alone(config, data, given_state):
    module = build(config)
    steps, batch = config["steps"], config["batch"]
    lengths = data.draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    x_array = data.draw(st_tr.arrays(input_shape(config)))
    states, hx = initial_state(config, data.draw) if given_state else ([], None)
    x = tr.Tensor(x_array, requires_grad=True)
    output, *finals = run(module, x, hx, lengths)
    out_upstream = data.draw(st_tr.arrays(output.shape))
    final_upstream = data.draw(st_tr.arrays(finals[0].shape))
    loss = (output * out_upstream).sum() + sum((f * final_upstream).sum() for f in finals)
    loss.backward()
    batch_axis = 0 if config["batch_first"] else 1

    def take(array, b, length):
        array = np.take(array, [b], axis=batch_axis)
        return array[:, :length] if config["batch_first"] else array[:length]

    expected_grads = {name: np.zeros_like(p.numpy()) for name, p in module.named_parameters()}
    got_grads = {name: p.grad.numpy().copy() for name, p in module.named_parameters()}
    for b, length in enumerate(lengths):
        module.zero_grad()
        alone_x = tr.Tensor(take(x_array, b, length), requires_grad=True)
        alone_hx = None
        if given_state:
            parts = [tr.Tensor(s.numpy()[:, b:b + 1]) for s in states]
            alone_hx = tuple(parts) if len(parts) == 2 else parts[0]
        alone_out, *alone_finals = run(module, alone_x, alone_hx)
        np.testing.assert_allclose(take(output.numpy(), b, length), alone_out.numpy(),
                                   rtol=1e-10, atol=1e-12)
        padding = np.take(output.numpy(), [b], axis=batch_axis)
        padding = padding[:, length:] if config["batch_first"] else padding[length:]
        assert not padding.any(), "padded outputs must be zero"
        for got, alone in zip(finals, alone_finals):
            np.testing.assert_allclose(got.numpy()[:, b:b + 1], alone.numpy(), rtol=1e-10, atol=1e-12)
        alone_loss = (alone_out * take(out_upstream, b, length)).sum()
        alone_loss = alone_loss + sum((f * final_upstream[:, b:b + 1]).sum() for f in alone_finals)
        alone_loss.backward()
        np.testing.assert_allclose(take(x.grad.numpy(), b, length), alone_x.grad.numpy(),
                                   rtol=1e-9, atol=1e-12)
        for name, p in module.named_parameters():
            expected_grads[name] += p.grad.numpy()
    for name, got in got_grads.items():
        np.testing.assert_allclose(got, expected_grads[name], rtol=1e-9, atol=1e-12)


def test_padding_is_never_read_even_when_it_is_nan():
    tr.manual_seed(5)
    lstm = nn.LSTM(2, 3, bidirectional=True, dtype=F64)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    x[2:, 1] = np.nan
    x_t = tr.Tensor(x, requires_grad=True)
    output, (h_n, c_n) = lstm(x_t, lengths=[4, 2])
    (output.sum() + h_n.sum() + c_n.sum()).backward()
    assert np.isfinite(output.numpy()).all() and np.isfinite(h_n.numpy()).all()
    assert all(np.isfinite(p.grad.numpy()).all() for p in lstm.parameters())
    np.testing.assert_array_equal(x_t.grad.numpy()[2:, 1], 0.0)


def test_bidirectional_h_n_uses_each_sequences_last_real_step():
    tr.manual_seed(6)
    rnn = nn.BiRNN(1, 2, dtype=F64)
    x = np.arange(1.0, 9.0).reshape(4, 2, 1) / 8
    output, h_n = rnn(tr.Tensor(x), lengths=[4, 3])
    # forward direction: the state after step 3 (index 2) for the short sequence
    np.testing.assert_allclose(h_n.numpy()[0, 1], output.numpy()[2, 1, :2], rtol=1e-12)
    # reverse direction: started at step index 2, finished at step 0
    np.testing.assert_allclose(h_n.numpy()[1, 1], output.numpy()[0, 1, 2:], rtol=1e-12)
    alone, _ = rnn(tr.Tensor(x[:3, 1:2]))
    np.testing.assert_allclose(output.numpy()[:3, 1], alone.numpy()[:, 0], rtol=1e-12)


# -- bidirectional ------------------------------------------------------------------------------


@settings(max_examples=40)
@given(data=st.data(), sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
                                        st.integers(1, 4)))
def test_birnn_equals_forward_rnn_concatenated_with_rnn_on_the_reversed_sequence(data, sizes):
    features, hidden, batch, steps = sizes
    tr.manual_seed(0)
    bi = nn.BiRNN(features, hidden, dtype=F64)
    forward, backward = nn.RNN(features, hidden, dtype=F64), nn.RNN(features, hidden, dtype=F64)
    state = bi.state_dict()
    forward.load_state_dict({k: v for k, v in state.items() if not k.endswith("_reverse")})
    backward.load_state_dict({k[:-len("_reverse")]: v for k, v in state.items()
                              if k.endswith("_reverse")})
    x = data.draw(st_tr.arrays((steps, batch, features)))
    output, h_n = bi(tr.Tensor(x))
    forward_out, forward_h = forward(tr.Tensor(x))
    backward_out, backward_h = backward(tr.Tensor(x[::-1].copy()))
    expected = np.concatenate([forward_out.numpy(), backward_out.numpy()[::-1]], axis=-1)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n.numpy(), np.concatenate([forward_h.numpy(), backward_h.numpy()]),
                               rtol=1e-12, atol=1e-14)


def test_birnn_is_rnn_with_bidirectional_true():
    tr.manual_seed(7)
    bi = nn.BiRNN(3, 4, num_layers=2, batch_first=True, dtype=F64)
    tr.manual_seed(7)
    rnn = nn.RNN(3, 4, num_layers=2, batch_first=True, bidirectional=True, dtype=F64)
    assert list(bi.state_dict()) == list(rnn.state_dict())
    x = tr.Tensor(np.random.default_rng(0).standard_normal((2, 5, 3)))
    out_bi, h_bi = bi(x)
    out_rnn, h_rnn = rnn(x)
    assert out_bi.shape == (2, 5, 8) and h_bi.shape == (4, 2, 4)
    np.testing.assert_array_equal(out_bi.numpy(), out_rnn.numpy())
    np.testing.assert_array_equal(h_bi.numpy(), h_rnn.numpy())


# -- options ------------------------------------------------------------------------------------


def test_parameter_names_and_shapes_follow_pytorch():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    shapes = {name: p.shape for name, p in lstm.named_parameters()}
    assert list(shapes)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                "weight_ih_l0_reverse"]
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l0"] == (20, 5)
    assert shapes["weight_ih_l1"] == (20, 10) and shapes["bias_hh_l1_reverse"] == (20,)
    assert nn.GRU(3, 5).weight_ih_l0.shape == (15, 3)
    assert nn.GRUCell(3, 5).weight_hh.shape == (15, 5)


def test_default_init_is_uniform_within_one_over_sqrt_hidden():
    tr.manual_seed(8)
    bound = 1 / np.sqrt(16)
    for module in (nn.LSTM(30, 16), nn.GRUCell(30, 16), nn.RNN(30, 16, num_layers=2)):
        values = np.concatenate([p.numpy().ravel() for p in module.parameters()])
        assert values.min() >= -bound and values.max() <= bound
        assert values.min() < -0.95 * bound and values.max() > 0.95 * bound


def test_learned_initial_state_is_a_zero_parameter_that_receives_gradient():
    lstm = nn.LSTM(2, 3, num_layers=2, learn_h0=True, dtype=F64)
    assert lstm.h_0.shape == (2, 1, 3) and lstm.c_0.shape == (2, 1, 3)
    assert list(lstm.state_dict())[-2:] == ["h_0", "c_0"]
    np.testing.assert_array_equal(lstm.h_0.numpy(), 0.0)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 4, 2)))
    output, (h_n, _) = lstm(x)
    assert h_n.shape == (2, 4, 3)
    output.sum().backward()
    assert np.abs(lstm.h_0.grad.numpy()).sum() > 0
    lstm.learn_h0 = False
    np.testing.assert_allclose(lstm(x)[0].numpy(), output.numpy(), rtol=1e-12)


def test_dropout_between_layers_only_while_training():
    tr.manual_seed(9)
    dropped = nn.GRU(3, 4, num_layers=2, dropout=0.5, dtype=F64)
    plain = nn.GRU(3, 4, num_layers=2, dtype=F64)
    plain.load_state_dict(dropped.state_dict())
    x = tr.Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    assert not np.allclose(dropped(x)[0].numpy(), plain(x)[0].numpy())
    dropped.eval()
    np.testing.assert_array_equal(dropped(x)[0].numpy(), plain(x)[0].numpy())
    single = nn.GRU(3, 4, dropout=0.5, dtype=F64)
    np.testing.assert_array_equal(single(x)[0].numpy(), single.eval()(x)[0].numpy())


def test_each_time_step_is_scoped_inside_the_module_scope():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.RNN(2, 3)

        def forward(self, x):
            return self.encoder(x)

    output, _ = Model()(tr.Tensor(np.ones((3, 1, 2))))
    assert output._scope == ("Model", "encoder")
    steps = output._ctx.parents[:3]
    labels = [tr.autograd.mode.scope_labels(s._scope) for s in steps]
    assert labels == [("Model", "encoder", f"t={t}") for t in range(3)]
    assert tr.autograd.mode.current_scope() == ()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_step_without_h_0_gives_weight_hh_a_zero_gradient_as_pytorch(kind):
    # With h_0 = 0, d loss / d weight_hh = sum over steps of (gate gradient)^T h_{t-1}, which
    # at T=1 is a product with h_0 alone: zeros, of the weight's shape, not None.
    module = KINDS[kind](3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    output, _ = module(tr.randn(1, 2, 3, dtype=np.float64))
    output.sum().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None, name
        if name.startswith("weight_hh"):
            np.testing.assert_array_equal(parameter.grad.numpy(), np.zeros(parameter.shape))
        else:
            assert np.abs(parameter.grad.numpy()).sum() > 0, name


def test_each_step_adds_only_the_two_ops_of_the_recurrence():
    def graph_size(steps):
        rnn = nn.RNN(2, 3)
        output, _ = rnn(tr.Tensor(np.ones((steps, 1, 2))))
        seen, stack = set(), [output]
        while stack:
            node = stack.pop()
            if node._ctx is not None and id(node._ctx) not in seen:
                seen.add(id(node._ctx))
                stack.extend(p for p in node._ctx.parents if isinstance(p, tr.Tensor))
        return len(seen)

    # row t of the input projection + h @ W_hh^T (one addmm), tanh
    assert graph_size(6) - graph_size(5) == 2


@pytest.mark.parametrize("bias", [True, False])
def test_rnn_keeps_a_batch_in_column_layout_and_its_output_reshapes_as_a_view(bias):
    # Each step's (B, H) state has the batch along the fast axis (see AddMatMul), and the
    # (T, B, H) output keeps it: reshaping the output for a Linear head copies nothing.
    rnn = nn.RNN(3, 4, bias=bias, dtype=F64)
    output, h_n = rnn(tr.Tensor(np.random.default_rng(0).normal(size=(5, 6, 3))))
    states = output.numpy()
    assert all(states[t].strides[0] == states.itemsize for t in range(5))
    assert np.shares_memory(output.reshape(30, 4).numpy(), states)
    np.testing.assert_array_equal(h_n.numpy()[0], states[-1])


def test_repr_shows_non_default_options():
    assert repr(nn.RNN(3, 4)) == "RNN(3, 4)"
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)) == (
        "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)")
    assert repr(nn.BiRNN(3, 4, nonlinearity="relu")) == "BiRNN(3, 4, nonlinearity='relu')"
    assert repr(nn.GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"


# -- errors -------------------------------------------------------------------------------------


def test_input_errors_name_the_module_and_the_shapes():
    rnn = nn.GRU(3, 4)
    with pytest.raises(tr.ShapeError, match=r"GRU: expected a 3-D input \(T, batch, features\).*\(5, 3\)"):
        rnn(tr.Tensor(np.ones((5, 3))))
    with pytest.raises(tr.ShapeError,
                       match=r"GRU: input has 2 features \(shape \(5, 1, 2\)\) but input_size is 3"):
        rnn(tr.Tensor(np.ones((5, 1, 2))))
    with pytest.raises(tr.ShapeError, match=r"h_0 must have shape .* = \(1, 2, 4\), got \(1, 3, 4\)"):
        rnn(tr.Tensor(np.ones((5, 2, 3))), tr.Tensor(np.zeros((1, 3, 4))))
    with pytest.raises(tr.ShapeError, match="empty"):
        rnn(tr.Tensor(np.ones((0, 2, 3))))
    with pytest.raises(tr.DTypeError, match="float"):
        rnn(np.ones((5, 2, 3), dtype=np.int64))


def test_lstm_requires_a_pair_of_initial_states():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(TypeError, match=r"\(h_0, c_0\)"):
        lstm(tr.Tensor(np.ones((2, 1, 3))), tr.Tensor(np.zeros((1, 1, 4))))
    with pytest.raises(tr.ShapeError, match="c_0 must have shape"):
        lstm(tr.Tensor(np.ones((2, 1, 3))), (tr.zeros(1, 1, 4), tr.zeros(1, 2, 4)))


def test_length_errors():
    rnn = nn.RNN(1, 2)
    x = tr.Tensor(np.ones((3, 2, 1)))
    with pytest.raises(ValueError, match=r"1\.\.T = 1\.\.3, got 4"):
        rnn(x, lengths=[4, 1])
    with pytest.raises(ValueError, match="got 0"):
        rnn(x, lengths=[0, 1])
    with pytest.raises(tr.ShapeError, match=r"lengths must have shape \(batch,\) = \(2,\)"):
        rnn(x, lengths=[1, 2, 3])
    with pytest.raises(tr.DTypeError, match="integers"):
        rnn(x, lengths=[1.0, 2.0])


def test_cell_and_constructor_errors():
    with pytest.raises(tr.ShapeError, match=r"LSTMCell: expected input of shape \(batch, 3\), got \(3,\)"):
        nn.LSTMCell(3, 2)(tr.Tensor(np.ones(3)))
    with pytest.raises(tr.ShapeError, match=r"h must have shape .* \(1, 2\), got \(2, 2\)"):
        nn.RNNCell(3, 2)(tr.Tensor(np.ones((1, 3))), tr.Tensor(np.ones((2, 2))))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 2, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 2, dropout=2.0)


# -- Jordan -------------------------------------------------------------------------------------


def jordan_reference(cell, xs, activation=np.tanh, output_activation=np.tanh):
    p = params_of(cell)
    y = np.zeros((xs.shape[1], cell.output_size))
    hiddens, outputs = [], []
    for x in xs:
        hidden = activation(x @ p["weight_ih"].T + y @ p["weight_oh"].T + p["bias_h"])
        y = output_activation(hidden @ p["weight_ho"].T + p["bias_o"])
        hiddens.append(hidden)
        outputs.append(y)
    return np.stack(hiddens), np.stack(outputs)


def run_jordan(cell, xs):
    y = None
    hiddens, outputs = [], []
    for x in xs:
        hidden, y = cell(x, y)
        hiddens.append(hidden)
        outputs.append(y)
    return tr.stack(hiddens), tr.stack(outputs)


@settings(max_examples=30)
@given(data=st.data(), sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                                        st.integers(1, 2), st.integers(1, 3)))
def test_jordan_cell_feeds_back_the_previous_output(data, sizes):
    features, hidden, outputs, batch, steps = sizes
    tr.manual_seed(0)
    cell = nn.JordanCell(features, hidden, outputs, output_nonlinearity="sigmoid", dtype=F64)
    xs = data.draw(st_tr.tensors((steps, batch, features)))
    got_hidden, got_outputs = run_jordan(cell, xs.unbind(0))
    expected_hidden, expected_outputs = jordan_reference(cell, xs.numpy(), output_activation=sigmoid)
    np.testing.assert_allclose(got_hidden.numpy(), expected_hidden, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_outputs.numpy(), expected_outputs, rtol=1e-10, atol=1e-12)
    gradcheck(lambda xs, *params: run_jordan(cell, xs.unbind(0)), [xs, *cell.parameters()])


def test_jordan_cell_errors_and_repr():
    cell = nn.JordanCell(2, 3, 1)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_oh", "bias_h",
                                                       "weight_ho", "bias_o"]
    with pytest.raises(tr.ShapeError, match=r"previous output must have shape \(4, 1\)"):
        cell(tr.Tensor(np.ones((4, 2))), tr.Tensor(np.ones((4, 2))))
    with pytest.raises(ValueError, match="output_nonlinearity must be one of"):
        nn.JordanCell(2, 3, 1, output_nonlinearity="softmax")
    assert repr(cell) == "JordanCell(2, 3, 1, nonlinearity='tanh', output_nonlinearity='tanh')"


# -- PyTorch ------------------------------------------------------------------------------------

TORCH_CASES = [
    ("RNN", 1, False, False), ("RNN", 2, True, True), ("LSTM", 1, False, True),
    ("LSTM", 2, True, False), ("GRU", 2, False, False), ("GRU", 1, True, True),
    ("BiRNN", 2, True, False),
]


def torch_module(torch, kind, layers, bidirectional, batch_first, **options):
    torch_kind = "RNN" if kind == "BiRNN" else kind
    return getattr(torch.nn, torch_kind)(3, 4, num_layers=layers, bidirectional=bidirectional,
                                         batch_first=batch_first, **options).double()


def ours_module(kind, layers, bidirectional, batch_first, **options):
    if kind == "BiRNN":
        return nn.BiRNN(3, 4, num_layers=layers, batch_first=batch_first, dtype=F64, **options)
    return KINDS[kind](3, 4, num_layers=layers, bidirectional=bidirectional,
                       batch_first=batch_first, dtype=F64, **options)


def compare_with_torch(torch, kind, layers, bidirectional, batch_first, lengths=None):
    reference = torch_module(torch, kind, layers, bidirectional, batch_first)
    module = ours_module(kind, layers, bidirectional, batch_first)
    module.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    rng = np.random.default_rng(0)
    steps, batch, directions = 5, 3, 2 if bidirectional else 1
    x = rng.standard_normal((batch, steps, 3) if batch_first else (steps, batch, 3))
    h0 = rng.standard_normal((layers * directions, batch, 4))
    c0 = rng.standard_normal((layers * directions, batch, 4))
    x_t = torch.tensor(x, requires_grad=True)
    h0_t, c0_t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    hx_t = (h0_t, c0_t) if kind == "LSTM" else h0_t
    if lengths is None:
        out_t, state_t = reference(x_t, hx_t)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x_t, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out_t, state_t = reference(packed, hx_t)
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first,
                                                          total_length=steps)
    finals_t = state_t if kind == "LSTM" else (state_t,)
    upstream = rng.standard_normal(out_t.shape)
    (out_t * torch.tensor(upstream)).sum().add(sum(f.pow(2).sum() for f in finals_t)).backward()

    x_ours = tr.Tensor(x, requires_grad=True)
    h0_ours, c0_ours = tr.Tensor(h0, requires_grad=True), tr.Tensor(c0, requires_grad=True)
    hx = (h0_ours, c0_ours) if kind == "LSTM" else h0_ours
    output, *finals = run(module, x_ours, hx, lengths)
    ((output * upstream).sum() + sum((f * f).sum() for f in finals)).backward()

    np.testing.assert_allclose(output.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for got, expected in zip(finals, finals_t):
        np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x_ours.grad.numpy(), x_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h0_ours.grad.numpy(), h0_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(c0_ours.grad.numpy(), c0_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_grads = dict(reference.named_parameters())
    for name, parameter in module.named_parameters():
        np.testing.assert_allclose(parameter.grad.numpy(), torch_grads[name].grad.numpy(),
                                   rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "layers", "bidirectional", "batch_first"), TORCH_CASES)
def test_layers_match_torch_outputs_and_gradients(kind, layers, bidirectional, batch_first):
    torch = pytest.importorskip("torch")
    compare_with_torch(torch, kind, layers, bidirectional, batch_first)


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "layers", "bidirectional", "batch_first"), TORCH_CASES)
def test_lengths_match_torch_packed_sequences(kind, layers, bidirectional, batch_first):
    torch = pytest.importorskip("torch")
    compare_with_torch(torch, kind, layers, bidirectional, batch_first, lengths=[5, 2, 4])


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind):
    torch = pytest.importorskip("torch")
    reference = getattr(torch.nn, kind)(3, 4).double()
    cell = getattr(nn, kind)(3, 4, dtype=F64)
    cell.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    x_t = torch.tensor(x, requires_grad=True)
    h_t = torch.tensor(h)
    out_t = reference(x_t, (h_t, torch.tensor(c)) if kind == "LSTMCell" else h_t)
    out_t = out_t[0] * out_t[1] if kind == "LSTMCell" else out_t
    out_t.sum().backward()
    x_ours = tr.Tensor(x, requires_grad=True)
    out = cell(x_ours, (tr.Tensor(h), tr.Tensor(c)) if kind == "LSTMCell" else tr.Tensor(h))
    out = out[0] * out[1] if kind == "LSTMCell" else out
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x_ours.grad.numpy(), x_t.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cell.weight_hh.grad.numpy(), reference.weight_hh.grad.numpy(),
                               rtol=1e-10, atol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_our_state_dict_loads_into_torch_with_the_same_outputs(kind):
    torch = pytest.importorskip("torch")
    tr.manual_seed(10)
    module = KINDS[kind](3, 4, num_layers=2, bidirectional=True)  # float32, as PyTorch's default
    reference = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True)
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in module.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((4, 2, 3)).astype(np.float32)
    expected, _ = reference(torch.from_numpy(x))
    np.testing.assert_allclose(module(tr.Tensor(x))[0].numpy(), expected.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_torch_default_init_has_the_same_range_as_ours():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tr.manual_seed(0)
    theirs = np.concatenate([p.detach().numpy().ravel() for p in torch.nn.GRU(30, 25).parameters()])
    ours = np.concatenate([p.numpy().ravel() for p in nn.GRU(30, 25).parameters()])
    assert abs(theirs.max() - ours.max()) < 0.01 and abs(theirs.min() - ours.min()) < 0.01


def _step_outputs_and_pre_activations(module, x):
    output, _ = module(x)
    steps = output.grad_fn.parents[:-1]  # stack(outputs, axis)
    return [(h, h.grad_fn.parents[0]) for h in steps[1:]]  # step 0 has no h @ W_hh^T


def test_rnn_layer_computes_tanh_over_its_pre_activations_in_place():
    rnn = nn.RNN(2, 3, dtype=np.float64)
    x = tr.Tensor(np.random.default_rng(0).normal(size=(4, 1, 2)))
    for h, pre_activation in _step_outputs_and_pre_activations(rnn, x):
        assert pre_activation.data is h.data  # the graph keeps one array for both


def test_anomaly_mode_and_relu_layers_keep_the_pre_activations():
    x = tr.Tensor(np.random.default_rng(0).normal(size=(4, 1, 2)))
    with tr.detect_anomaly():
        pairs = _step_outputs_and_pre_activations(nn.RNN(2, 3, dtype=np.float64), x)
    pairs += _step_outputs_and_pre_activations(nn.RNN(2, 3, nonlinearity="relu", dtype=np.float64), x)
    for h, pre_activation in pairs:
        assert pre_activation.data is not h.data


def test_rnn_cell_keeps_its_pre_activation_readable():
    cell = nn.RNNCell(2, 3, dtype=np.float64)
    x, h0 = tr.Tensor(np.ones((1, 2))), tr.Tensor(np.full((1, 3), 0.5))
    h = cell(x, h0)
    pre_activation = h.grad_fn.parents[0]
    np.testing.assert_allclose(np.tanh(pre_activation.numpy()), h.numpy())


def test_time_steps_are_scoped_when_forward_is_called_without_a_module_scope():
    before = tr.autograd.mode.Switches.changed
    output, _ = nn.RNN(2, 3).forward(tr.Tensor(np.ones((3, 1, 2))))
    steps = output._ctx.parents[:3]
    assert [tr.autograd.mode.scope_labels(s._scope) for s in steps] == [(f"t={t}",) for t in range(3)]
    assert output._scope is None
    assert tr.autograd.mode.Switches.changed == before
