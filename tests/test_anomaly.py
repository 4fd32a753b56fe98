"""Anomaly mode: the first op whose output or gradient is NaN/Inf raises, naming where it was made."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import AnomalyError, Function, Scalar, Tensor, nn


def next_line() -> str:
    """'file:line' of the line after the caller's: where the op under test is created."""
    frame = sys._getframe(1)
    return f"{frame.f_code.co_filename}:{frame.f_lineno + 1}"


@pytest.fixture(autouse=True)
def quiet_numpy():
    with np.errstate(all="ignore"):
        yield


def test_log_of_zero_names_op_shape_and_the_line_that_made_it():
    x = Tensor(np.array([1.0, 0.0, 2.0]), requires_grad=True)
    with tr.detect_anomaly(), pytest.raises(AnomalyError) as caught:
        site = next_line()
        x.log()
    message = str(caught.value)
    assert message.startswith("Log produced Inf")
    assert "1 of 3 elements, first at (1,)" in message
    assert "shape (3,) float64" in message
    assert f"created at {site} in test_log_of_zero_names_op_shape_and_the_line_that_made_it" in message
    assert "x.log()" in message


def test_log_of_zero_scalar_is_caught_too():
    with tr.detect_anomaly(), pytest.raises(AnomalyError, match=r"^Log produced Inf .*\(Scalar\)"):
        Scalar(0.0).log()


def test_without_anomaly_mode_log_of_zero_just_gives_inf():
    out = Tensor(np.array([0.0])).log()
    assert np.isneginf(out.data).all()


def test_backward_inf_names_op_input_and_forward_line_not_backward_line():
    x = Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with tr.detect_anomaly():
        site = next_line()
        loss = x.sqrt().sum()
        assert np.isfinite(loss.data)
        with pytest.raises(AnomalyError) as caught:
            loss.backward()
    message = str(caught.value)
    assert message.startswith("Sqrt.backward produced Inf (1 of 2 elements, first at (1,))")
    assert "gradient for input 0 `x` (shape (2,) float64)" in message
    assert f"created at {site}" in message


def test_scalar_backward_inf_is_caught():
    x = Scalar(0.0)
    with tr.detect_anomaly():
        site = next_line()
        y = x**0.5
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    message = str(caught.value)
    assert message.startswith("Pow.backward produced Inf in the gradient for input 0 `x` (Scalar)")
    assert f"created at {site}" in message


def test_ops_under_no_grad_are_checked_too():
    with tr.no_grad(), tr.detect_anomaly(), pytest.raises(AnomalyError, match=r"^Log produced Inf"):
        Tensor(np.zeros(2), requires_grad=True).log()


def test_overflow_only_in_a_weight_gradient_is_caught():
    # x @ w = 2 and the loss 2e10 are finite; d loss / d w = x.T * 1e10 = 1e40 overflows float32.
    x = Tensor(np.full((1, 2), 1e30, dtype=np.float32))
    weight = Tensor(np.full((2, 1), 1e-30, dtype=np.float32), requires_grad=True)
    with tr.detect_anomaly():
        site = next_line()
        loss = ((x @ weight) * 1e10).sum()
        assert np.isfinite(loss.data)
        with pytest.raises(AnomalyError) as caught:
            loss.backward()
    message = str(caught.value)
    assert message.startswith("MatMul.backward produced Inf (2 of 2 elements, first at (0, 0))")
    assert "in the gradient for input 1 `b` (shape (2, 1) float32)" in message
    assert f"created at {site}" in message


def test_nan_already_in_input_data_is_reported_at_first_use():
    data = np.ones((2, 3))
    data[1, 2] = np.nan
    weight = Tensor(np.ones((3, 4)), requires_grad=True)
    with tr.detect_anomaly(), pytest.raises(AnomalyError) as caught:
        site = next_line()
        Tensor(data) @ weight
    message = str(caught.value)
    assert message.startswith("MatMul: input 0 `a` (shape (2, 3) float64) contains NaN")
    assert "first at (1, 2)" in message
    assert "before the op ran" in message
    assert f"created at {site}" in message


