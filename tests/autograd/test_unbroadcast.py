"""The engine's one reduction of broadcast gradients, and gradients that meet after it."""

import numpy as np
from hypothesis import given

import tinygrad_rnn as tr
from tinygrad_rnn.autograd.engine import unbroadcast
from tinygrad_rnn.testing import strategies as trs


@given(trs.broadcastable_shapes(num_shapes=2))
def test_unbroadcast_gives_the_input_shape_holding_the_sum(shapes):
    small, other = shapes
    full = np.broadcast_shapes(small, other)
    grad = np.arange(int(np.prod(full)), dtype=np.float64).reshape(full) + 1.0
    reduced = unbroadcast(grad, small)
    assert reduced.shape == small
    assert reduced.sum() == grad.sum()


def test_zero_dim_weight_used_twice_on_a_batch_accumulates_both_uses():
    weight = tr.Tensor(np.array(2.0), requires_grad=True)
    x = tr.Tensor(np.array([1.0, 2.0, 3.0]))
    y = tr.Tensor(np.array([4.0, 5.0, 6.0]))
    (x * weight + y * weight + x * y * weight).sum().backward()
    # d/dw of sum(x w + y w + x y w) = sum(x) + sum(y) + sum(x y), worked by hand: 6 + 15 + 32.
    assert weight.grad.numpy() == 53.0
