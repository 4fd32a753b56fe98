"""The seed documents' hand-derived RNN gradients, as plain numpy: references for the engine.

Nothing here uses the autodiff engine. Each function writes out one derivation with the
seeds' names and layout, so a test can hold the engine's gradients against it:

- Seed 000, the echo network (two scalar steps): `echo_forward`, `echo_gradients` (eqs 1-19).
- Seed 001, the vanilla RNN with the batch as columns: `rnn_cell_forward`,
  `rnn_cell_backward`, `rnn_forward`, `rnn_backward` (x_t is (n_x, m), s_t is (n_s, m),
  U is (n_s, n_x), W is (n_s, n_s), b_s is (n_s, 1); a sequence is (n_x, m, T)).
- Seed 002, BPTT written as sums over steps of Jacobian products: `per_step_gradients`,
  `sequence_to_vector_gradients`, `sequence_labelling_gradients`, and the bidirectional RNN
  `bidirectional_forward` / `bidirectional_gradients`.

The project's modules use PyTorch's names and rows-as-samples layout: U = weight_ih,
W = weight_hh, x_t (m, n_x) = the transpose of the seeds' x_t.

>>> from tinygrad_rnn.testing import references as ref
>>> grads = ref.echo_gradients(x1=0.3, x2=0.6, y2=0.3, U=0.5, W=0.2, V=1.1, bh=0.0, bz=0.1)
>>> round(float(grads.dU), 4), round(float(grads.dU_t1), 4)   # total, and the t1 term
(0.0978, 0.0087)
"""

# The fields keep the seeds' names (dU, dW, dV), so a reader can match them to the equations.
# ruff: noqa: N815

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# -- seed 000: the echo network ------------------------------------------------------------------


@dataclass(frozen=True)
class EchoForward:
    """Values of the two-step echo network (eqs 1-6); scalars or arrays of examples."""

    h1: Any
    s1: Any
    h2: Any
    s2: Any
    z2: Any
    loss: Any


@dataclass(frozen=True)
class EchoGradients:
    """Seed 000's gradients (eqs 7-19); the totals sum the per-step terms over t1 and t2."""

    dz2: Any
    dh2: Any
    dV: Any
    dbz: Any
    dW: Any
    dU_t2: Any
    dbh_t2: Any
    dh1: Any
    dU_t1: Any
    dbh_t1: Any
    dU: Any
    dbh: Any


def echo_forward(x1: Any, x2: Any, y2: Any, U: Any, W: Any, V: Any, bh: Any, bz: Any) -> EchoForward:
    """The echo network's forward pass, eqs 1-6 (elementwise over arrays of examples)."""
    h1 = x1 * U + bh                 # (1)
    s1 = np.tanh(h1)                 # (2)
    h2 = x2 * U + s1 * W + bh        # (3)
    s2 = np.tanh(h2)                 # (4)
    z2 = s2 * V + bz                 # (5)
    loss = 0.5 * (z2 - y2) ** 2      # (6)
    return EchoForward(h1, s1, h2, s2, z2, loss)


def echo_gradients(x1: Any, x2: Any, y2: Any, U: Any, W: Any, V: Any, bh: Any, bz: Any) -> EchoGradients:
    """d loss / d everything for the echo network, following eqs 7-19 term by term.

    The step t1 has no output, so its contributions to V, W and bz are zero (eqs 16, 18,
    19): dV, dbz and dW come from t2 alone, while dU and dbh add the terms of both steps.
    With arrays of examples, each gradient is per example (sum it for a batch loss).
    """
    fwd = echo_forward(x1, x2, y2, U, W, V, bh, bz)
    dz2 = fwd.z2 - y2                          # (7)
    dh2 = dz2 * V * (1.0 - fwd.s2 ** 2)        # (8)
    dbz = dz2                                  # (9)
    dbh_t2 = dh2                               # (10)
    dV = dz2 * fwd.s2                          # (11)
    dU_t2 = dh2 * x2                           # (12)
    dW = dh2 * fwd.s1                          # (13)
    dh1 = dh2 * W * (1.0 - fwd.s1 ** 2)        # (14)
    dbh_t1 = dh1                               # (15)
    dU_t1 = dh1 * x1                           # (17)
    return EchoGradients(dz2=dz2, dh2=dh2, dV=dV, dbz=dbz, dW=dW, dU_t2=dU_t2, dbh_t2=dbh_t2,
                         dh1=dh1, dU_t1=dU_t1, dbh_t1=dbh_t1, dU=dU_t1 + dU_t2, dbh=dbh_t1 + dbh_t2)


# -- seed 001: the vanilla RNN, batch as columns --------------------------------------------------