def test_inf_constant_operand_is_reported():
    x = Tensor(np.ones(3), requires_grad=True)
    with tr.detect_anomaly(), pytest.raises(AnomalyError, match=r"^Mul: input 1 `y` \(float\) contains Inf"):
        x * float("inf")


def test_site_is_the_innermost_frame_outside_the_library():
    def user_helper(value: Tensor) -> Tensor:
        return (value - 1.0).log()

    x = Tensor(np.ones(2), requires_grad=True)
    with tr.detect_anomaly(), pytest.raises(AnomalyError) as caught:
        user_helper(x)
    assert "in user_helper: return (value - 1.0).log()" in str(caught.value)


def test_scope_labels_are_reported():
    x = Tensor(np.zeros(2), requires_grad=True)
    with (
        tr.detect_anomaly(),
        tr.autograd.mode.scope("decoder"),
        tr.autograd.mode.scope("t=7"),
        pytest.raises(AnomalyError, match="in scope decoder > t=7"),
    ):
        x.log()


def resting_rnn(scale: float, steps: int) -> tuple[nn.RNN, Tensor]:
    """A float32 tanh RNN with recurrent weights `scale * I`, no biases, fed zeros: its state
    stays exactly 0, so every backward step multiplies the gradient by `scale`."""
    tr.manual_seed(0)
    rnn = nn.RNN(2, 3)
    rnn.weight_hh_l0.copy_(scale * np.eye(3))
    rnn.bias_ih_l0.zero_()
    rnn.bias_hh_l0.zero_()
    return rnn, tr.zeros(steps, 1, 2)


def first_overflowing_step(scale: float, steps: int) -> int:
    """The time step whose `h @ W_hh^T` backward first overflows float32, for loss = sum of
    outputs: with the state at 0, d loss / d pre-activation at step t is g_t = 1 + scale g_{t+1}."""
    grad = 0.0
    for t in range(steps - 1, -1, -1):
        grad = 1.0 + scale * grad
        if grad * scale > np.finfo(np.float32).max:
            return t
    raise AssertionError("no overflow")


def test_rnn_with_scaled_recurrent_weights_overflows_in_backward_and_says_where():
    scale, steps = 60.0, 30
    rnn, x = resting_rnn(scale, steps)
    output, _ = rnn(x)
    output.sum().backward()
    assert np.isnan(rnn.weight_hh_l0.grad.data).all(), "without anomaly mode the NaN goes unnoticed"

    rnn.zero_grad()
    with tr.detect_anomaly():
        site = next_line()
        output, _ = rnn(x)
        assert np.isfinite(output.data).all()
        with pytest.raises(AnomalyError) as caught:
            output.sum().backward()
    message = str(caught.value)
    assert message.startswith("AddMatMul.backward produced Inf")  # projected + h @ W_hh^T
    assert "in the gradient for input 1 `a` (shape (1, 3) float32)" in message
    assert f"created at {site}" in message
    assert "recurrent.py" in message
    assert f"in scope RNN > t={first_overflowing_step(scale, steps)}" in message


def test_relu_rnn_with_scaled_recurrent_weights_overflows_in_forward_and_says_where():
    tr.manual_seed(0)
    rnn = nn.RNN(2, 3, nonlinearity="relu")
    rnn.weight_hh_l0.copy_(np.full((3, 3), 1e3))
    rnn.weight_ih_l0.copy_(np.ones((3, 2)))
    rnn.bias_ih_l0.zero_()
    rnn.bias_hh_l0.zero_()
    # h_0 = 2 in every unit; h_t = relu(2 + 3000 h_{t-1}) ~ 2 * 3000^t passes 3.4e38 at t = 11.
    with tr.detect_anomaly(), pytest.raises(AnomalyError) as caught:
        site = next_line()
        rnn(tr.ones(40, 1, 2))
    message = str(caught.value)
    assert message.startswith("AddMatMul produced Inf")  # projected + h @ W_hh^T
    assert f"created at {site}" in message
    assert "in scope RNN > t=11" in message


