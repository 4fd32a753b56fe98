"""Seed 004's worked example: every value of a 3-step forward pass, from `RNNCell` + `Linear`.

Two inputs, two tanh hidden units and one tanh output, over the inputs [1, 2], [2, 3],
[3, 4], with the weights the seed draws from numpy's legacy generator:

    np.random.seed(2): kernel = rand(4, 2), bias = rand(2)      (the hidden layer)
    np.random.seed(3): w_o = rand(2), b_o = rand()              (the output layer)

The kernel is TensorFlow's `BasicRNNCell` layout: one matmul of the concatenation
[state, input] (1, 4) with kernel (4, 2). Splitting it by rows gives PyTorch's weights:
weight_hh = kernel[:2].T (W, state -> hidden) and weight_ih = kernel[2:].T (U, input ->
hidden); the one bias is bias_ih, and bias_hh is zero.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from .. import viz
from ..autograd.mode import scope
from ..nn import Linear, Module, RNNCell
from ..tensor import Tensor
from ._common import Run, add_common_arguments

INPUTS = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
ROWS = ("input", "memory", "hidden input", "hidden output", "updated memory", "output input", "output")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, "forward_table", steps=None)


def seed_weights() -> dict[str, np.ndarray]:
    """The seed's draws, in its order, with numpy's legacy generator (global state untouched)."""
    hidden = np.random.RandomState(2)
    kernel = hidden.rand(4, 2)
    bias = hidden.rand(2)
    output = np.random.RandomState(3)
    w_o = output.rand(2)
    b_o = output.rand()
    return {"kernel": kernel, "bias": bias, "w_o": w_o, "b_o": np.array(b_o)}


class ElmanNetwork(Module):
    """An `RNNCell` whose state feeds a one-unit tanh output layer at every step."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.cell = RNNCell(input_size, hidden_size, dtype=np.float64)
        self.output = Linear(hidden_size, 1, dtype=np.float64)

    def load_seed_weights(self, weights: dict[str, np.ndarray]) -> None:
        """TensorFlow's concatenated kernel, split by rows into weight_hh and weight_ih."""
        hidden = self.cell.hidden_size
        kernel = weights["kernel"]
        self.cell.load_state_dict({
            "weight_hh": kernel[:hidden].T,
            "weight_ih": kernel[hidden:].T,
            "bias_ih": weights["bias"],
            "bias_hh": np.zeros(hidden),
        })
        self.output.load_state_dict({"weight": weights["w_o"][None, :], "bias": weights["b_o"][None]})

    def forward(self, inputs: Tensor) -> tuple[list[dict[str, Any]], list[Tensor]]:
        """inputs (T, input_size) -> the table's column of every step, and the outputs."""
        memory = Tensor(np.zeros((1, self.cell.hidden_size)), name="memory")
        table = []
        outputs = []
        for t, x in enumerate(inputs.unbind(0)):
            with scope(f"t={t}"):
                x = viz.name(x.reshape(1, -1), "input")
                hidden = viz.name(self.cell(x, memory), "hidden output")
                output_input = viz.name(self.output(hidden), "output input")
                output = viz.name(output_input.tanh(), "output")
            # The cell's output is tanh(hidden input): the graph keeps that input as the
            # Tanh op's parent.
            hidden_input = viz.name(hidden.grad_fn.parents[0], "hidden input")
            table.append({
                "input": x.numpy()[0], "memory": memory.numpy()[0],
                "hidden input": hidden_input.numpy()[0], "hidden output": hidden.numpy()[0],
                "updated memory": hidden.numpy()[0], "output input": output_input.item(),
                "output": output.item(),
            })
            outputs.append(output)
            memory = hidden
        return table, outputs


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.11f}"
    return "[" + " ".join(f"{v:.8f}" for v in np.asarray(value, dtype=float)) + "]"


def run(run: Run) -> dict[str, Any]:
    weights = seed_weights()
    network = ElmanNetwork(2, 2)
    network.load_seed_weights(weights)
    table, outputs = network(Tensor(INPUTS))
    run.say("forward_table (seed 004): 2 inputs, 2 tanh hidden units, 1 tanh output, 3 steps")
    with np.printoptions(precision=8, suppress=True):
        run.result(f"hidden kernel [state; input] (4, 2), np.random.seed(2) rand(4, 2):\n{weights['kernel']}")
        run.result(f"  -> weight_hh (W) = kernel[:2].T:\n{network.cell.weight_hh.numpy()}")
        run.result(f"  -> weight_ih (U) = kernel[2:].T:\n{network.cell.weight_ih.numpy()}")
        run.result(f"hidden bias (rand(2)): {weights['bias']}")
        run.result(f"output weight, np.random.seed(3) rand(2): {weights['w_o']}")
    run.result(f"output bias (rand()): {float(weights['b_o'])!r}")
    width = 24
    run.result("")
    header = f"{'':<16}" + "".join(f"{f'time-step {t + 1}':<{width}}" for t in range(len(table)))
    run.result(header.rstrip())
    for row in ROWS:
        line = f"{row:<16}" + "".join(f"{_format(step[row]):<{width}}" for step in table)
        run.result(line.rstrip())
    run.save_graph(viz.draw_graph(*outputs, params=network, show_grads=False), "forward_table_graph")
    return {"table": table}


def draw(run: Run, rolled: bool = False) -> Any:
    """The three steps of the worked example, with every value (`tinygrad-rnn graph forward_table`)."""
    network = ElmanNetwork(2, 2)
    network.load_seed_weights(seed_weights())
    _, outputs = network(Tensor(INPUTS))
    return viz.draw_graph(*outputs, params=network, show_grads=False, rolled=rolled)
