"""First engine checks; the full suite lives beside this file."""

import numpy as np
import pytest

import tinygrad_rnn as tr


def test_scalar_tour_gradients_match_hand_derivation():
    a, b = tr.Scalar(2.0), tr.Scalar(-3.0)
    c = (a * b + a**2).tanh()
    c.backward()
    dc = 1 - np.tanh(-2.0) ** 2
    assert a.grad == pytest.approx(dc * (-3.0 + 4.0))
    assert b.grad == pytest.approx(dc * 2.0)


def test_reused_node_accumulates_gradient():
    x = tr.Tensor(np.array([3.0]), requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.numpy() == pytest.approx([6.0])


def test_non_scalar_backward_without_gradient_raises():
    x = tr.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(tr.BackwardError, match="gradient"):
        (x * 2).backward()