class SquareWithBrokenBackward(Function):
    @staticmethod
    def forward(ctx, values):
        return values * values

    @staticmethod
    def backward(ctx, grad):
        return grad * np.nan


def test_users_own_function_with_nan_backward_is_named():
    x = Tensor(np.ones(3), requires_grad=True)
    with tr.detect_anomaly():
        site = next_line()
        y = SquareWithBrokenBackward.apply(x).sum()
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    message = str(caught.value)
    assert message.startswith("SquareWithBrokenBackward.backward produced NaN (3 of 3 elements")
    assert "input 0 `values`" in message
    assert f"created at {site}" in message


def test_nan_in_the_gradient_passed_to_backward_is_blamed_on_it_not_on_an_op():
    x = Tensor(np.ones(3), requires_grad=True)
    with tr.detect_anomaly():
        y = x * 2.0
        with pytest.raises(AnomalyError, match=r"^backward: the `gradient` passed in contains NaN \(1 of 3"):
            y.backward(gradient=np.array([1.0, np.nan, 1.0]))
        with pytest.raises(AnomalyError, match="passed in contains Inf"):
            tr.grad(y, [x], grad_outputs=np.array([np.inf, 1.0, 1.0]))
    assert x.grad is None


def test_backward_in_anomaly_mode_of_a_graph_built_without_it_says_site_unknown():
    x = Tensor(np.array([0.0]), requires_grad=True)
    loss = x.sqrt().sum()
    with tr.detect_anomaly(), pytest.raises(AnomalyError, match="created with anomaly mode off"):
        loss.backward()


def test_creation_site_is_recorded_only_while_anomaly_mode_is_on():
    x = Tensor(np.ones(2), requires_grad=True)
    plain = x * 2.0
    assert getattr(plain.grad_fn, "anomaly_site", None) is None
    with tr.detect_anomaly():
        checked = x * 2.0
    assert checked.grad_fn.anomaly_site is not None


def test_finite_computation_runs_unchanged_in_anomaly_mode():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))

    def run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, w = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
        loss = (x @ w).tanh().sum()
        loss.backward()
        return loss.data, x.grad.data, w.grad.data

    plain = run()
    with tr.detect_anomaly():
        checked = run()
    for p, c in zip(plain, checked):
        np.testing.assert_array_equal(p, c)


def test_set_detect_anomaly_and_context_manager_restore_the_previous_mode():
    assert not tr.is_anomaly_enabled()
    tr.set_detect_anomaly(True)
    try:
        assert tr.is_anomaly_enabled()
        with tr.detect_anomaly(False):
            assert not tr.is_anomaly_enabled()
            Tensor(np.zeros(1)).log()
        assert tr.is_anomaly_enabled()
    finally:
        tr.set_detect_anomaly(False)
    assert not tr.is_anomaly_enabled()


def test_set_detect_anomaly_as_a_context_manager_restores_the_mode_on_exit():
    with tr.set_detect_anomaly(True):
        assert tr.is_anomaly_enabled()
        with tr.set_detect_anomaly(False):
            assert not tr.is_anomaly_enabled()
        assert tr.is_anomaly_enabled()
    assert not tr.is_anomaly_enabled()


def test_mode_is_restored_after_an_anomaly_error():
    with pytest.raises(AnomalyError), tr.detect_anomaly():
        Tensor(np.zeros(1)).log()
    assert not tr.is_anomaly_enabled()


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    data=st.data(),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
)
def test_first_bad_element_is_located_exactly(shape, data, bad):
    values = np.ones(shape)
    flat = data.draw(st.lists(st.integers(0, values.size - 1), min_size=1, unique=True))
    values.flat[flat] = bad
    first = np.unravel_index(min(flat), shape)
    with tr.detect_anomaly(), pytest.raises(AnomalyError) as caught:
        Tensor(values) + 1.0
    kind = "NaN" if np.isnan(bad) else "Inf"
    message = str(caught.value)
    assert f"contains {kind}" in message
    if values.size > 1:
        assert f"({len(flat)} of {values.size} elements, first at {tuple(int(i) for i in first)})" in message
