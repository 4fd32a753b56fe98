"""The seed references themselves, checked by central differences of their own forward passes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_rnn.testing import references as ref


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d array by central differences, perturbing `array` in place."""
    grad = np.zeros(array.shape)
    flat = array.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)


sizes = st.integers(1, 3)
weights = st.floats(-1.5, 1.5, allow_nan=False)


@st.composite
def rnn_problems(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Seed 001's layout: x (n_x, m, T), s0 (n_s, m), U (n_s, n_x), W (n_s, n_s), b_s (n_s, 1)."""
    n_x, n_s, m, steps = draw(sizes), draw(sizes), draw(sizes), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(n_x, m, steps)), "s0": rng.normal(size=(n_s, m)) * 0.5,
        "U": rng.normal(size=(n_s, n_x)), "W": rng.normal(size=(n_s, n_s)) * 0.7,
        "b_s": rng.normal(size=(n_s, 1)), "ds": rng.normal(size=(n_s, m, steps)),
        "n_y": np.array(draw(st.integers(2, 4))), "seed": np.array(seed),
    }


@given(x1=weights, x2=weights, y2=weights, U=weights, W=weights, V=weights, bh=weights, bz=weights)
def test_echo_gradients_match_finite_differences(x1: float, x2: float, y2: float, U: float, W: float,
                                                 V: float, bh: float, bz: float) -> None:
    values = {"x1": x1, "x2": x2, "y2": y2, "U": U, "W": W, "V": V, "bh": bh, "bz": bz}
    grads = ref.echo_gradients(**values)
    for name, expected in [("U", grads.dU), ("W", grads.dW), ("V", grads.dV), ("bh", grads.dbh),
                           ("bz", grads.dbz)]:
        box = np.array([values[name]])

        def loss(name: str = name, box: np.ndarray = box) -> float:
            return float(ref.echo_forward(**{**values, name: box[0]}).loss)

        close(expected, numeric_gradient(loss, box)[0])


def test_echo_first_step_terms_are_the_chain_through_s1() -> None:
    grads = ref.echo_gradients(x1=0.35, x2=0.46, y2=0.35, U=0.8, W=-0.6, V=1.3, bh=0.1, bz=-0.2)
    forward = ref.echo_forward(x1=0.35, x2=0.46, y2=0.35, U=0.8, W=-0.6, V=1.3, bh=0.1, bz=-0.2)
    assert grads.dh1 == pytest.approx(grads.dh2 * -0.6 * (1 - np.tanh(forward.h1) ** 2))
    assert grads.dU == pytest.approx(grads.dh1 * 0.35 + grads.dh2 * 0.46)


@given(rnn_problems())
@settings(max_examples=50)
def test_rnn_backward_matches_finite_differences_of_the_forward(problem: dict[str, np.ndarray]) -> None:
    x, s0, U, W, b_s, ds = (problem[k] for k in ("x", "s0", "U", "W", "b_s", "ds"))
    _, caches = ref.rnn_forward(x, s0, U, W, b_s)
    grads = ref.rnn_backward(ds, caches)

    def objective() -> float:
        return float(np.sum(ds * ref.rnn_forward(x, s0, U, W, b_s)[0]))

    for array, analytic in [(x, grads.dx), (s0, grads.ds0), (U, grads.dU), (W, grads.dW),
                            (b_s, grads.db_s)]:
        close(analytic, numeric_gradient(objective, array))


@given(rnn_problems())
@settings(max_examples=50)
def test_rnn_cell_backward_matches_finite_differences(problem: dict[str, np.ndarray]) -> None:
    x_t = np.ascontiguousarray(problem["x"][:, :, 0])
    s_prev, U, W, b_s = problem["s0"], problem["U"], problem["W"], problem["b_s"]
    ds_t = problem["ds"][:, :, 0]
    _, cache = ref.rnn_cell_forward(x_t, s_prev, U, W, b_s)
    grads = ref.rnn_cell_backward(ds_t, cache)

    def objective() -> float:
        return float(np.sum(ds_t * ref.rnn_cell_forward(x_t, s_prev, U, W, b_s)[0]))

    for array, analytic in [(x_t, grads.dx_t), (s_prev, grads.ds_prev), (U, grads.dU), (W, grads.dW),
                            (b_s, grads.db_s)]:
        close(analytic, numeric_gradient(objective, array))


