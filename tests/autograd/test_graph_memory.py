"""A finished step is freed by reference counting alone: the graph holds no reference cycles."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.autograd import Node


@pytest.fixture
def no_cyclic_gc():
    """Run the test with the cyclic garbage collector off: only reference counting frees."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def graph_weakrefs(root):
    """Weak references to every non-leaf value and every op record reachable from `root`."""
    refs, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or node._ctx is None:
            continue
        seen.add(id(node))
        refs += [weakref.ref(node), weakref.ref(node._ctx)]
        stack += [p for p in node._ctx.parents if isinstance(p, Node)]
    return refs


def rnn_step_loss(weight_hh, weight_xh, inputs):
    hidden = tr.zeros(weight_hh.shape[0], dtype=np.float64)
    for step in inputs.unbind(0):
        hidden = (hidden @ weight_hh + step @ weight_xh).tanh()
    return (hidden * hidden).sum()


def parameters():
    rng = np.random.default_rng(0)
    weight_hh = tr.Tensor(rng.normal(size=(4, 4)), requires_grad=True)
    weight_xh = tr.Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    return weight_hh, weight_xh, tr.Tensor(rng.normal(size=(5, 3)))


@pytest.mark.parametrize("retain_graph", [False, True])
def test_tensor_graph_is_freed_after_backward_without_cyclic_gc(no_cyclic_gc, retain_graph):
    weight_hh, weight_xh, inputs = parameters()
    loss = rnn_step_loss(weight_hh, weight_xh, inputs)
    refs = graph_weakrefs(loss)
    assert len(refs) > 20
    loss.backward(retain_graph=retain_graph)
    del loss
    assert [r for r in refs if r() is not None] == []
    assert weight_hh.grad is not None  # the leaves and their gradients stay


def test_graph_with_hooks_and_retained_gradients_is_freed(no_cyclic_gc):
    weight_hh, weight_xh, inputs = parameters()
    hidden = inputs @ weight_xh
    hidden.retain_grad()
    hidden.register_hook(lambda grad: grad * 2.0)
    loss = (hidden.tanh() @ weight_hh).sum()
    refs = graph_weakrefs(loss)
    loss.backward()
    del loss, hidden
    assert [r for r in refs if r() is not None] == []


def test_graph_walked_by_grad_is_freed(no_cyclic_gc):
    weight_hh, weight_xh, inputs = parameters()
    loss = rnn_step_loss(weight_hh, weight_xh, inputs)
    refs = graph_weakrefs(loss)
    tr.grad(loss, [weight_hh, weight_xh])
    del loss
    assert [r for r in refs if r() is not None] == []


def test_graph_that_was_never_walked_is_freed(no_cyclic_gc):
    weight_hh, weight_xh, inputs = parameters()
    loss = rnn_step_loss(weight_hh, weight_xh, inputs)
    refs = graph_weakrefs(loss)
    del loss
    assert [r for r in refs if r() is not None] == []


def test_scalar_graph_is_freed(no_cyclic_gc):
    a, b = tr.Scalar(2.0), tr.Scalar(-3.0)
    out = (a * b + a**2).tanh()
    for _ in range(10):
        out = out * a + b
    refs = graph_weakrefs(out)
    out.backward()
    del out
    assert [r for r in refs if r() is not None] == []


def test_training_steps_leave_no_garbage_for_the_cyclic_collector(no_cyclic_gc):
    weight_hh, weight_xh, inputs = parameters()
    for _ in range(3):  # warm up caches that live for the whole process
        rnn_step_loss(weight_hh, weight_xh, inputs).backward()
    gc.collect()
    for _ in range(5):
        loss = rnn_step_loss(weight_hh, weight_xh, inputs)
        loss.backward()
        weight_hh.add_(-0.01 * weight_hh.grad.numpy())
        weight_hh.zero_grad()
        weight_xh.zero_grad()
    del loss
    assert gc.collect() == 0


@pytest.mark.parametrize("retain_graph, freed", [(False, True), (True, False)])
def test_backward_releases_saved_values_unless_retain_graph(no_cyclic_gc, retain_graph, freed):
    x = tr.Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True)
    largest = x.max(axis=1)  # saves where the maxima are: an array no value holds
    (saved,) = largest.grad_fn.saved_tensors
    saved_ref = weakref.ref(saved)
    del saved
    loss = largest.sum()
    loss.backward(retain_graph=retain_graph)
    assert (saved_ref() is None) == freed
    assert largest.grad_fn is not None  # the graph itself is still there while `loss` lives
