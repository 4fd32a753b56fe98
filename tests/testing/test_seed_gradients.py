"""The engine's gradients against the seeds' hand-derived ones (`tinygrad_rnn.testing.references`).

Seed 000's echo network built from Scalars and from Tensors; seed 001's cell and BPTT against
`nn.RNNCell` / `nn.RNN`; seed 002's per-step sums and bidirectional RNN against `nn.RNN` and
`nn.BiRNN`. The references keep the seeds' layout, batch as columns: a sequence is
(n_x, m, T) there and (T, m, n_x) here, converted explicitly by `to_columns` / `to_rows`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.nn.functional import cross_entropy
from tinygrad_rnn.testing import references as ref
from tinygrad_rnn.testing import strategies as st_tr

RTOL, ATOL = 1e-9, 1e-11


def close(engine: Any, reference: Any, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(engine, dtype=np.float64), reference, rtol=RTOL, atol=ATOL,
                               err_msg=what)


def to_columns(sequence: np.ndarray) -> np.ndarray:
    """(T, m, n) rows-as-samples, as the modules take it -> (n, m, T), the seeds' layout."""
    return sequence.transpose(2, 1, 0)


def to_rows(sequence: np.ndarray) -> np.ndarray:
    """(n, m, T) -> (T, m, n); inverse of `to_columns`."""
    return sequence.transpose(2, 1, 0)


def values(shape: tuple[int, ...], low: float = -1.5, high: float = 1.5) -> st.SearchStrategy[np.ndarray]:
    return st_tr.arrays(shape, elements=st_tr.elements(low, high))


# -- seed 000: the echo network -------------------------------------------------------------------

echo_numbers = st_tr.elements(-2.0, 2.0)


@given(x1=echo_numbers, x2=echo_numbers, y2=echo_numbers, U=echo_numbers, W=echo_numbers,
       V=echo_numbers, bh=echo_numbers, bz=echo_numbers)
def test_echo_network_of_scalars_matches_eqs_7_to_19(x1: float, x2: float, y2: float, U: float, W: float,
                                                     V: float, bh: float, bz: float) -> None:
    params = {name: tr.Scalar(value, name=name) for name, value in
              {"U": U, "W": W, "V": V, "bh": bh, "bz": bz}.items()}
    h1 = x1 * params["U"] + params["bh"]                          # (1)
    s1 = h1.tanh()                                                # (2)
    h2 = x2 * params["U"] + s1 * params["W"] + params["bh"]       # (3)
    s2 = h2.tanh()                                                # (4)
    z2 = s2 * params["V"] + params["bz"]                          # (5)
    loss = 0.5 * (z2 - y2) ** 2                                   # (6)
    for node in (h1, h2, z2):
        node.retain_grad()
    loss.backward()
    expected = ref.echo_gradients(x1, x2, y2, U, W, V, bh, bz)
    close(z2.grad, expected.dz2, "dz2 (7)")
    close(h2.grad, expected.dh2, "dh2 (8)")
    close(h1.grad, expected.dh1, "dh1 (14)")
    close(params["bz"].grad, expected.dbz, "dbz (9, 16)")
    close(params["V"].grad, expected.dV, "dV (11, 18)")
    close(params["W"].grad, expected.dW, "dW (13, 19)")
    close(params["U"].grad, expected.dU, "dU (12 + 17)")
    close(params["bh"].grad, expected.dbh, "dbh (10 + 15)")


@given(st.integers(1, 6).flatmap(lambda m: st.tuples(values((m,)), values((m,)), values((m,)))),
       values((5,)))
def test_echo_network_of_tensors_matches_eqs_7_to_19_summed_over_a_batch(
        data: tuple[np.ndarray, np.ndarray, np.ndarray], weights: np.ndarray) -> None:
    x1, x2, y2 = data
    U, W, V, bh, bz = (tr.Tensor(np.array(w), requires_grad=True) for w in weights)
    h1 = x1 * U + bh
    h2 = x2 * U + h1.tanh() * W + bh
    z2 = h2.tanh() * V + bz
    loss = (0.5 * (z2 - y2) ** 2).sum()
    for node in (h1, h2, z2):
        node.retain_grad()
    loss.backward()
    expected = ref.echo_gradients(x1, x2, y2, *weights)
    close(z2.grad.data, expected.dz2, "dz2 per example")
    close(h2.grad.data, expected.dh2, "dh2 per example")
    close(h1.grad.data, expected.dh1, "dh1 per example")
    for tensor, total, name in [(U, expected.dU, "dU"), (W, expected.dW, "dW"), (V, expected.dV, "dV"),
                                (bh, expected.dbh, "dbh"), (bz, expected.dbz, "dbz")]:
        close(tensor.grad.data, total.sum(), f"{name} summed over the batch")


