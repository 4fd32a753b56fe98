"""Recurrent cells and layers with PyTorch's shapes, gate order, parameter names and init.

A layer is a Python loop over time steps of Tensor ops, and backpropagation through time is
the engine's backward on the unrolled graph: nothing here has a hand-written gradient. Each
step's math is written once (`elman_step`, `lstm_step`, `gru_step`) and used by both the
cell (one step) and the layer (a sequence). A layer computes the input projection of all
steps in one matmul, transposes `weight_hh` once, and per step runs only the recurrent
matmul with its add (one `addmm`) and the gate nonlinearities.

Seed names: U = weight_ih (input -> hidden), W = weight_hh (hidden -> hidden); the output
layer V is a separate `Linear`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import mode
from ..autograd.node import Node
from ..errors import DTypeError, ShapeError
from ..ops import Tanh
from ..tensor import Tensor, concat, get_default_dtype, stack, where
from . import functional, init
from .linear import as_input, check_size
from .module import Module, Parameter

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": Tensor.tanh, "relu": Tensor.relu, "sigmoid": Tensor.sigmoid,
    "identity": lambda x: x,
}


def _pick_activation(module: str, name: str, allowed: tuple[str, ...],
                     argument: str = "nonlinearity") -> Callable[[Tensor], Tensor]:
    if name not in allowed:
        raise ValueError(f"{module}: {argument} must be one of {allowed}, got {name!r}")
    return _ACTIVATIONS[name]


# -- the math of one step ----------------------------------------------------------------------
# `projected` is x W_ih^T plus the biases that can be added before the loop; `h` (and `c`)
# None stands for a zero initial state, whose recurrent product is skipped.


def _row(projected: Tensor, step: int | None) -> Tensor:
    """The input projection of one step: `projected` itself for a cell, `projected[step]` for
    step `step` of a sequence (which `addmm(..., index=step)` reads without slicing)."""
    return projected if step is None else projected[step]


def elman_step(projected: Tensor, h: Tensor | None, weight_hh_t: Tensor,
               activation: Callable[[Tensor], Tensor], step: int | None = None) -> Tensor:
    """h' = act(x W_ih^T + b_ih + b_hh + h W_hh^T), with `projected` = x W_ih^T + b_ih + b_hh
    (or, given `step`, `projected[step]`: see `_row`)."""
    if h is None:
        return activation(_row(projected, step))
    pre_activation = projected.addmm(h, weight_hh_t, index=step)
    if step is not None and activation is Tensor.tanh and not mode.state.anomaly:
        # In a sequence layer nothing reads the new pre-activation again: tanh overwrites it,
        # so the graph keeps one array per step instead of two. (Drawings mark the
        # pre-activation as overwritten; anomaly mode keeps it, to report it.)
        return Tanh.apply(pre_activation, True)
    return activation(pre_activation)


def lstm_step(projected: Tensor, h: Tensor | None, c: Tensor | None,
              weight_hh_t: Tensor, step: int | None = None) -> tuple[Tensor, Tensor]:
    """PyTorch's LSTM step; gates in the order i, f, g, o along the last axis.

    i, f, o = sigmoid(...), g = tanh(...) of x W_ih^T + b_ih + h W_hh^T + b_hh;
    c' = f c + i g;  h' = o tanh(c').
    """
    size = projected.shape[-1] // 4
    gates = _row(projected, step) if h is None else projected.addmm(h, weight_hh_t, index=step)
    # One sigmoid over all four gates (g's quarter unused) costs less than three calls.
    sigmoids = gates.sigmoid()
    input_gate = sigmoids[..., :size]
    cell = gates[..., 2 * size:3 * size].tanh()
    if c is None:
        c = input_gate * cell
    else:
        c = sigmoids[..., size:2 * size] * c + input_gate * cell
    return sigmoids[..., 3 * size:] * c.tanh(), c


def gru_step(projected: Tensor, h: Tensor | None, weight_hh_t: Tensor,
             bias_hh: Tensor | None, step: int | None = None) -> Tensor:
    """PyTorch's GRU step; gates r, z, n along the last axis, `projected` = x W_ih^T + b_ih.

    r, z = sigmoid(x W_i^T + b_i + h W_h^T + b_h);  n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn));
    h' = (1 - z) n + z h.
    """
    projected = _row(projected, step)
    size = projected.shape[-1] // 3
    if h is None:
        hidden = bias_hh
    else:
        hidden = h @ weight_hh_t if bias_hh is None else bias_hh.addmm(h, weight_hh_t)
    # One sigmoid over all three gates (n's third unused) costs less than two calls.
    gates = (projected if hidden is None else projected + hidden).sigmoid()
    update = gates[..., size:2 * size]
    candidate = projected[..., 2 * size:]
    if hidden is not None:
        candidate = candidate + gates[..., :size] * hidden[..., 2 * size:]
    candidate = candidate.tanh()
    return candidate - update * candidate if h is None else candidate + update * (h - candidate)


# -- what each kind of cell adds to the shared machinery -------------------------------------


class _ElmanKind:
    """Elman's RNN: one gate, both biases folded into the input projection."""

    gate_count = 1
    # A batch's state is kept in column layout (batch along the fast axis): the step is one
    # addmm reading the input projection, whose layout it follows, and the activation.
    columns_state = True
    nonlinearity: str
    _activation: Callable[[Tensor], Tensor]

    def _set_nonlinearity(self, nonlinearity: str) -> None:
        self.nonlinearity = nonlinearity
        self._activation = _pick_activation(type(self).__name__, nonlinearity, ("tanh", "relu"))

    @staticmethod
    def _input_bias(bias_ih: Tensor | None, bias_hh: Tensor | None) -> Tensor | None:
        return None if bias_ih is None else bias_ih + bias_hh

    def _step(self, projected: Tensor, state: State | None, weight_hh_t: Tensor,
              bias_hh: Tensor | None, step: int | None = None) -> State:
        return (elman_step(projected, None if state is None else state[0], weight_hh_t,
                           self._activation, step),)


