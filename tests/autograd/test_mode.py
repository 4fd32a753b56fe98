"""Grad mode (no_grad, enable_grad, set_grad_enabled), detach, and requires_grad propagation."""

import contextlib
import threading

import numpy as np
import pytest

import tinygrad_rnn as tr


def leaf(values):
    return tr.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_no_grad_builds_no_graph():
    x = leaf([1.0, 2.0])
    with tr.no_grad():
        y = (x * 2.0).tanh()
        assert not tr.is_grad_enabled()
    assert tr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_allclose(y.numpy(), np.tanh([2.0, 4.0]))
    with pytest.raises(tr.BackwardError):
        y.sum().backward()


def test_no_grad_as_decorator_restores_mode_after_an_exception():
    @tr.no_grad()
    def failing(x):
        assert not tr.is_grad_enabled()
        raise KeyError("boom")

    with pytest.raises(KeyError):
        failing(leaf([1.0]))
    assert tr.is_grad_enabled()


def test_enable_grad_inside_no_grad_records_again():
    x = leaf([1.0])
    with tr.no_grad():
        with tr.enable_grad():
            y = x * 2.0
        z = x * 2.0
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_as_context_function_and_decorator():
    x = leaf([1.0])
    with tr.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert tr.is_grad_enabled()

    tr.set_grad_enabled(False)
    try:
        assert not (x * 2.0).requires_grad
    finally:
        tr.set_grad_enabled(True)

    @tr.set_grad_enabled(False)
    def evaluate(value):
        return value * 2.0

    assert tr.is_grad_enabled()  # decorating does not switch the mode
    assert not evaluate(x).requires_grad
    assert tr.is_grad_enabled()


def test_no_grad_in_one_thread_does_not_affect_another():
    x = leaf([1.0])
    entered, recorded = threading.Event(), threading.Event()
    results = {}

    def other_thread():
        entered.wait(timeout=10)
        results["mode"] = tr.is_grad_enabled()
        results["requires_grad"] = (x * 2.0).requires_grad
        recorded.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with tr.no_grad():
        entered.set()
        assert recorded.wait(timeout=10)
        assert not (x * 2.0).requires_grad
    thread.join()
    assert results == {"mode": True, "requires_grad": True}


@contextlib.contextmanager
def another_thread_inside(block, work=lambda: None):
    """Hold a new thread inside `block` (after it ran `work` there) while the body runs."""
    inside, release = threading.Event(), threading.Event()

    def other_thread():
        with block:
            work()
            inside.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert inside.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        thread.join()


def test_no_grad_entered_in_a_new_thread_leaves_the_main_thread_recording():
    x = leaf([1.0])
    with another_thread_inside(tr.no_grad()):
        assert tr.is_grad_enabled() and (x * 2.0).requires_grad


def test_detach_shares_data_and_stops_the_gradient():
    x = leaf([2.0, 3.0])
    frozen = x.detach()
    assert not frozen.requires_grad and frozen.is_leaf
    assert np.shares_memory(frozen.numpy(), x.numpy())
    (frozen * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0])


def test_requires_grad_propagates_from_any_input():
    x, constant = leaf([1.0]), tr.Tensor([2.0])
    assert (x * constant).requires_grad
    assert (constant * x).requires_grad
    product = constant * constant
    assert not product.requires_grad and product.grad_fn is None


def test_op_records_which_inputs_need_a_gradient():
    x, constant = leaf([1.0]), tr.Tensor(np.array([2.0]))
    y = x * constant
    assert y.grad_fn.needs_input_grad == (True, False)
    y.sum().backward()
    assert constant.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


def test_requires_grad_can_be_switched_on_for_a_float_leaf():
    x = tr.Tensor(np.array([3.0]))
    assert x.requires_grad_() is x
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0])
    with pytest.raises(tr.DTypeError):
        tr.Tensor(np.array([1, 2])).requires_grad_()


# -- the count of threads off the defaults, which lets ops skip thread-local reads -----------


def changed_threads():
    return tr.autograd.mode.Switches.changed


def test_every_block_gives_back_its_count_also_when_it_raises():
    before = changed_threads()
    with tr.no_grad(), tr.autograd.mode.scope("outer"), tr.detect_anomaly(), tr.enable_grad():
        assert changed_threads() == before + 1  # one thread, however many switches
    assert changed_threads() == before
    with pytest.raises(KeyError), tr.autograd.mode.scope("failing"):
        raise KeyError("boom")
    assert changed_threads() == before


def test_a_switch_set_without_a_block_counts_until_it_is_set_back():
    before = changed_threads()
    x = leaf([1.0])
    tr.set_grad_enabled(False)
    try:
        assert changed_threads() == before + 1
        assert not (x * 2.0).requires_grad
    finally:
        tr.set_grad_enabled(True)
    assert changed_threads() == before
    tr.set_detect_anomaly(True)
    try:
        with pytest.raises(tr.AnomalyError), np.errstate(over="ignore"):
            x * 1e308 * 1e308
    finally:
        tr.set_detect_anomaly(False)
    assert changed_threads() == before and (x * 2.0).requires_grad


def test_ops_read_their_own_threads_scope_while_another_thread_has_one_open():
    x = leaf([1.0])
    scopes = {}

    def record_worker_scope():
        scopes["worker"] = (x * 2.0)._scope

    with another_thread_inside(tr.autograd.mode.scope("worker"), record_worker_scope):
        scopes["main"] = (x * 2.0)._scope
    assert scopes == {"worker": ("worker",), "main": None}
    assert (x * 2.0)._scope is None


def test_a_truthy_anomaly_flag_counts_its_thread_once():
    before = changed_threads()
    with tr.detect_anomaly(1), tr.no_grad():
        assert changed_threads() == before + 1
    assert changed_threads() == before
