"""micrograd's demo on the Scalar engine: a 2-16-16-1 ReLU MLP, 100 moons, SVM hinge loss + L2.

Times one training step (forward over the 100 points, backward, SGD update) on
tinygrad_rnn.Scalar and, when it is installed (`pip install micrograd`), on micrograd itself
with the same weights, interleaved in one run. Without micrograd the quoted 1.75 s per step
stands in for it.

    python benchmarks/scalar_mlp.py [--rounds 7]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _timing import format_seconds, interleaved_medians, verdict  # noqa: E402

from tinygrad_rnn import Scalar  # noqa: E402

QUOTED_MICROGRAD_SECONDS = 1.75
TARGET_SPEEDUP = 5.0
LAYER_SIZES = (2, 16, 16, 1)


def make_moons(count: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, labels -1 and +1 (scikit-learn's make_moons, in numpy)."""
    upper = count // 2
    angle_upper = np.linspace(0, np.pi, upper)
    angle_lower = np.linspace(0, np.pi, count - upper)
    points = np.concatenate([
        np.stack([np.cos(angle_upper), np.sin(angle_upper)], axis=1),
        np.stack([1 - np.cos(angle_lower), 1 - np.sin(angle_lower) - 0.5], axis=1),
    ])
    labels = np.concatenate([-np.ones(upper), np.ones(count - upper)])
    return points + noise * rng.standard_normal(points.shape), labels


class ScalarMLP:
    """micrograd's MLP written on Scalar: each neuron is sum(w_i * x_i) + b, ReLU on hidden layers."""

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        self.layers = [
            ([[Scalar(float(w)) for w in row] for row in weight], [Scalar(float(b)) for b in bias])
            for weight, bias in zip(weights, biases)
        ]

    def __call__(self, x: list[Any]) -> Any:
        last = len(self.layers) - 1
        for depth, (weight, bias) in enumerate(self.layers):
            outputs = []
            for row, b in zip(weight, bias):
                act = sum((w * xi for w, xi in zip(row, x)), b)
                outputs.append(act if depth == last else act.relu())
            x = outputs
        return x[0]

    def parameters(self) -> list[Scalar]:
        """All weights, layer by layer and row by row, then all biases."""
        weights = [w for weight, _ in self.layers for row in weight for w in row]
        return weights + [b for _, bias in self.layers for b in bias]


def hinge_loss(model: Callable[[list[Any]], Any], parameters: list[Any], points: np.ndarray,
               labels: np.ndarray, value: Callable[[float], Any]) -> Any:
    """micrograd demo's loss: mean of relu(1 - y * score) plus 1e-4 * sum of squared parameters."""
    inputs = [[value(float(c)) for c in row] for row in points]
    scores = [model(x) for x in inputs]
    losses = [(1 + -float(y) * score).relu() for y, score in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in parameters)
    return data_loss + reg_loss


def make_step(model: Callable[[list[Any]], Any], parameters: list[Any], points: np.ndarray,
              labels: np.ndarray, value: Callable[[float], Any], zero: Any) -> Callable[[], float]:
    """One SGD step of the demo (learning rate 0.1, kept fixed so every timed step is alike)."""

    def step() -> float:
        loss = hinge_loss(model, parameters, points, labels, value)
        for p in parameters:
            p.grad = zero
        loss.backward()
        for p in parameters:
            p.data -= 0.1 * p.grad
        return loss.data

    return step


def init_weights(rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    weights = [rng.uniform(-1, 1, (n_out, n_in)) for n_in, n_out in itertools.pairwise(LAYER_SIZES)]
    biases = [np.zeros(n_out) for n_out in LAYER_SIZES[1:]]
    return weights, biases


def micrograd_model(weights: list[np.ndarray], biases: list[np.ndarray]) -> Any | None:
    """micrograd's own MLP with the given weights, or None if micrograd is not installed."""
    try:
        from micrograd.nn import MLP
    except ImportError:
        return None
    model = MLP(LAYER_SIZES[0], list(LAYER_SIZES[1:]))
    for layer, weight, bias in zip(model.layers, weights, biases):
        for neuron, row, b in zip(layer.neurons, weight, bias):
            for w, value in zip(neuron.w, row):
                w.data = float(value)
            neuron.b.data = float(b)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    args = parser.parse_args()

    rng = np.random.default_rng(1337)
    points, labels = make_moons(100, 0.1, rng)
    weights, biases = init_weights(rng)

    ours = ScalarMLP(weights, biases)
    ours_parameters = ours.parameters()
    candidates = {"tinygrad_rnn": make_step(ours, ours_parameters, points, labels, Scalar, None)}

    reference = micrograd_model(weights, biases)
    if reference is not None:
        from micrograd.engine import Value

        reference_parameters = _micrograd_parameters_in_our_order(reference)
        candidates["micrograd"] = make_step(reference, reference_parameters, points, labels, Value, 0.0)
        first_ours, first_reference = candidates["tinygrad_rnn"](), candidates["micrograd"]()
        if not math.isclose(first_ours, first_reference, rel_tol=1e-9):
            raise SystemExit(f"losses differ: tinygrad_rnn {first_ours} micrograd {first_reference}")
        for ours_p, reference_p in zip(ours_parameters, reference_parameters):
            if not math.isclose(ours_p.data, reference_p.data, rel_tol=1e-9, abs_tol=1e-12):
                raise SystemExit("parameters differ after one step: the two steps are not the same")

    medians = interleaved_medians(candidates, args.rounds, round_seconds=0.0, warmup=1,
                                  charge_garbage=True)
    ours_seconds = medians["tinygrad_rnn"]
    micrograd_seconds = medians.get("micrograd", QUOTED_MICROGRAD_SECONDS)
    source = "measured in this run" if reference is not None else "quoted; micrograd not installed"
    print(f"micrograd demo MLP {'-'.join(map(str, LAYER_SIZES))}, 100 points, hinge loss + L2, "
          f"one SGD step; median of {args.rounds} interleaved rounds (CPU time)")
    print(f"  tinygrad_rnn.Scalar {format_seconds(ours_seconds):>10} per step")
    print(f"  micrograd           {format_seconds(micrograd_seconds):>10} per step ({source})")
    print(verdict("scalar MLP speed-up over micrograd", micrograd_seconds / ours_seconds,
                  TARGET_SPEEDUP, higher_is_better=True))
    if reference is not None:
        print(verdict("scalar MLP speed-up over micrograd's quoted 1.75 s",
                      QUOTED_MICROGRAD_SECONDS / ours_seconds, TARGET_SPEEDUP, higher_is_better=True))


def _micrograd_parameters_in_our_order(model: Any) -> list[Any]:
    """micrograd's parameters ordered as ScalarMLP.parameters(): all weights, then all biases."""
    weights = [w for layer in model.layers for neuron in layer.neurons for w in neuron.w]
    biases = [neuron.b for layer in model.layers for neuron in layer.neurons]
    return weights + biases


if __name__ == "__main__":
    main()
