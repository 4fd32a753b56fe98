"""Seed 000, the echo problem: a random signal in (0, 1) and, one step later, its echo.

Two steps of a network with one neuron per node, all numbers scalar:

    h1 = x1*U + bh;  s1 = tanh(h1)
    h2 = x2*U + s1*W + bh;  s2 = tanh(h2);  z2 = s2*V + bz;  loss = 0.5*(z2 - y2)^2

with the label y2 = x1. The same formulas are trained twice: on the `Scalar` engine (a graph
of Python floats, one training pair after another, as the seed derives it) and on the
`Tensor` engine (a batch of pairs at once). Both are tested on a fresh random signal.

To echo x1 while ignoring x2 the network needs |W| around 10 with U near 0.1, a long narrow
valley: plain SGD (`--optim sgd`, the seed's update) creeps along it and stops near a test
MSE of 6e-3 in this budget, so the default is Adam with a cosine-decayed step size.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import optim, viz
from ..random import manual_seed
from ..scalar import Scalar
from ..tensor import Tensor
from ._common import Run, add_common_arguments, cosine_decay, positive_float, positive_int

PARAMETERS = ("U", "W", "V", "bh", "bz")
TRAINING_PAIRS = 5000
TEST_PAIRS = 1000
SCALAR_BATCH = 8  # pairs per step on the Scalar engine, where each pair is its own graph
TARGET_MSE = 1e-3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("both", "scalar", "tensor"), default="both",
                        help="which engine to train (default: both)")
    parser.add_argument("--optim", choices=("adam", "sgd"), default="adam",
                        help="adam (default) or sgd, the seed's plain update")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="peak learning rate (default: 0.05 for adam, 0.1 for sgd)")
    parser.add_argument("--batch", type=positive_int, default=64,
                        help="pairs per step on the Tensor engine (default: 64; the Scalar "
                             "engine takes 8 per step)")
    add_common_arguments(parser, "echo", steps=6000, steps_help="optimizer steps per engine")


def echo_forward(params: Mapping[str, Any], x1: Any, x2: Any) -> Any:
    """z2 from inputs x1, x2: floats with Scalar weights, or (B,) Tensors with 0-d Tensor weights."""
    U, W, V, bh, bz = (params[name] for name in PARAMETERS)
    h1 = viz.name(x1 * U + bh, "h1")
    s1 = viz.name(h1.tanh(), "s1")
    h2 = viz.name(x2 * U + s1 * W + bh, "h2")
    s2 = viz.name(h2.tanh(), "s2")
    return viz.name(s2 * V + bz, "z2")


def signal_pairs(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(x1, x2) for `count` consecutive steps of a random signal in (0, 1); the label is x1."""
    signal = rng.random(count + 1)
    return signal[:-1], signal[1:]


def initial_weights(seed: int) -> dict[str, float]:
    """U, W, V uniform in (-1, 1) and zero biases, from the library's generator."""
    generator = manual_seed(seed)
    weights = dict(zip(("U", "W", "V"), generator.uniform(-1.0, 1.0, 3).tolist()))
    return {**weights, "bh": 0.0, "bz": 0.0}