# -- seed 001: the cell and backpropagation through time ----------------------------------------------


@st.composite
def rnn_cases(draw: st.DrawFn, max_steps: int = 5) -> dict[str, Any]:
    """Sizes, weights and data for one RNN; arrays in the seeds' column layout."""
    n_x, n_s, m, steps = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), \
        draw(st.integers(1, max_steps))
    return {
        "U": draw(values((n_s, n_x))), "W": draw(values((n_s, n_s), -0.9, 0.9)),
        "b_ih": draw(values((n_s,), -0.5, 0.5)), "b_hh": draw(values((n_s,), -0.5, 0.5)),
        "x": draw(values((n_x, m, steps))), "s0": draw(values((n_s, m), -0.9, 0.9)),
        "ds": draw(values((n_s, m, steps))), "nonlinearity": draw(st.sampled_from(["tanh", "relu"])),
    }


def weights_for(case: dict[str, Any], suffix: str = "") -> dict[str, np.ndarray]:
    """The case's weights under PyTorch's names: U = weight_ih, W = weight_hh."""
    return {f"weight_ih{suffix}": case["U"], f"weight_hh{suffix}": case["W"],
            f"bias_ih{suffix}": case["b_ih"], f"bias_hh{suffix}": case["b_hh"]}


@given(rnn_cases(max_steps=1))
def test_rnn_cell_gradients_match_seed_001_cell_backward(case: dict[str, Any]) -> None:
    n_s, n_x = case["U"].shape
    cell = nn.RNNCell(n_x, n_s, nonlinearity=case["nonlinearity"], dtype=np.float64)
    cell.load_state_dict(weights_for(case))
    x_t = tr.Tensor(case["x"][:, :, 0].T.copy(), requires_grad=True)      # (n_x, m) -> (m, n_x)
    s_prev = tr.Tensor(case["s0"].T.copy(), requires_grad=True)           # (n_s, m) -> (m, n_s)
    ds_t = case["ds"][:, :, 0]
    (cell(x_t, s_prev) * ds_t.T).sum().backward()                          # so dE/ds_t = ds_t

    b_s = (case["b_ih"] + case["b_hh"])[:, None]
    _, cache = ref.rnn_cell_forward(case["x"][:, :, 0], case["s0"], case["U"], case["W"], b_s,
                                    case["nonlinearity"])
    expected = ref.rnn_cell_backward(ds_t, cache)
    close(x_t.grad.data.T, expected.dx_t, "dx_t = U^T dtanh")
    close(s_prev.grad.data.T, expected.ds_prev, "ds_prev = W^T dtanh")
    close(cell.weight_ih.grad.data, expected.dU, "dU = dtanh x_t^T")
    close(cell.weight_hh.grad.data, expected.dW, "dW = dtanh s_prev^T")
    close(cell.bias_ih.grad.data, expected.db_s[:, 0], "db_s = sum over the batch of dtanh")
    close(cell.bias_hh.grad.data, expected.db_s[:, 0], "db_s (the second bias)")


