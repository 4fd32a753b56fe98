"""Long runs: thousands of training steps without leaking, and unrolls far deeper than the
recursion limit."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref

import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn import nn, optim
from tinygrad_rnn.nn import functional

STEPS, WARM_UP = 2_000, 200


def small_training_step():
    """One step of a tiny RNN classifier; returns a weak reference to the step's loss."""
    tr.manual_seed(0)
    rnn, head = nn.RNN(2, 4), nn.Linear(4, 3)
    optimizer = optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-2)
    rng = np.random.default_rng(0)
    inputs = tr.Tensor(rng.standard_normal((3, 2, 2)).astype(np.float32))
    targets = rng.integers(0, 3, size=(3, 2))

    def step() -> weakref.ref:
        output, _ = rnn(inputs)
        loss = functional.cross_entropy(head(output), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return weakref.ref(loss)

    return step


def test_two_thousand_steps_keep_memory_flat_with_the_cyclic_collector_off():
    step = small_training_step()
    gc.collect()
    gc.disable()
    try:
        for _ in range(WARM_UP):
            step()
        tracemalloc.start()
        try:
            start, _ = tracemalloc.get_traced_memory()
            dead = 0
            for _ in range(STEPS - WARM_UP):
                dead += step()() is None
            end, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        ours = [obj for obj in gc.garbage if type(obj).__module__.startswith("tinygrad_rnn")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert dead == STEPS - WARM_UP, "each step's graph is freed by reference counting alone"
    assert end - start < 10 * 2**20, f"memory grew by {(end - start) / 2**20:.1f} MB"
    assert ours == [], f"the cyclic collector found {len(ours)} of the library's objects"


def elman_reference(x, weight_ih, weight_hh, bias):
    """h_T and the gradients of sum(h_T) by hand-written BPTT in numpy (float64)."""
    steps = x.shape[0]
    hidden = np.zeros((x.shape[1], weight_hh.shape[0]))
    states = [hidden]
    for t in range(steps):
        hidden = np.tanh(x[t] @ weight_ih.T + hidden @ weight_hh.T + bias)
        states.append(hidden)
    grad_h = np.ones_like(hidden)
    grad_ih, grad_hh, grad_b = np.zeros_like(weight_ih), np.zeros_like(weight_hh), np.zeros_like(bias)
    for t in range(steps - 1, -1, -1):
        grad_pre = grad_h * (1 - states[t + 1] ** 2)
        grad_ih += grad_pre.T @ x[t]
        grad_hh += grad_pre.T @ states[t]
        grad_b += grad_pre.sum(axis=0)
        grad_h = grad_pre @ weight_hh
    return states[-1], grad_ih, grad_hh, grad_b


def test_unroll_of_twenty_thousand_steps_backpropagates_with_the_default_recursion_limit():
    limit = sys.getrecursionlimit()
    steps = 20_000
    tr.manual_seed(0)
    rnn = nn.RNN(1, 2, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((steps, 1, 1))
    output, h_n = rnn(tr.Tensor(x))
    h_n.sum().backward()
    expected_h, grad_ih, grad_hh, grad_b = elman_reference(
        x, rnn.weight_ih_l0.data, rnn.weight_hh_l0.data, rnn.bias_ih_l0.data + rnn.bias_hh_l0.data
    )
    assert sys.getrecursionlimit() == limit
    assert output.shape == (steps, 1, 2)
    np.testing.assert_allclose(h_n.data[0], expected_h, rtol=1e-12)
    np.testing.assert_allclose(rnn.weight_ih_l0.grad.data, grad_ih, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rnn.weight_hh_l0.grad.data, grad_hh, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rnn.bias_hh_l0.grad.data, grad_b, rtol=1e-9, atol=1e-12)
    dropped = weakref.ref(h_n)
    del output, h_n
    assert dropped() is None


def test_a_deep_graph_dropped_without_backward_is_freed_without_recursion():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    last = weakref.ref(y)
    one_step_back = weakref.ref(y.grad_fn.parents[0])
    del y
    assert last() is None and one_step_back() is None