class _LSTMKind:
    gate_count = 4

    @staticmethod
    def _input_bias(bias_ih: Tensor | None, bias_hh: Tensor | None) -> Tensor | None:
        return None if bias_ih is None else bias_ih + bias_hh

    @staticmethod
    def _step(projected: Tensor, state: State | None, weight_hh_t: Tensor,
              bias_hh: Tensor | None, step: int | None = None) -> State:
        h, c = (None, None) if state is None else state
        return lstm_step(projected, h, c, weight_hh_t, step)


class _GRUKind:
    gate_count = 3

    @staticmethod
    def _input_bias(bias_ih: Tensor | None, bias_hh: Tensor | None) -> Tensor | None:
        return bias_ih  # b_hn sits inside r * (...), so b_hh stays in the step

    @staticmethod
    def _step(projected: Tensor, state: State | None, weight_hh_t: Tensor,
              bias_hh: Tensor | None, step: int | None = None) -> State:
        return (gru_step(projected, None if state is None else state[0], weight_hh_t, bias_hh,
                         step),)


def _recurrent_parameter(shape: tuple[int, ...], dtype: Any) -> Parameter:
    return Parameter(np.empty(shape, dtype=dtype))


# -- cells: one time step -----------------------------------------------------------------------


class _CellBase(Module):
    """Parameters and checks shared by RNNCell, LSTMCell and GRUCell (PyTorch's names and init)."""

    gate_count: int
    _input_bias: Callable[[Tensor | None, Tensor | None], Tensor | None]
    _step: Callable[..., State]

    def __init__(self, input_size: int, hidden_size: int, bias: bool, dtype: Any) -> None:
        super().__init__()
        check_size(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = dtype or get_default_dtype()
        rows = self.gate_count * hidden_size
        self.weight_ih = _recurrent_parameter((rows, input_size), dtype)
        self.weight_hh = _recurrent_parameter((rows, hidden_size), dtype)
        self.bias_ih = _recurrent_parameter((rows,), dtype) if bias else None
        self.bias_hh = _recurrent_parameter((rows,), dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every weight and bias, as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def _check_input(self, input: Any) -> Tensor:
        name = type(self).__name__
        input = as_input(name, input)
        if input.ndim != 2 or input.shape[1] != self.input_size:
            raise ShapeError(f"{name}: expected input of shape (batch, {self.input_size}), got "
                             f"{input.shape}")
        return input

    def _check_hidden(self, what: str, value: Any, batch: int) -> Tensor:
        name = type(self).__name__
        value = as_input(name, value, what)
        if value.shape != (batch, self.hidden_size):
            raise ShapeError(f"{name}: {what} must have shape (batch, hidden_size) = "
                             f"{(batch, self.hidden_size)}, got {value.shape}")
        return value

    def _cell_forward(self, input: Any, state: tuple[Any, ...] | None) -> State:
        input = self._check_input(input)
        names = ("h", "c")
        if state is not None:
            state = tuple(self._check_hidden(names[i], value, input.shape[0])
                          for i, value in enumerate(state))
        bias = self._input_bias(self.bias_ih, self.bias_hh)
        weight_ih_t = self.weight_ih.T
        projected = input @ weight_ih_t if bias is None else bias.addmm(input, weight_ih_t)
        return self._step(projected, state, self.weight_hh.T, self.bias_hh)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        return text


class RNNCell(_ElmanKind, _CellBase):
    """One step of Elman's RNN: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu.

    input (B, input_size), h (B, hidden_size) or None for zeros -> h' (B, hidden_size).

    >>> cell = RNNCell(3, 5)
    >>> h = cell(Tensor(np.ones((2, 3))))
    >>> cell(Tensor(np.ones((2, 3))), h).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: Any = None) -> None:
        self._set_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._cell_forward(input, None if hx is None else (hx,))[0]


class LSTMCell(_LSTMKind, _CellBase):
    """One LSTM step with PyTorch's gate order (i, f, g, o): (h, c) -> (h', c').

    input (B, input_size), hx = (h, c) each (B, hidden_size), or None for zeros.

    >>> h, c = LSTMCell(3, 5)(Tensor(np.ones((2, 3))))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Any, hx: tuple[Any, Any] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a pair (h, c) or None")
        h, c = self._cell_forward(input, None if hx is None else tuple(hx))
        return h, c


class GRUCell(_GRUKind, _CellBase):
    """One GRU step with PyTorch's gates (r, z, n) and n = tanh(W_in x + b_in + r (W_hn h + b_hn)).

    input (B, input_size), h (B, hidden_size) or None for zeros -> h' (B, hidden_size).

    >>> GRUCell(3, 5)(Tensor(np.ones((2, 3)))).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._cell_forward(input, None if hx is None else (hx,))[0]


class JordanCell(Module):
    """One step of Jordan's network (seed 004): the previous OUTPUT is fed back, not the hidden state.

        hidden = act(x W_ih^T + y_prev W_oh^T + b_h)
        y      = output_act(hidden W_ho^T + b_o)

    input (B, input_size), y_prev (B, output_size) or None for zeros ->
    (hidden (B, hidden_size), y (B, output_size)); feed y back as the next step's y_prev.
    `nonlinearity` is tanh or relu; `output_nonlinearity` tanh, sigmoid, relu or identity.
    All parameters start from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    >>> cell = JordanCell(2, 4, 1)
    >>> y = None
    >>> for x in xs:
    ...     hidden, y = cell(x, y)
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", output_nonlinearity: str = "tanh",
                 dtype: Any = None) -> None:
        super().__init__()
        check_size("JordanCell", input_size=input_size, hidden_size=hidden_size,
                   output_size=output_size)
        self._activation = _pick_activation("JordanCell", nonlinearity, ("tanh", "relu"))
        self._output_activation = _pick_activation("JordanCell", output_nonlinearity,
                                                   ("tanh", "sigmoid", "relu", "identity"),
                                                   "output_nonlinearity")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.nonlinearity = nonlinearity
        self.output_nonlinearity = output_nonlinearity
        dtype = dtype or get_default_dtype()
        self.weight_ih = _recurrent_parameter((hidden_size, input_size), dtype)
        self.weight_oh = _recurrent_parameter((hidden_size, output_size), dtype)
        self.bias_h = _recurrent_parameter((hidden_size,), dtype) if bias else None
        self.weight_ho = _recurrent_parameter((output_size, hidden_size), dtype)
        self.bias_o = _recurrent_parameter((output_size,), dtype) if bias else None
        bound = 1.0 / math.sqrt(hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def forward(self, input: Any, output: Any = None) -> tuple[Tensor, Tensor]:
        input = as_input("JordanCell", input)
        if input.ndim != 2 or input.shape[1] != self.input_size:
            raise ShapeError(f"JordanCell: expected input of shape (batch, {self.input_size}), "
                             f"got {input.shape}")
        pre = input @ self.weight_ih.T
        if output is not None:
            output = as_input("JordanCell", output, "the previous output")
            if output.shape != (input.shape[0], self.output_size):
                raise ShapeError(f"JordanCell: the previous output must have shape "
                                 f"{(input.shape[0], self.output_size)}, got {output.shape}")
            pre = pre + output @ self.weight_oh.T
        if self.bias_h is not None:
            pre = pre + self.bias_h
        hidden = self._activation(pre)
        out = hidden @ self.weight_ho.T
        if self.bias_o is not None:
            out = out + self.bias_o
        return hidden, self._output_activation(out)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"nonlinearity={self.nonlinearity!r}, output_nonlinearity="
                f"{self.output_nonlinearity!r}")


# -- layers: whole sequences --------------------------------------------------------------------


class _RecurrentBase(Module):
    """The sequence loop shared by RNN, LSTM and GRU: layers, directions, lengths, initial states."""

    gate_count: int
    state_size = 1  # tensors in the state: 1 (h) or 2 (h, c)
    columns_state = False
    _input_bias: Callable[[Tensor | None, Tensor | None], Tensor | None]
    _step: Callable[..., State]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, bias: bool,
                 batch_first: bool, dropout: float, bidirectional: bool, learn_h0: bool,
                 dtype: Any) -> None:
        super().__init__()
        name = type(self).__name__
        check_size(name, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.learn_h0 = learn_h0
        directions = 2 if bidirectional else 1
        dtype = dtype or get_default_dtype()
        rows = self.gate_count * hidden_size
        self._weight_names: list[tuple[str, str, str, str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = (f"weight_ih{suffix}", f"weight_hh{suffix}", f"bias_ih{suffix}",
                         f"bias_hh{suffix}")
                setattr(self, names[0], _recurrent_parameter((rows, layer_input), dtype))
                setattr(self, names[1], _recurrent_parameter((rows, hidden_size), dtype))
                setattr(self, names[2], _recurrent_parameter((rows,), dtype) if bias else None)
                setattr(self, names[3], _recurrent_parameter((rows,), dtype) if bias else None)
                self._weight_names.append(names)
        initial_shape = (num_layers * directions, 1, hidden_size)
        if learn_h0:
            self.h_0 = _recurrent_parameter(initial_shape, dtype)
            if self.state_size == 2:
                self.c_0 = _recurrent_parameter(initial_shape, dtype)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """Weights and biases from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) as PyTorch;
        learned initial states from zero."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name, parameter in self.named_parameters():
            if name in ("h_0", "c_0"):
                init.zeros_(parameter)
            else:
                init.uniform_(parameter, -bound, bound)

    # -- checks -----------------------------------------------------------------------------

    def _check_input(self, input: Any) -> Tensor:
        name = type(self).__name__
        input = as_input(name, input)
        layout = "(batch, T, features)" if self.batch_first else "(T, batch, features)"
        if input.ndim != 3:
            raise ShapeError(
                f"{name}: expected a 3-D input {layout} with features={self.input_size}, got "
                f"shape {input.shape}; add a batch axis of size 1 for a single sequence"
            )
        if input.shape[2] != self.input_size:
            raise ShapeError(f"{name}: input has {input.shape[2]} features (shape {input.shape}) "
                             f"but input_size is {self.input_size}")
        if input.shape[1 if self.batch_first else 0] == 0:
            raise ShapeError(f"{name}: the input sequence is empty (shape {input.shape})")
        return input

    def _check_lengths(self, lengths: Any, steps: int, batch: int) -> np.ndarray | None:
        """(T, B) booleans: whether step t of sequence b is real (None when all are)."""
        if lengths is None:
            return None
        name = type(self).__name__
        array = np.asarray(lengths.data if isinstance(lengths, Node) else lengths)
        if array.dtype.kind not in "iu":
            raise DTypeError(f"{name}: lengths must be integers, got dtype {array.dtype}")
        if array.shape != (batch,):
            raise ShapeError(f"{name}: lengths must have shape (batch,) = ({batch},), got "
                             f"{array.shape}")
        if (array <= 0).any() or (array > steps).any():
            bad = int(array[(array <= 0) | (array > steps)][0])
            raise ValueError(f"{name}: every length must be in 1..T = 1..{steps}, got {bad}")
        if (array == steps).all():
            return None
        return np.arange(steps)[:, None] < array[None, :]

    def _initial_states(self, hx: Any, batch: int) -> list[State | None]:
        """One state per (layer, direction), in h_0's order; None stands for zeros."""
        count = self.num_layers * self.num_directions
        if hx is None:
            if not self.learn_h0:
                return [None] * count
            initial = [self.h_0] if self.state_size == 1 else [self.h_0, self.c_0]
        else:
            initial = self._check_hx(hx, batch)
        per_tensor = [tensor.unbind(0) for tensor in initial]
        return [tuple(parts[k] for parts in per_tensor) for k in range(count)]

    def _check_hx(self, hx: Any, batch: int) -> list[Tensor]:
        name = type(self).__name__
        names = ("h_0",) if self.state_size == 1 else ("h_0", "c_0")
        if self.state_size == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a pair (h_0, c_0) or None")
            values = list(hx)
        else:
            values = [hx]
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        tensors = []
        for what, value in zip(names, values):
            tensor = as_input(name, value, what)
            if tensor.shape != shape:
                raise ShapeError(
                    f"{name}: {what} must have shape (num_layers * num_directions, batch, "
                    f"hidden_size) = {shape}, got {tensor.shape}"
                )
            tensors.append(tensor)
        return tensors

    # -- the loop ---------------------------------------------------------------------------

    def _run_direction(self, input: Tensor, state: State | None, names: tuple[str, ...],
                       reverse: bool, active: np.ndarray | None) -> tuple[Tensor, State]:
        """One layer in one direction over (T, B, F) input: ((T, B, H) outputs, final state)."""
        weight_ih, weight_hh, bias_ih, bias_hh = (getattr(self, name) for name in names)
        steps, batch, features = input.shape
        flat = input.reshape(steps * batch, features)
        bias = self._input_bias(bias_ih, bias_hh)
        if self.columns_state and batch > 1:
            # (W_ih x^T + b)^T: each step's rows in column layout, which the step's product
            # and so the state then take (see AddMatMul).
            projected = (weight_ih @ flat.T if bias is None else
                         bias.reshape(-1, 1).addmm(weight_ih, flat.T)).T
        else:
            projected = flat @ weight_ih.T if bias is None else bias.addmm(flat, weight_ih.T)
        projected = projected.reshape(steps, batch, projected.shape[-1])
        weight_hh_t = weight_hh.T
        if state is None and (active is not None or steps == 1):
            # Padded sequences keep a state to fall back on. A single step multiplies the zero
            # state as PyTorch does, so that weight_hh gets its (zero) gradient, not None.
            zeros = Tensor(np.zeros((batch, self.hidden_size), dtype=projected.dtype))
            state = (zeros,) * self.state_size
        outputs: list[Any] = [None] * steps
        outer = mode.state.scope
        prefix = outer or ()
        try:
            for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
                mode.set_switch("scope", (*prefix, t))  # labelled `t=...`: see mode.scope_labels
                new = self._step(projected, state, weight_hh_t, bias_hh, t)
                if active is not None and not active[t].all():
                    # Finished (or, in reverse, not yet started) sequences keep their state.
                    real = active[t][:, None]
                    new = tuple(where(real, n, old) for n, old in zip(new, state))
                state = new
                outputs[t] = new[0]
        finally:
            mode.set_switch("scope", outer)
        return stack(outputs), state

    def forward(self, input: Any, hx: Any = None, lengths: Any = None) -> tuple[Tensor, Any]:
        input = self._check_input(input)
        sequence = input.transpose(0, 1) if self.batch_first else input
        steps, batch = sequence.shape[:2]
        active = self._check_lengths(lengths, steps, batch)
        if active is not None:
            # Padding is never read, even if it holds NaN.
            sequence = where(active[:, :, None], sequence, 0.0)
        states = self._initial_states(hx, batch)
        finals: list[State] = []
        directions = self.num_directions
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                output, final = self._run_direction(sequence, states[index],
                                                    self._weight_names[index], direction == 1,
                                                    active)
                outputs.append(output)
                finals.append(final)
            sequence = outputs[0] if directions == 1 else concat(outputs, axis=-1)
            if self.dropout and layer < self.num_layers - 1:
                sequence = functional.dropout(sequence, self.dropout, self.training)
        if active is not None:
            sequence = sequence * active[:, :, None].astype(sequence.dtype)
        if self.batch_first:
            sequence = sequence.transpose(0, 1)
        last = tuple(stack([final[i] for final in finals]) for i in range(self.state_size))
        return sequence, (last[0] if self.state_size == 1 else last)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        options = (("bias", self.bias, True), ("batch_first", self.batch_first, False),
                   ("dropout", self.dropout, 0.0), ("bidirectional", self.bidirectional, False),
                   ("learn_h0", self.learn_h0, False))
        for option, value, default in options:
            if value != default and not (option == "bidirectional" and isinstance(self, BiRNN)):
                text += f", {option}={value}"
        return text


class RNN(_ElmanKind, _RecurrentBase):
    """Elman RNN over sequences, as PyTorch's `nn.RNN`, returning (output, h_n).

    input (T, B, input_size), or (B, T, input_size) with batch_first;
    h_0 (num_layers * num_directions, B, hidden_size) or None (zeros, or the learned
    initial state with learn_h0=True); output (T, B, num_directions * hidden_size)
    (batch first if asked); h_n shaped as h_0. `lengths` (B,) marks each sequence's real
    steps in a padded batch: padding is ignored, h_n is taken at each sequence's last real
    step (the reverse direction starts there), and padded outputs are zero.

    >>> rnn = RNN(8, 16, num_layers=2)
    >>> output, h_n = rnn(tr.randn(5, 3, 8), lengths=[5, 2, 4])
    >>> output.shape, h_n.shape
    ((5, 3, 16), (2, 3, 16))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, learn_h0: bool = False,
                 dtype: Any = None) -> None:
        self._set_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, learn_h0, dtype)


class BiRNN(RNN):
    """The seeds' bidirectional RNN: states of a forward and a backward pass, [s_f,t ; s_b,t] per step.

    `RNN(..., bidirectional=True)` under its own name, with the same parameters
    (`..._reverse` for the backward direction) and return shapes: output
    (T, B, 2 * hidden_size), h_n (2 * num_layers, B, hidden_size).

    >>> output, h_n = BiRNN(8, 16)(tr.randn(5, 3, 8))
    >>> output.shape
    (5, 3, 32)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, learn_h0: bool = False, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
                         dropout, True, learn_h0, dtype)


class LSTM(_LSTMKind, _RecurrentBase):
    """LSTM over sequences, as PyTorch's `nn.LSTM`, returning (output, (h_n, c_n)).

    Shapes, `lengths` and `learn_h0` as `RNN`; hx is a pair (h_0, c_0) or None.

    >>> output, (h_n, c_n) = LSTM(8, 16)(tr.randn(5, 3, 8))
    """

    state_size = 2

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 learn_h0: bool = False, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, learn_h0, dtype)


class GRU(_GRUKind, _RecurrentBase):
    """GRU over sequences, as PyTorch's `nn.GRU`, returning (output, h_n); shapes as `RNN`.

    >>> output, h_n = GRU(8, 16, batch_first=True)(tr.randn(3, 5, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 learn_h0: bool = False, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, learn_h0, dtype)


__all__ = [
    "BiRNN", "GRU", "GRUCell", "JordanCell", "LSTM", "LSTMCell", "RNN", "RNNCell", "elman_step",
    "gru_step", "lstm_step",
]