@given(rnn_cases(max_steps=3))
@settings(max_examples=50)
def test_rnn_cell_of_tensors_equals_the_same_cell_built_from_scalars(case: dict[str, Any]) -> None:
    """Unrolled over T steps, one Scalar per weight: same states, same gradients."""
    n_s, n_x = case["U"].shape
    m, steps = case["x"].shape[1:]
    cell = nn.RNNCell(n_x, n_s, nonlinearity=case["nonlinearity"], dtype=np.float64)
    cell.load_state_dict(weights_for(case))
    h = tr.Tensor(case["s0"].T.copy())
    for t in range(steps):
        h = cell(tr.Tensor(case["x"][:, :, t].T.copy()), h)
    (h * case["ds"][:, :, -1].T).sum().backward()

    scalars = {name: np.vectorize(tr.Scalar, otypes=[object])(array)
               for name, array in weights_for(case).items()}
    U, W, b_ih, b_hh = (scalars[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    activate = (lambda v: v.tanh()) if case["nonlinearity"] == "tanh" else (lambda v: v.relu())
    s = [[float(case["s0"][i, j]) for j in range(m)] for i in range(n_s)]
    for t in range(steps):
        s = [[activate(sum((U[i, k] * float(case["x"][k, j, t]) for k in range(n_x)), b_ih[i] + b_hh[i])
                       + sum(W[i, k] * s[k][j] for k in range(n_s)))
              for j in range(m)] for i in range(n_s)]
    loss = sum(s[i][j] * float(case["ds"][i, j, -1]) for i in range(n_s) for j in range(m))
    loss.backward()

    close(h.data.T, np.array([[v.data for v in row] for row in s]), "final state")
    for name, parameter in cell.named_parameters():
        close(parameter.grad.data, np.vectorize(lambda v: v.grad or 0.0)(scalars[name]), f"d{name}")


@given(rnn_cases(max_steps=1))
def test_cell_from_tensor_ops_in_seed_001_layout_matches_cell_backward(case: dict[str, Any]) -> None:
    """The cell written as the seed writes it, U x_t + W s_prev + b_s with the batch as columns."""
    x_t, s_prev, U, W = (tr.Tensor(np.ascontiguousarray(case[k][:, :, 0]) if k == "x" else case[k],
                                   requires_grad=True) for k in ("x", "s0", "U", "W"))
    b_s = tr.Tensor((case["b_ih"] + case["b_hh"])[:, None], requires_grad=True)
    pre = U @ x_t + W @ s_prev + b_s
    state = pre.tanh() if case["nonlinearity"] == "tanh" else pre.relu()
    ds_t = case["ds"][:, :, 0]
    grads = tr.grad((state * ds_t).sum(), [pre, x_t, s_prev, U, W, b_s])

    _, cache = ref.rnn_cell_forward(x_t.data, case["s0"], case["U"], case["W"], b_s.data,
                                    case["nonlinearity"])
    expected = ref.rnn_cell_backward(ds_t, cache)
    for got, want, name in zip(grads, [expected.dtanh, expected.dx_t, expected.ds_prev, expected.dU,
                                       expected.dW, expected.db_s],
                               ["dtanh", "dx_t", "ds_prev", "dU", "dW", "db_s"]):
        close(got.data, want, name)


@given(rnn_cases(), st.booleans())
@settings(max_examples=100)
def test_rnn_gradients_match_seed_001_backpropagation_through_time(case: dict[str, Any],
                                                                   batch_first: bool) -> None:
    n_s, n_x = case["U"].shape
    rnn = nn.RNN(n_x, n_s, nonlinearity=case["nonlinearity"], batch_first=batch_first, dtype=np.float64)
    rnn.load_state_dict(weights_for(case, "_l0"))
    rows = to_rows(case["x"])                                             # (T, m, n_x)
    x = tr.Tensor(rows.transpose(1, 0, 2).copy() if batch_first else rows.copy(), requires_grad=True)
    h0 = tr.Tensor(case["s0"].T[None].copy(), requires_grad=True)         # (1, m, n_s)
    output, _ = rnn(x, h0)
    upstream = to_rows(case["ds"])                                        # dE/ds_t for every t
    if batch_first:
        upstream = upstream.transpose(1, 0, 2)
    (output * upstream).sum().backward()

    b_s = (case["b_ih"] + case["b_hh"])[:, None]
    _, caches = ref.rnn_forward(case["x"], case["s0"], case["U"], case["W"], b_s, case["nonlinearity"])
    expected = ref.rnn_backward(case["ds"], caches)
    dx = x.grad.data.transpose(1, 0, 2) if batch_first else x.grad.data
    close(to_columns(dx), expected.dx, "dx: the gradient of every input step")
    close(h0.grad.data[0].T, expected.ds0, "ds0: the gradient of the initial state")
    close(rnn.weight_ih_l0.grad.data, expected.dU, "dU summed over steps")
    close(rnn.weight_hh_l0.grad.data, expected.dW, "dW summed over steps")
    close(rnn.bias_ih_l0.grad.data, expected.db_s[:, 0], "db_s summed over steps and batch")
    close(rnn.bias_hh_l0.grad.data, expected.db_s[:, 0], "db_s (the second bias)")


@given(rnn_cases())
@settings(max_examples=100)
def test_final_state_gradient_enters_the_loop_at_the_last_step(case: dict[str, Any]) -> None:
    """A loss on h_n alone is seed 001's loop with ds zero except at t = T."""
    n_s, n_x = case["U"].shape
    rnn = nn.RNN(n_x, n_s, nonlinearity=case["nonlinearity"], dtype=np.float64)
    rnn.load_state_dict(weights_for(case, "_l0"))
    x = tr.Tensor(to_rows(case["x"]).copy(), requires_grad=True)
    h0 = tr.Tensor(case["s0"].T[None].copy(), requires_grad=True)
    _, h_n = rnn(x, h0)
    last = case["ds"][:, :, -1]
    (h_n[0] * last.T).sum().backward()

    only_last = np.zeros_like(case["ds"])
    only_last[:, :, -1] = last
    b_s = (case["b_ih"] + case["b_hh"])[:, None]
    _, caches = ref.rnn_forward(case["x"], case["s0"], case["U"], case["W"], b_s, case["nonlinearity"])
    expected = ref.rnn_backward(only_last, caches)
    close(to_columns(x.grad.data), expected.dx, "dx")
    close(h0.grad.data[0].T, expected.ds0, "ds0")
    close(rnn.weight_hh_l0.grad.data, expected.dW, "dW")


# -- seed 002: one loss per step, and the bidirectional RNN ------------------------------------------


@st.composite
def labelled_cases(draw: st.DrawFn) -> dict[str, Any]:
    case = draw(rnn_cases())
    n_s, (m, steps) = case["W"].shape[0], case["x"].shape[1:]
    n_y = draw(st.integers(2, 4))
    case["V"] = draw(values((n_y, n_s)))
    case["targets"] = draw(st_tr.arrays((m, steps), dtype=np.int64,
                                        elements=st.integers(0, n_y - 1)))
    return case


def seed_002_model(case: dict[str, Any]) -> tuple[nn.RNN, nn.Linear]:
    """s_t = f(U x_t + W s_{t-1}) and o_t = softmax(V s_t): an RNN and a Linear, both bias-free."""
    n_s, n_x = case["U"].shape
    rnn = nn.RNN(n_x, n_s, nonlinearity=case["nonlinearity"], bias=False, dtype=np.float64)
    rnn.load_state_dict({"weight_ih_l0": case["U"], "weight_hh_l0": case["W"]})
    head = nn.Linear(n_s, case["V"].shape[0], bias=False, dtype=np.float64)
    head.load_state_dict({"weight": case["V"]})
    return rnn, head


def step_losses(case: dict[str, Any], rnn: nn.RNN, head: nn.Linear) -> list[tr.Tensor]:
    """L_t: the cross-entropy of step t, summed over the batch."""
    output, _ = rnn(tr.Tensor(to_rows(case["x"]).copy()), tr.Tensor(case["s0"].T[None].copy()))
    logits = head(output)                                                  # (T, m, n_y)
    return [cross_entropy(logits[t], case["targets"][:, t], reduction="sum")
            for t in range(logits.shape[0])]


def parameter_grads(rnn: nn.RNN, head: nn.Linear) -> ref.ParameterGradients:
    return ref.ParameterGradients(rnn.weight_ih_l0.grad.data, rnn.weight_hh_l0.grad.data,
                                  head.weight.grad.data)


def assert_parameter_grads(engine: ref.ParameterGradients, expected: ref.ParameterGradients,
                           what: str) -> None:
    close(engine.dU, expected.dU, f"{what}: dL/dU")
    close(engine.dW, expected.dW, f"{what}: dL/dW")
    close(engine.dV, expected.dV, f"{what}: dL/dV")


def reference_args(case: dict[str, Any]) -> tuple[Any, ...]:
    return case["x"], case["s0"], case["U"], case["W"], case["V"], case["targets"], case["nonlinearity"]


@given(labelled_cases())
@settings(max_examples=100)
def test_loss_at_the_last_step_only_gives_seed_002_sequence_to_vector_gradient(case: dict[str, Any]) -> None:
    rnn, head = seed_002_model(case)
    step_losses(case, rnn, head)[-1].backward()
    expected = ref.sequence_to_vector_gradients(*reference_args(case))
    assert_parameter_grads(parameter_grads(rnn, head), expected, "dL/dθ = dL_T/dθ")


@given(labelled_cases())
@settings(max_examples=100)
def test_loss_at_every_step_gives_the_sum_of_per_step_terms(case: dict[str, Any]) -> None:
    rnn, head = seed_002_model(case)
    losses = step_losses(case, rnn, head)
    params = [rnn.weight_ih_l0, rnn.weight_hh_l0, head.weight]
    terms = ref.per_step_gradients(*reference_args(case))
    for t, loss in enumerate(losses):  # each step's loss alone: seed 002's sum over i <= t
        alone = tr.grad(loss, params, retain_graph=True, allow_unused=True)
        got = ref.ParameterGradients(*(np.zeros_like(p.data) if g is None else g.data
                                       for p, g in zip(params, alone)))
        assert_parameter_grads(got, terms[t], f"dL_{t}/dθ")
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    total.backward()
    expected = ref.sequence_labelling_gradients(*reference_args(case))
    assert_parameter_grads(parameter_grads(rnn, head), expected, "dL/dθ = sum_t dL_t/dθ")


@st.composite
def bidirectional_cases(draw: st.DrawFn) -> dict[str, Any]:
    case = draw(labelled_cases())
    n_s, n_x = case["U"].shape
    case["U_b"] = draw(values((n_s, n_x)))
    case["W_b"] = draw(values((n_s, n_s), -0.9, 0.9))
    case["s0_b"] = draw(values(case["s0"].shape, -0.9, 0.9))
    case["V"] = draw(values((case["V"].shape[0], 2 * n_s)))
    case["module"] = draw(st.sampled_from(["BiRNN", "RNN(bidirectional=True)"]))
    return case


@given(bidirectional_cases())
@settings(max_examples=100)
def test_bidirectional_rnn_matches_seed_002_formula(case: dict[str, Any]) -> None:
    """o_t = softmax(V [s_f,t ; s_b,t]): outputs, and every gradient of the summed step losses."""
    n_s, n_x = case["U"].shape
    kind = nn.BiRNN if case["module"] == "BiRNN" else (lambda *a, **k: nn.RNN(*a, bidirectional=True, **k))
    rnn = kind(n_x, n_s, nonlinearity=case["nonlinearity"], bias=False, dtype=np.float64)
    rnn.load_state_dict({"weight_ih_l0": case["U"], "weight_hh_l0": case["W"],
                         "weight_ih_l0_reverse": case["U_b"], "weight_hh_l0_reverse": case["W_b"]})
    head = nn.Linear(2 * n_s, case["V"].shape[0], bias=False, dtype=np.float64)
    head.load_state_dict({"weight": case["V"]})
    x = tr.Tensor(to_rows(case["x"]).copy(), requires_grad=True)
    h0 = tr.Tensor(np.stack([case["s0"].T, case["s0_b"].T]), requires_grad=True)   # (2, m, n_s)
    output, h_n = rnn(x, h0)
    logits = head(output)
    loss = cross_entropy(logits, case["targets"].T, reduction="sum")            # (T, m) targets

    args = (case["x"], case["s0"], case["s0_b"], case["U"], case["W"], case["U_b"], case["W_b"], case["V"])
    values_ = ref.bidirectional_forward(*args, case["nonlinearity"])[0]
    close(to_columns(output.data[:, :, :n_s]), values_.s_f, "s_f,t in the first half")
    close(to_columns(output.data[:, :, n_s:]), values_.s_b, "s_b,t in the second half")
    close(to_columns(logits.softmax(-1).data), values_.o, "o_t")
    close(h_n.data[0].T, values_.s_f[:, :, -1], "h_n forward: s_f at t = T")
    close(h_n.data[1].T, values_.s_b[:, :, 0], "h_n backward: s_b at t = 1")

    loss.backward()
    expected = ref.bidirectional_gradients(*args, case["targets"], case["nonlinearity"])
    close(rnn.weight_ih_l0.grad.data, expected.dU_f, "dU_f")
    close(rnn.weight_hh_l0.grad.data, expected.dW_f, "dW_f")
    close(rnn.weight_ih_l0_reverse.grad.data, expected.dU_b, "dU_b")
    close(rnn.weight_hh_l0_reverse.grad.data, expected.dW_b, "dW_b")
    close(head.weight.grad.data, expected.dV, "dV")
    close(to_columns(x.grad.data), expected.dx, "dx from both directions")
    close(h0.grad.data[0].T, expected.ds0_f, "ds0 of the forward direction")
    close(h0.grad.data[1].T, expected.ds0_b, "ds0 of the backward direction")