def _activate(pre: np.ndarray, nonlinearity: str) -> np.ndarray:
    if nonlinearity == "tanh":
        return np.tanh(pre)
    if nonlinearity == "relu":
        return np.maximum(pre, 0.0)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def _activation_slope(s: np.ndarray, nonlinearity: str) -> np.ndarray:
    """f'(a) written through the output s = f(a): 1 - s^2 for tanh, [s > 0] for relu."""
    return 1.0 - s ** 2 if nonlinearity == "tanh" else (s > 0).astype(s.dtype)


@dataclass(frozen=True)
class CellCache:
    """What one step's backward needs: its output, its inputs and the weights."""

    s_t: np.ndarray
    s_prev: np.ndarray
    x_t: np.ndarray
    U: np.ndarray
    W: np.ndarray
    nonlinearity: str


@dataclass(frozen=True)
class CellGradients:
    """One cell's backward: `dtanh` is the gradient at the pre-activation U x_t + W s_prev + b_s."""

    dtanh: np.ndarray
    dx_t: np.ndarray
    ds_prev: np.ndarray
    dU: np.ndarray
    dW: np.ndarray
    db_s: np.ndarray


@dataclass(frozen=True)
class SequenceGradients:
    """Backpropagation through time: dx (n_x, m, T), ds0 (n_s, m), dU, dW, db_s (n_s, 1)."""

    dx: np.ndarray
    ds0: np.ndarray
    dU: np.ndarray
    dW: np.ndarray
    db_s: np.ndarray


def rnn_cell_forward(x_t: np.ndarray, s_prev: np.ndarray, U: np.ndarray, W: np.ndarray,
                     b_s: np.ndarray, nonlinearity: str = "tanh") -> tuple[np.ndarray, CellCache]:
    """s_t = tanh(U x_t + W s_prev + b_s), batch as columns: x_t (n_x, m), s_prev (n_s, m)."""
    s_t = _activate(U @ x_t + W @ s_prev + b_s, nonlinearity)
    return s_t, CellCache(s_t, s_prev, x_t, U, W, nonlinearity)


def rnn_cell_backward(ds_t: np.ndarray, cache: CellCache) -> CellGradients:
    """Seed 001's per-cell backward, given ds_t = dE/ds_t (n_s, m).

    dtanh = (1 - s_t^2) * ds_t;  dx_t = U^T dtanh;  dU = dtanh x_t^T;  ds_prev = W^T dtanh;
    dW = dtanh s_prev^T;  db_s = dtanh summed over the batch (columns).
    """
    dtanh = _activation_slope(cache.s_t, cache.nonlinearity) * ds_t
    return CellGradients(
        dtanh=dtanh,
        dx_t=cache.U.T @ dtanh,
        ds_prev=cache.W.T @ dtanh,
        dU=dtanh @ cache.x_t.T,
        dW=dtanh @ cache.s_prev.T,
        db_s=dtanh.sum(axis=1, keepdims=True),
    )


def rnn_forward(x: np.ndarray, s0: np.ndarray, U: np.ndarray, W: np.ndarray, b_s: np.ndarray,
                nonlinearity: str = "tanh") -> tuple[np.ndarray, list[CellCache]]:
    """Run the cell over x (n_x, m, T) from s0 (n_s, m); return states s (n_s, m, T) and caches."""
    steps = x.shape[2]
    states = np.empty((s0.shape[0], s0.shape[1], steps), dtype=np.result_type(x, s0, U, W))
    caches = []
    s_t = s0
    for t in range(steps):
        s_t, cache = rnn_cell_forward(x[:, :, t], s_t, U, W, b_s, nonlinearity)
        states[:, :, t] = s_t
        caches.append(cache)
    return states, caches


def rnn_backward(ds: np.ndarray, caches: list[CellCache]) -> SequenceGradients:
    """Seed 001's backward through time: ds (n_s, m, T) is each step's upstream dE/ds_t.

    Walks t = T..1 feeding ds[:, :, t] + ds_prev into the cell, adds each step's dU, dW and
    db_s (the weights are shared across steps), and returns the last ds_prev as ds0.
    """
    first = caches[0]
    n_x, m = first.x_t.shape
    steps = len(caches)
    dx = np.zeros((n_x, m, steps))
    dU = np.zeros_like(first.U, dtype=np.float64)
    dW = np.zeros_like(first.W, dtype=np.float64)
    db_s = np.zeros((first.W.shape[0], 1))
    ds_prev = np.zeros((first.W.shape[0], m))
    for t in reversed(range(steps)):
        cell = rnn_cell_backward(ds[:, :, t] + ds_prev, caches[t])
        dx[:, :, t] = cell.dx_t
        dU += cell.dU
        dW += cell.dW
        db_s += cell.db_s
        ds_prev = cell.ds_prev
    return SequenceGradients(dx=dx, ds0=ds_prev, dU=dU, dW=dW, db_s=db_s)


