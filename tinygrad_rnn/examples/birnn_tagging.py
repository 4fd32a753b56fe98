"""Seed 002's bidirectional RNN: tag each step with a label that depends on the NEXT input too.

The input is a random bit string x_1..x_T; the label of step t is how many of its two
neighbours are 1, y_t = x_{t-1} + x_{t+1} (0, 1 or 2; missing neighbours count 0). A
unidirectional RNN reads left to right, so at step t it has never seen x_{t+1}: it can do
no better than guess between two labels, about 50% (exactly 1/2 + 1/(2T) with the last
step, which has no right neighbour). A BiRNN's backward direction reads right to left, so
[s_f,t ; s_b,t] holds both neighbours and a linear softmax layer tags every step correctly.
Both models are trained the same way and their test accuracies printed side by side.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from .. import optim, viz
from ..autograd.mode import no_grad
from ..nn import RNN, BiRNN, Linear, Module
from ..nn.functional import cross_entropy
from ..random import manual_seed
from ..tensor import Tensor
from ._common import Run, add_common_arguments, positive_int

CLASSES = 3
TEST_SEQUENCES = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--length", type=positive_int, default=16,
                        help="steps per sequence, T (default: 16)")
    parser.add_argument("--hidden", type=positive_int, default=16,
                        help="hidden units per direction (default: 16)")
    parser.add_argument("--batch", type=positive_int, default=32, help="sequences per step (default: 32)")
    add_common_arguments(parser, "birnn_tagging", steps=600)


def make_batch(rng: np.random.Generator, batch: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Bits x (T, B) and labels y_t = x_{t-1} + x_{t+1} (T, B), with zeros beyond both ends."""
    bits = rng.integers(0, 2, size=(length, batch))
    padded = np.pad(bits, ((1, 1), (0, 0)))
    return bits, padded[:-2] + padded[2:]


def best_unidirectional_accuracy(length: int) -> float:
    """What a tagger that never sees x_{t+1} can reach: a coin flip except at the last step."""
    return (0.5 * (length - 1) + 1.0) / length


class Tagger(Module):
    """An RNN or BiRNN over the bits, and a linear softmax layer on each step's state."""

    def __init__(self, hidden_size: int, bidirectional: bool) -> None:
        super().__init__()
        self.rnn = BiRNN(1, hidden_size) if bidirectional else RNN(1, hidden_size)
        self.head = Linear(hidden_size * (2 if bidirectional else 1), CLASSES)

    def forward(self, bits: np.ndarray) -> Tensor:
        """bits (T, B) -> label scores (T, B, 3)."""
        output, _ = self.rnn(Tensor(bits[:, :, None].astype(np.float32)))
        return self.head(output)


def train(run: Run, model: Tagger, name: str, rng: np.random.Generator) -> list[float]:
    args = run.args
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    with run.progress(args.steps, name) as bar:
        for _ in range(args.steps):
            bits, labels = make_batch(rng, args.batch, args.length)
            loss = cross_entropy(model(bits), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            bar.update(losses[-1])
    return losses


def accuracy_by_step(model: Tagger, bits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The fraction of correct tags at each step t (T,)."""
    with no_grad():
        predicted = model(bits).numpy().argmax(axis=-1)
    return (predicted == labels).mean(axis=1)


def run(run: Run) -> dict[str, Any]:
    args = run.args
    run.say(f"birnn_tagging (seed 002): tag each of T={args.length} bits with x_(t-1) + x_(t+1)")
    test_bits, test_labels = make_batch(np.random.default_rng(args.seed + 1), TEST_SEQUENCES, args.length)
    results: dict[str, Any] = {}
    curves = {}
    for key, label, bidirectional in (("rnn", "RNN", False), ("birnn", "BiRNN", True)):
        manual_seed(args.seed)
        model = Tagger(args.hidden, bidirectional)
        losses = train(run, model, label, np.random.default_rng(args.seed))
        by_step = accuracy_by_step(model, test_bits, test_labels)
        results[f"{key}_accuracy"] = float(by_step.mean())
        results[f"{key}_losses"] = losses
        curves[label] = by_step
    ceiling = best_unidirectional_accuracy(args.length)
    results["unidirectional_ceiling"] = ceiling
    run.result(f"{'':<30}{'RNN (left to right)':>22}{'BiRNN (both ways)':>22}")
    run.result(f"{'test accuracy':<30}{results['rnn_accuracy']:>22.1%}{results['birnn_accuracy']:>22.1%}")
    run.result(f"{'best possible without x_(t+1)':<30}{ceiling:>22.1%}")
    run.save_plot(lambda figure: _plot(figure, curves, ceiling), "birnn_tagging_accuracy", size=(7, 3.5))
    run.save_graph(draw(run, rolled=True), "birnn_tagging_graph")
    return results


def _plot(figure: Any, curves: dict[str, np.ndarray], ceiling: float) -> None:
    axes = figure.subplots()
    for label, by_step in curves.items():
        axes.plot(np.arange(1, len(by_step) + 1), by_step, marker="o", label=label)
    axes.axhline(0.5, color="gray", ls=":", label="coin flip")
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("step t")
    axes.set_ylabel("test accuracy of the tag at t")
    axes.set_title(f"label x(t-1) + x(t+1); the RNN's best mean is {ceiling:.1%}")
    axes.legend(loc="lower left")


def draw(run: Run, rolled: bool = False) -> Any:
    """A BiRNN tagger on 5 bits, with its loss (`tinygrad-rnn graph birnn_tagging`)."""
    manual_seed(run.args.seed)
    model = Tagger(4, bidirectional=True)
    bits, labels = make_batch(np.random.default_rng(run.args.seed), 1, 5)
    loss = cross_entropy(model(bits), labels)
    viz.name(loss, "loss").backward()
    return viz.draw_graph(loss, params=model, rolled=rolled)
