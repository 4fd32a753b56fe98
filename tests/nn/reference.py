"""Independent numpy references for the nn tests, written from the formulas (not from the modules).

Weights use PyTorch's layouts: W_ih (gates * H, F), W_hh (gates * H, H), biases (gates * H,).
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, activation=np.tanh):
    """Elman RNN over x (T, B, F) from h0 (B, H): the states (T, B, H), step by step."""
    states = []
    h = h0
    for x_t in x:
        h = activation(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        states.append(h)
    return np.stack(states)


def rnn_bptt(x, h0, w_ih, w_hh, states, d_states):
    """Hand-derived backpropagation through time for a tanh RNN (seed 001's per-cell backward).

    `d_states` (T, B, H) is dL/dh_t from outside the recurrence. Returns the gradients of
    x, h0, w_ih, w_hh, b_ih (= b_hh's).
    """
    d_x = np.zeros_like(x)
    d_w_ih = np.zeros_like(w_ih)
    d_w_hh = np.zeros_like(w_hh)
    d_b = np.zeros(w_ih.shape[0])
    d_next = np.zeros_like(h0)
    for t in reversed(range(len(x))):
        previous = h0 if t == 0 else states[t - 1]
        d_raw = (1 - states[t] ** 2) * (d_states[t] + d_next)
        d_x[t] = d_raw @ w_ih
        d_w_ih += d_raw.T @ x[t]
        d_w_hh += d_raw.T @ previous
        d_b += d_raw.sum(axis=0)
        d_next = d_raw @ w_hh
    return d_x, d_next, d_w_ih, d_w_hh, d_b


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """LSTM over x (T, B, F): (states (T, B, H), final c). Gate blocks i, f, g, o."""
    size = h0.shape[1]
    blocks = [slice(k * size, (k + 1) * size) for k in range(4)]
    h, c = h0, c0
    states = []
    for x_t in x:
        def gate(k, x_t=x_t, h=h):
            rows = blocks[k]
            return x_t @ w_ih[rows].T + b_ih[rows] + h @ w_hh[rows].T + b_hh[rows]
        i, f, g, o = sigmoid(gate(0)), sigmoid(gate(1)), np.tanh(gate(2)), sigmoid(gate(3))
        c = f * c + i * g
        h = o * np.tanh(c)
        states.append(h)
    return np.stack(states), c


def gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    """GRU over x (T, B, F): the states (T, B, H). Gate blocks r, z, n."""
    size = h0.shape[1]
    r_rows, z_rows, n_rows = (slice(k * size, (k + 1) * size) for k in range(3))
    h = h0
    states = []
    for x_t in x:
        r = sigmoid(x_t @ w_ih[r_rows].T + b_ih[r_rows] + h @ w_hh[r_rows].T + b_hh[r_rows])
        z = sigmoid(x_t @ w_ih[z_rows].T + b_ih[z_rows] + h @ w_hh[z_rows].T + b_hh[z_rows])
        n = np.tanh(x_t @ w_ih[n_rows].T + b_ih[n_rows] + r * (h @ w_hh[n_rows].T + b_hh[n_rows]))
        h = (1 - z) * n + z * h
        states.append(h)
    return np.stack(states)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)