def _seed_002_problem(problem: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(int(problem["seed"]) + 1)
    x, s0, U, W = problem["x"], problem["s0"], problem["U"], problem["W"]
    n_y = int(problem["n_y"])
    V = rng.normal(size=(n_y, W.shape[0]))
    targets = rng.integers(0, n_y, size=(x.shape[1], x.shape[2]))
    return x, s0, U, W, V, targets


@given(rnn_problems(), st.sampled_from(["tanh", "relu"]))
@settings(max_examples=40)
def test_per_step_gradients_match_finite_differences_of_each_step_loss(
        problem: dict[str, np.ndarray], nonlinearity: str) -> None:
    x, s0, U, W, V, targets = _seed_002_problem(problem)
    terms = ref.per_step_gradients(x, s0, U, W, V, targets, nonlinearity)
    for t, term in enumerate(terms):
        def step_loss(t: int = t) -> float:
            return float(ref.step_losses(x, s0, U, W, V, targets, nonlinearity)[t])

        for array, analytic in [(U, term.dU), (W, term.dW), (V, term.dV)]:
            np.testing.assert_allclose(analytic, numeric_gradient(step_loss, array), rtol=1e-4, atol=1e-6)


@given(rnn_problems())
@settings(max_examples=40)
def test_labelling_gradient_is_the_sum_and_seq_to_vector_the_last_term(
        problem: dict[str, np.ndarray]) -> None:
    x, s0, U, W, V, targets = _seed_002_problem(problem)
    labelling = ref.sequence_labelling_gradients(x, s0, U, W, V, targets)
    last = ref.sequence_to_vector_gradients(x, s0, U, W, V, targets)

    def total() -> float:
        return float(ref.step_losses(x, s0, U, W, V, targets).sum())

    def final() -> float:
        return float(ref.step_losses(x, s0, U, W, V, targets)[-1])

    for array, summed, only_last in [(U, labelling.dU, last.dU), (W, labelling.dW, last.dW),
                                     (V, labelling.dV, last.dV)]:
        close(summed, numeric_gradient(total, array))
        close(only_last, numeric_gradient(final, array))


@given(rnn_problems())
@settings(max_examples=40)
def test_bidirectional_gradients_match_finite_differences(problem: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(int(problem["seed"]) + 2)
    x, s0_f, U_f, W_f = problem["x"], problem["s0"], problem["U"], problem["W"]
    n_s, n_y = W_f.shape[0], int(problem["n_y"])
    s0_b, U_b, W_b = rng.normal(size=s0_f.shape), rng.normal(size=U_f.shape), rng.normal(size=W_f.shape)
    V = rng.normal(size=(n_y, 2 * n_s))
    targets = rng.integers(0, n_y, size=x.shape[1:])
    grads = ref.bidirectional_gradients(x, s0_f, s0_b, U_f, W_f, U_b, W_b, V, targets)

    def loss() -> float:
        o = ref.bidirectional_forward(x, s0_f, s0_b, U_f, W_f, U_b, W_b, V)[0].o
        picked = np.take_along_axis(o, targets[None], axis=0)
        return float(-np.log(picked).sum())

    for array, analytic in [(U_f, grads.dU_f), (W_f, grads.dW_f), (U_b, grads.dU_b), (W_b, grads.dW_b),
                            (V, grads.dV), (x, grads.dx), (s0_f, grads.ds0_f), (s0_b, grads.ds0_b)]:
        close(analytic, numeric_gradient(loss, array))


def test_backward_direction_runs_from_the_last_step() -> None:
    x = np.zeros((1, 1, 3))
    x[0, 0, 2] = 1.0  # only the last step has input
    one = np.ones((1, 1))
    values = ref.bidirectional_forward(x, np.zeros((1, 1)), np.zeros((1, 1)), one, one, one, one,
                                       np.ones((2, 2)))[0]
    assert values.s_f[0, 0, :2].tolist() == [0.0, 0.0]      # forward: nothing seen yet
    assert np.all(values.s_b[0, 0, :] > 0)                   # backward: the input reaches t=0
    assert values.s_b[0, 0, 0] < values.s_b[0, 0, 2]
