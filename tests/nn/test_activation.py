"""Activation modules compute what their names say."""

import numpy as np

import tinygrad_rnn as tr
from tests.nn.reference import sigmoid, softmax
from tinygrad_rnn import nn

X = np.array([[-2.0, -0.5, 0.0, 1.5]])


def test_activation_modules_match_numpy():
    cases = [
        (nn.Tanh(), np.tanh(X)),
        (nn.ReLU(), np.maximum(X, 0)),
        (nn.Sigmoid(), sigmoid(X)),
        (nn.Identity(), X),
        (nn.Softmax(), softmax(X)),
        (nn.LogSoftmax(axis=0), np.zeros_like(X)),  # one row: log(1)
    ]
    for module, expected in cases:
        np.testing.assert_allclose(module(tr.Tensor(X)).numpy(), expected, rtol=1e-12, atol=1e-15)


def test_softmax_module_repr_shows_its_axis():
    assert repr(nn.Softmax(axis=0)) == "Softmax(axis=0)"