# -- seed 002: per-step losses, and the bidirectional RNN -----------------------------------------


@dataclass(frozen=True)
class ParameterGradients:
    """dL/dU, dL/dW, dL/dV for the model s_t = f(U x_t + W s_{t-1}), o_t = softmax(V s_t)."""

    dU: np.ndarray
    dW: np.ndarray
    dV: np.ndarray

    def __add__(self, other: ParameterGradients) -> ParameterGradients:
        return ParameterGradients(self.dU + other.dU, self.dW + other.dW, self.dV + other.dV)


def softmax_columns(z: np.ndarray) -> np.ndarray:
    """softmax over axis 0 (the classes, with the batch as columns)."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _one_hot_columns(targets: np.ndarray, classes: int) -> np.ndarray:
    """targets (m,) of class indices as a (classes, m) one-hot matrix."""
    out = np.zeros((classes, targets.shape[0]))
    out[targets, np.arange(targets.shape[0])] = 1.0
    return out


def step_losses(x: np.ndarray, s0: np.ndarray, U: np.ndarray, W: np.ndarray, V: np.ndarray,
                targets: np.ndarray, nonlinearity: str = "tanh") -> np.ndarray:
    """Every step's loss L_t, shape (T,): the cross-entropy of o_t = softmax(V s_t).

    x is (n_x, m, T) and targets (m, T) holds class indices; L_t sums over the batch.
    """
    states, _ = rnn_forward(x, s0, U, W, np.zeros((W.shape[0], 1)), nonlinearity)
    losses = []
    for t in range(x.shape[2]):
        o_t = softmax_columns(V @ states[:, :, t])
        losses.append(-np.log(o_t[targets[:, t], np.arange(x.shape[1])]).sum())
    return np.array(losses)


def per_step_gradients(x: np.ndarray, s0: np.ndarray, U: np.ndarray, W: np.ndarray, V: np.ndarray,
                       targets: np.ndarray, nonlinearity: str = "tanh") -> list[ParameterGradients]:
    """dL_t/dU, dL_t/dW, dL_t/dV for each step's loss alone, by seed 002's formula.

    dL_t/dW = dL_t/do_t do_t/ds_t sum_{i<=t} (ds_i/dW) prod_{j=i}^{t-1} ds_{j+1}/ds_j, and the
    same for U; dL_t/dV = dL_t/do_t do_t/dV. With ds_{j+1}/ds_j = diag(f'(a_{j+1})) W, the
    product is applied to dL_t/ds_t one factor at a time, walking i from t down to 1.
    Shapes as `step_losses`.
    """
    zero_bias = np.zeros((W.shape[0], 1))
    states, _ = rnn_forward(x, s0, U, W, zero_bias, nonlinearity)
    steps = x.shape[2]
    previous = [s0] + [states[:, :, i] for i in range(steps - 1)]
    terms = []
    for t in range(steps):
        s_t = states[:, :, t]
        dz_t = softmax_columns(V @ s_t) - _one_hot_columns(targets[:, t], V.shape[0])  # dL_t/d(V s_t)
        dV = dz_t @ s_t.T
        upstream = V.T @ dz_t                        # dL_t/ds_t
        dU = np.zeros_like(U, dtype=np.float64)
        dW = np.zeros_like(W, dtype=np.float64)
        for i in range(t, -1, -1):
            through_f = _activation_slope(states[:, :, i], nonlinearity) * upstream
            dU += through_f @ x[:, :, i].T           # ds_i/dU, times the product so far
            dW += through_f @ previous[i].T          # ds_i/dW, times the product so far
            upstream = W.T @ through_f               # one more factor ds_i/ds_{i-1}
        terms.append(ParameterGradients(dU, dW, dV))
    return terms


def sequence_to_vector_gradients(x: np.ndarray, s0: np.ndarray, U: np.ndarray, W: np.ndarray,
                                 V: np.ndarray, targets: np.ndarray,
                                 nonlinearity: str = "tanh") -> ParameterGradients:
    """Loss at the last step only (classification): dL/dθ = dL_T/dθ."""
    return per_step_gradients(x, s0, U, W, V, targets, nonlinearity)[-1]


def sequence_labelling_gradients(x: np.ndarray, s0: np.ndarray, U: np.ndarray, W: np.ndarray,
                                 V: np.ndarray, targets: np.ndarray,
                                 nonlinearity: str = "tanh") -> ParameterGradients:
    """Loss at every step (sequence labelling): dL/dθ = sum_t dL_t/dθ."""
    terms = per_step_gradients(x, s0, U, W, V, targets, nonlinearity)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


@dataclass(frozen=True)
class BidirectionalForward:
    """States of both directions (n_s, m, T) each, and the outputs o (n_y, m, T)."""

    s_f: np.ndarray
    s_b: np.ndarray
    o: np.ndarray


@dataclass(frozen=True)
class BidirectionalGradients:
    """Gradients of the summed cross-entropy of o_t = softmax(V [s_f,t ; s_b,t])."""

    dU_f: np.ndarray
    dW_f: np.ndarray
    dU_b: np.ndarray
    dW_b: np.ndarray
    dV: np.ndarray
    dx: np.ndarray
    ds0_f: np.ndarray
    ds0_b: np.ndarray


def bidirectional_forward(x: np.ndarray, s0_f: np.ndarray, s0_b: np.ndarray, U_f: np.ndarray,
                          W_f: np.ndarray, U_b: np.ndarray, W_b: np.ndarray, V: np.ndarray,
                          nonlinearity: str = "tanh") -> tuple[BidirectionalForward, list, list]:
    """Seed 002's bidirectional RNN, batch as columns.

    s_f,t = f(U_f x_t + W_f s_f,t-1) runs t = 1..T from s0_f; s_b,t = f(U_b x_t + W_b s_b,t+1)
    runs t = T..1 from s0_b; o_t = softmax(V [s_f,t ; s_b,t]) with V (n_y, 2 n_s).
    Returns the values and each direction's caches (the backward one in its own time order).
    """
    no_bias = np.zeros((W_f.shape[0], 1))
    s_f, caches_f = rnn_forward(x, s0_f, U_f, W_f, no_bias, nonlinearity)
    reversed_states, caches_b = rnn_forward(x[:, :, ::-1], s0_b, U_b, W_b, no_bias, nonlinearity)
    s_b = reversed_states[:, :, ::-1]
    both = np.concatenate([s_f, s_b], axis=0)                       # [s_f,t ; s_b,t]
    o = softmax_columns(np.einsum("ys,smt->ymt", V, both).reshape(V.shape[0], -1))
    return BidirectionalForward(s_f, s_b, o.reshape(V.shape[0], *x.shape[1:])), caches_f, caches_b


def bidirectional_gradients(x: np.ndarray, s0_f: np.ndarray, s0_b: np.ndarray, U_f: np.ndarray,
                            W_f: np.ndarray, U_b: np.ndarray, W_b: np.ndarray, V: np.ndarray,
                            targets: np.ndarray, nonlinearity: str = "tanh") -> BidirectionalGradients:
    """Gradients of sum_t L_t with L_t the cross-entropy of o_t against targets[:, t] (m, T).

    dV = sum_t dz_t [s_f,t ; s_b,t]^T with dz_t = o_t - y_t; V^T dz_t splits into the upstream
    gradients of the two directions, each then run through seed 001's BPTT (the backward
    direction in reversed time); dx adds both directions' input gradients.
    """
    values, caches_f, caches_b = bidirectional_forward(x, s0_f, s0_b, U_f, W_f, U_b, W_b, V,
                                                       nonlinearity)
    n_s, steps = W_f.shape[0], x.shape[2]
    dz = values.o.copy()
    for t in range(steps):
        dz[:, :, t] -= _one_hot_columns(targets[:, t], V.shape[0])
    both = np.concatenate([values.s_f, values.s_b], axis=0)
    dV = np.einsum("ymt,smt->ys", dz, both)
    ds = np.einsum("ys,ymt->smt", V, dz)
    forward = rnn_backward(ds[:n_s], caches_f)
    backward = rnn_backward(ds[n_s:, :, ::-1], caches_b)
    return BidirectionalGradients(
        dU_f=forward.dU, dW_f=forward.dW, dU_b=backward.dU, dW_b=backward.dW, dV=dV,
        dx=forward.dx + backward.dx[:, :, ::-1], ds0_f=forward.ds0, ds0_b=backward.ds0,
    )


__all__ = [
    "BidirectionalForward", "BidirectionalGradients", "CellCache", "CellGradients", "EchoForward",
    "EchoGradients", "ParameterGradients", "SequenceGradients", "bidirectional_forward",
    "bidirectional_gradients", "echo_forward", "echo_gradients", "per_step_gradients",
    "rnn_backward", "rnn_cell_backward", "rnn_cell_forward", "rnn_forward", "sequence_labelling_gradients",
    "sequence_to_vector_gradients", "softmax_columns", "step_losses",
]