class EchoTrainer:
    """Trains the echo network's five weights, kept as 0-d float64 Tensors that `optim` updates."""

    def __init__(self, init: Mapping[str, float], kind: str, lr: float, steps: int) -> None:
        self.weights = {name: Tensor(np.float64(init[name]), requires_grad=True, name=name)
                        for name in PARAMETERS}
        if kind == "adam":
            self.optimizer: optim.Optimizer = optim.Adam(self.weights.values(), lr=lr, betas=(0.9, 0.99))
        else:
            self.optimizer = optim.SGD(self.weights.values(), lr=lr)
        self.peak_lr = lr
        self.steps = steps
        self.decay = kind == "adam"

    def set_step(self, step: int) -> None:
        """Cosine decay of the step size from its peak to zero over the run (Adam only)."""
        if self.decay:
            cosine_decay(self.optimizer, self.peak_lr, step, self.steps)

    def scalar_weights(self) -> dict[str, Scalar]:
        """The current weights as Scalar leaves, for a graph of Python floats."""
        return {name: Scalar(float(w.data), name=name) for name, w in self.weights.items()}

    def scalar_step(self, pairs: Iterable[tuple[float, float]]) -> float:
        """One update from the mean loss of a few pairs, the graph built from Scalars."""
        params = self.scalar_weights()
        pairs = list(pairs)
        total = sum(0.5 * (echo_forward(params, x1, x2) - x1) ** 2 for x1, x2 in pairs)
        loss = total / len(pairs)
        loss.backward()
        for name, weight in self.weights.items():
            weight.grad = Tensor(np.float64(params[name].grad))
        self.optimizer.step()
        return loss.item()

    def tensor_step(self, x1: np.ndarray, x2: np.ndarray) -> float:
        """One update from the mean loss of a batch, the graph built from Tensors."""
        z2 = echo_forward(self.weights, Tensor(x1), Tensor(x2))
        loss = (0.5 * (z2 - x1) ** 2).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def predict(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        return echo_forward(self.weights, Tensor(x1), Tensor(x2)).numpy()


def train(run: Run, engine: str, init: Mapping[str, float], data: tuple[np.ndarray, np.ndarray],
          rng: np.random.Generator) -> EchoTrainer:
    """Train one engine's copy of the network for --steps steps."""
    args = run.args
    lr = args.lr or (0.05 if args.optim == "adam" else 0.1)
    trainer = EchoTrainer(init, args.optim, lr, args.steps)
    x1, x2 = data
    batch = SCALAR_BATCH if engine == "scalar" else args.batch
    with run.progress(args.steps, f"{engine:>6} engine") as bar:
        for step in range(args.steps):
            trainer.set_step(step)
            index = rng.integers(0, len(x1), batch)
            if engine == "scalar":
                loss = trainer.scalar_step(zip(x1[index].tolist(), x2[index].tolist()))
            else:
                loss = trainer.tensor_step(x1[index], x2[index])
            bar.update(loss)
    return trainer


def run(run: Run) -> dict[str, Any]:
    args = run.args
    rng = np.random.default_rng(args.seed)
    data = signal_pairs(rng, TRAINING_PAIRS)
    test_x1, test_x2 = signal_pairs(rng, TEST_PAIRS)
    init = initial_weights(args.seed)
    engines = ("scalar", "tensor") if args.engine == "both" else (args.engine,)
    run.say("echo (seed 000): learn y_t = x_{t-1} from (x_{t-1}, x_t) with "
            "h1 = x1*U + bh, s1 = tanh(h1), h2 = x2*U + s1*W + bh, z2 = tanh(h2)*V + bz")
    results: dict[str, Any] = {}
    predictions = {}
    for engine in engines:
        trainer = train(run, engine, init, data, rng)
        predictions[engine] = trainer.predict(test_x1, test_x2)
        mse = float(np.mean((predictions[engine] - test_x1) ** 2))
        results[f"{engine}_test_mse"] = mse
        results[f"{engine}_weights"] = {n: float(w.data) for n, w in trainer.weights.items()}
        if engine == "scalar":
            drawing = draw_one_step(trainer, float(test_x1[0]), float(test_x2[0]))
        else:
            drawing = draw_one_batch(trainer, test_x1[:4], test_x2[:4])
        run.save_graph(drawing, f"echo_{engine}_step")
    _print_results(run, results, predictions, test_x1, test_x2)
    return results


def draw_one_step(trainer: EchoTrainer, x1: float, x2: float) -> Any:
    """The graph of one training pair on the Scalar engine, with values and gradients."""
    params = trainer.scalar_weights()
    inputs = Scalar(x1, requires_grad=False, name="x1"), Scalar(x2, requires_grad=False, name="x2")
    label = Scalar(x1, requires_grad=False, name="y2")
    loss = viz.name(0.5 * (echo_forward(params, *inputs) - label) ** 2, "loss")
    loss.backward()
    return viz.draw_graph(loss, rankdir="LR")


def draw_one_batch(trainer: EchoTrainer, x1: np.ndarray, x2: np.ndarray) -> Any:
    """The graph of one batch on the Tensor engine (weights are left untouched)."""
    weights = {name: Tensor(np.array(w.data), requires_grad=True, name=name)
               for name, w in trainer.weights.items()}
    inputs = Tensor(x1, name="x1"), Tensor(x2, name="x2")
    loss = viz.name((0.5 * (echo_forward(weights, *inputs) - Tensor(x1, name="y2")) ** 2).mean(), "loss")
    loss.backward()
    return viz.draw_graph(loss, rankdir="LR")


def _print_results(run: Run, results: dict[str, Any], predictions: dict[str, np.ndarray],
                   x1: np.ndarray, x2: np.ndarray) -> None:
    engines = list(predictions)
    scores = "   ".join(f"{e} engine {results[f'{e}_test_mse']:.2e}" for e in engines)
    run.result(f"test MSE on a fresh signal of {len(x1)} steps (target < {TARGET_MSE:g}):   {scores}")
    header = "  x_{t-1}      x_t   target" + "".join(f"  {e:>7}" for e in engines)
    run.result(header)
    for i in range(5):
        row = f"  {x1[i]:7.4f}  {x2[i]:7.4f}  {x1[i]:7.4f}"
        run.result(row + "".join(f"  {predictions[e][i]:7.4f}" for e in engines))
    for engine in engines:
        weights = ", ".join(f"{n}={v:.3f}" for n, v in results[f"{engine}_weights"].items())
        run.result(f"{engine} weights: {weights}")


def draw(run: Run, rolled: bool = False) -> Any:
    """The graph of one training pair at the initial weights (`tinygrad-rnn graph echo`)."""
    trainer = EchoTrainer(initial_weights(run.args.seed), "sgd", 0.1, 1)
    return draw_one_step(trainer, 0.35, 0.46)
