"""A very long unrolled sequence: hidden 32, vocab 16, batch 1, T = 1,000 / 10,000 / 100,000.

One training step (forward over all T steps, cross-entropy summed, backward through time) of
`nn.RNN` + `nn.Linear` on one-hot inputs, against the hand-written numpy loop of
benchmarks/char_rnn.py. Backward must succeed at every T with Python's default recursion
limit. Reported per configuration: time per time step and peak memory, each measured in a
fresh subprocess (time without tracing; memory as tracemalloc's peak, which numpy's
allocations report to), numpy and tinygrad_rnn runs interleaved.

    python benchmarks/long_unroll.py [--quick] [--repeats 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from _timing import format_seconds, verdict  # noqa: E402

VOCAB, HIDDEN = 16, 32
LENGTHS = (1_000, 10_000, 100_000)
QUICK_LENGTHS = (100, 1_000, 10_000)
TIME_TARGET, MEMORY_TARGET = 1.5, 3.0


def numpy_step(steps: int) -> Callable[[], float]:
    """The numpy loop of char_rnn.py at this size: forward and hand-derived BPTT."""
    import char_rnn

    char_rnn.VOCAB, char_rnn.HIDDEN = VOCAB, HIDDEN
    weights = char_rnn.make_weights(np.random.default_rng(0))
    inputs, targets = _sequence(steps)

    def step() -> float:
        loss, _, _ = char_rnn.numpy_loss_and_grads(weights, inputs, targets, np.zeros((HIDDEN, 1)))
        return loss

    return step


def engine_step(steps: int) -> Callable[[], float]:
    """nn.RNN + nn.Linear on one-hot inputs, summed cross-entropy, backward."""
    import tinygrad_rnn as tr
    from tinygrad_rnn import nn
    from tinygrad_rnn.nn import functional

    tr.manual_seed(0)
    rnn = nn.RNN(VOCAB, HIDDEN, dtype=np.float64)
    head = nn.Linear(HIDDEN, VOCAB, dtype=np.float64)
    inputs, targets = _sequence(steps)

    def step() -> float:
        output, _ = rnn(functional.one_hot(inputs, VOCAB, dtype=np.float64))
        loss = functional.cross_entropy(head(output), targets, reduction="sum")
        loss.backward()
        return loss.item()

    return step


def _sequence(steps: int) -> tuple[np.ndarray, np.ndarray]:
    text = np.random.default_rng(1).integers(0, VOCAB, size=(steps + 1, 1))
    return text[:-1], text[1:]


STEPS = {"numpy": numpy_step, "tinygrad_rnn": engine_step}


def measure(name: str, steps: int, what: str) -> float:
    """In this process: seconds for one training step, or its peak traced bytes."""
    step = STEPS[name](steps)
    if what == "time":
        start = time.process_time()
        step()
        return time.process_time() - start
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - baseline


def measure_in_subprocess(name: str, steps: int, what: str) -> float:
    command = [sys.executable, __file__, "--measure", name, str(steps), what]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{name} at T={steps} failed ({what}):\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"T = {QUICK_LENGTHS} instead")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per configuration")
    parser.add_argument("--measure", nargs=3, metavar=("IMPL", "T", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        name, steps, what = args.measure
        print(json.dumps(measure(name, int(steps), what)))
        return

    print(f"long unroll: RNN hidden {HIDDEN}, vocab {VOCAB}, batch 1, float64, one training "
          f"step; Python recursion limit {sys.getrecursionlimit()}; median of {args.repeats} "
          f"runs (CPU time), memory = tracemalloc peak; each in a fresh process")
    for steps in QUICK_LENGTHS if args.quick else LENGTHS:
        times: dict[str, list[float]] = {name: [] for name in STEPS}
        for _ in range(args.repeats):
            for name in STEPS:
                times[name].append(measure_in_subprocess(name, steps, "time"))
        memory = {name: measure_in_subprocess(name, steps, "memory") for name in STEPS}
        per_step = {name: statistics.median(values) / steps for name, values in times.items()}
        for name in STEPS:
            print(f"  T={steps:<7} {name:<13} {format_seconds(per_step[name]):>10} per time step  "
                  f"peak {memory[name] / 2**20:8.1f} MB")
        print(verdict(f"T={steps} time (tinygrad_rnn / numpy)",
                      per_step["tinygrad_rnn"] / per_step["numpy"], TIME_TARGET))
        print(verdict(f"T={steps} memory (tinygrad_rnn / numpy)",
                      memory["tinygrad_rnn"] / memory["numpy"], MEMORY_TARGET))


if __name__ == "__main__":
    main()
