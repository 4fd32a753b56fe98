"""Seed 002's gradient problems, measured: the norm of dL/dh_t over 100 steps of backpropagation.

A loss on the last hidden state only, L = v . h_T, is differentiated with respect to every
hidden state h_1..h_T. Going back one step multiplies the gradient by the step's Jacobian,
diag(f'(.)) W_hh for an Elman cell, so over many steps the gradient shrinks or grows
geometrically:

- tanh with small recurrent weights (gain 0.5): every factor is a contraction, it vanishes.
- tanh with large recurrent weights (gain 3): the dynamics are chaotic and the norm grows
  where the units are not saturated: it explodes.
- ReLU with gain 2: nothing saturates; it explodes.
- LSTM: the cell state is carried by the forget gate, c_t = f_t c_(t-1) + ...; with the
  forget gates opened (bias +3, f about 0.95) the gradient survives far longer than
  through a tanh RNN with small weights.

The recurrent weights are Gaussian with standard deviation gain / sqrt(hidden), so that the
spectral radius of W_hh is about `gain`.
"""

from __future__ import annotations

import argparse
from typing import Any, NamedTuple

import numpy as np

from .. import viz
from ..autograd.mode import no_grad
from ..nn import LSTMCell, RNNCell
from ..random import generator, manual_seed
from ..tensor import Tensor
from ._common import Run, add_common_arguments, positive_int

INPUT_SIZE = 8


class Setting(NamedTuple):
    label: str
    cell: str  # "tanh", "relu" or "lstm"
    gain: float | None  # spectral radius of W_hh; None keeps PyTorch's initialisation
    forget_bias: float = 0.0


SETTINGS = (
    Setting("tanh, small W (gain 0.5)", "tanh", 0.5),
    Setting("tanh, large W (gain 3)", "tanh", 3.0),
    Setting("ReLU, gain 2", "relu", 2.0),
    Setting("LSTM, forget bias +3", "lstm", None, forget_bias=3.0),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hidden", type=positive_int, default=64, help="hidden units (default: 64)")
    parser.add_argument("--batch", type=positive_int, default=16,
                        help="sequences in the batch (default: 16)")
    add_common_arguments(parser, "gradient_flow", steps=100, steps_help="time steps T")


def build_cell(setting: Setting, hidden: int) -> RNNCell | LSTMCell:
    """The setting's cell, with its recurrent weights scaled to the given gain."""
    if setting.cell == "lstm":
        cell: RNNCell | LSTMCell = LSTMCell(INPUT_SIZE, hidden, dtype=np.float64)
    else:
        cell = RNNCell(INPUT_SIZE, hidden, nonlinearity=setting.cell, dtype=np.float64)
    with no_grad():
        if setting.gain is not None:
            scale = setting.gain / np.sqrt(hidden)
            cell.weight_hh.copy_(generator().standard_normal(cell.weight_hh.shape) * scale)
        if setting.forget_bias:
            # PyTorch's gate order is (input, forget, cell, output).
            bias = cell.bias_hh.numpy().copy()
            bias[hidden:2 * hidden] += setting.forget_bias
            cell.bias_hh.copy_(bias)
    return cell


def unroll(cell: RNNCell | LSTMCell, inputs: Tensor) -> list[Tensor]:
    """The hidden states h_1..h_T of the cell over inputs (T, B, input_size)."""
    states = []
    state: Any = None
    for x in inputs.unbind(0):
        state = cell(x, state)
        states.append(state[0] if isinstance(state, tuple) else state)
    return states


def measure(setting: Setting, steps: int, hidden: int, batch: int) -> np.ndarray:
    """||dL/dh_t|| for t = 1..T (over the whole batch), with L = v . h_T summed over the
    batch for one random unit vector v: the norm at t = T is sqrt(batch)."""
    cell = build_cell(setting, hidden)
    inputs = Tensor(generator().standard_normal((steps, batch, INPUT_SIZE)))
    readout = generator().standard_normal(hidden)
    states = unroll(cell, inputs)
    loss = (states[-1] @ Tensor(readout / np.linalg.norm(readout))).sum()
    return viz.gradient_flow(states, loss, steps=range(1, steps + 1)).norms


def verdict(norms: np.ndarray) -> str:
    ratio = norms[0] / norms[-1]
    if ratio < 1e-3:
        return "vanishing"
    if ratio > 1e3:
        return "exploding"
    return "kept"


def run(run: Run) -> dict[str, Any]:
    args = run.args
    manual_seed(args.seed)
    run.say(f"gradient_flow (seed 002): ||dL/dh_t|| for L = v . h_T, T = {args.steps}, "
            f"{args.hidden} hidden units, {args.batch} sequences (tinygrad_rnn.viz.gradient_flow)")
    curves = {setting.label: measure(setting, args.steps, args.hidden, args.batch)
              for setting in SETTINGS}
    shown = sorted({args.steps, max(args.steps * 3 // 4, 1), max(args.steps // 2, 1),
                    max(args.steps // 4, 1), 1}, reverse=True)
    run.result(f"{'':<26}" + "".join(f"{f't={t}':>11}" for t in shown) + "   h_1 vs h_T")
    for label, norms in curves.items():
        values = "".join(f"{norms[t - 1]:>11.2e}" for t in shown)
        run.result(f"{label:<26}{values}   {verdict(norms)}")
    run.save_plot(lambda figure: _plot(figure, curves), "gradient_flow", size=(7, 4.2))
    return {"norms": curves, "verdicts": {label: verdict(n) for label, n in curves.items()}}


def _plot(figure: Any, curves: dict[str, np.ndarray]) -> None:
    axes = figure.subplots()
    for label, norms in curves.items():
        axes.semilogy(np.arange(1, len(norms) + 1), norms, label=label)
    axes.set_xlabel("time step t (the loss is at the last step)")
    axes.set_ylabel("||dL/dh_t||  (log scale)")
    axes.set_title("backpropagation through time: vanishing and exploding gradients")
    axes.legend(fontsize="small")


def draw(run: Run, rolled: bool = False) -> Any:
    """A tanh cell unrolled over 4 steps, with its gradients (`tinygrad-rnn graph gradient_flow`)."""
    manual_seed(run.args.seed)
    cell = build_cell(SETTINGS[0], 4)
    states = unroll(cell, Tensor(generator().standard_normal((4, 1, INPUT_SIZE))))
    for t, state in enumerate(states, start=1):
        viz.name(state, f"h_{t}").retain_grad()
    loss = viz.name(states[-1].sum(), "loss")
    loss.backward()
    return viz.draw_graph(loss, params=cell, rolled=rolled)

