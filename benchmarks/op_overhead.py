"""Per-op overhead: loss = sum(tanh(x @ W + b)) on 4x4 float64, forward and backward.

Prints the median time of the engine against the same computation written by hand in numpy
(forward and hand-derived backward), measured interleaved in one run, and the ratio.

    python benchmarks/op_overhead.py [--rounds 400]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from _timing import format_seconds, interleaved_medians, verdict  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402

TARGET_RATIO = 3.0


def make_numpy_step(x: np.ndarray, weight: np.ndarray, bias: np.ndarray):
    """Forward and hand-derived backward; returns (loss, dW, db)."""

    def step() -> tuple[float, np.ndarray, np.ndarray]:
        hidden = np.tanh(x @ weight + bias)
        loss = hidden.sum()
        d_pre = 1.0 - hidden * hidden  # d loss / d (x @ W + b), as d loss / d hidden is 1
        return loss, x.T @ d_pre, d_pre.sum(axis=0)

    return step


def make_engine_step(x: np.ndarray, weight: np.ndarray, bias: np.ndarray):
    """The same computation on Tensors: forward, backward, and the gradients read back."""
    x_t = tr.Tensor(x)
    weight_t = tr.Tensor(weight.copy(), requires_grad=True)
    bias_t = tr.Tensor(bias.copy(), requires_grad=True)

    def step() -> tuple[float, np.ndarray, np.ndarray]:
        weight_t.grad = None
        bias_t.grad = None
        loss = (x_t @ weight_t + bias_t).tanh().sum()
        loss.backward()
        return loss.data, weight_t.grad.data, bias_t.grad.data

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400, help="interleaved timing rounds")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x, weight = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    bias = rng.standard_normal(4)
    numpy_step = make_numpy_step(x, weight, bias)
    engine_step = make_engine_step(x, weight, bias)
    for expected, got in zip(numpy_step(), engine_step()):
        np.testing.assert_allclose(got, expected, rtol=1e-12)

    medians = interleaved_medians({"numpy": numpy_step, "tinygrad_rnn": engine_step}, args.rounds)
    ratio = medians["tinygrad_rnn"] / medians["numpy"]
    print(f"sum(tanh(x @ W + b)), 4x4 float64, forward + backward; median of {args.rounds} "
          f"interleaved rounds")
    for name, seconds in medians.items():
        print(f"  {name:<13} {format_seconds(seconds):>10} per step")
    print(verdict("op overhead (tinygrad_rnn / hand-written numpy)", ratio, TARGET_RATIO))


if __name__ == "__main__":
    main()
