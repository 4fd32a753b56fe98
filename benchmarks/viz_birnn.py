"""Drawing a long recurrent graph: a 1-layer BiRNN (input 8, hidden 16, batch 4, T=100) with a
Linear head and a cross-entropy loss, after backward.

Timed per drawing mode: building the drawing (`tr.viz.draw_graph`, in this process) plus
laying it out with Graphviz's `dot` to SVG (a child process). Both are counted in CPU seconds
(this process's, and the child's from `resource`), so that other work on a shared machine does
not count; wall-clock time is printed beside them. Median of `--repeats` rounds, modes
interleaved.

    python benchmarks/viz_birnn.py [--steps 100] [--repeats 5]

Target: unrolled (the default drawing) at most 2 s.
"""

from __future__ import annotations

import os
import re

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _timing import format_seconds, verdict  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn import nn  # noqa: E402

INPUT, HIDDEN, BATCH, CLASSES = 8, 16, 4, 5
TARGET_SECONDS = 2.0
NODE_LINE = re.compile(r"^\s*(?!graph |node |edge )\w+ \[")  # a node statement of the DOT text
MODES: dict[str, dict[str, Any]] = {
    "unrolled": {},
    "unrolled, op nodes apart": {"merge_ops": False},
    "max_steps=3": {"max_steps": 3},
    "rolled": {"rolled": True},
}


class Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.BiRNN(INPUT, HIDDEN)
        self.head = nn.Linear(2 * HIDDEN, CLASSES)

    def forward(self, x: tr.Tensor) -> tr.Tensor:
        states, _ = self.rnn(x)
        return self.head(states)


def model_and_loss(steps: int) -> tuple[Tagger, tr.Tensor]:
    tr.manual_seed(0)
    model = Tagger()
    x = tr.randn(steps, BATCH, INPUT)
    labels = np.random.default_rng(0).integers(0, CLASSES, size=(steps, BATCH))
    loss = nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    return model, loss


def time_mode(model: Tagger, loss: tr.Tensor, options: dict[str, Any]) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, nodes drawn) to build the drawing and lay it out to SVG."""
    wall = time.perf_counter()
    cpu = time.process_time()
    drawing = tr.viz.draw_graph(loss, params=model, **options)
    build = time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(["dot", "-Tsvg"], input=drawing.source.encode(), capture_output=True,
                            check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - wall
    layout = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    assert result.stdout.startswith(b"<?xml")
    nodes = sum(1 for line in drawing.source.splitlines() if NODE_LINE.match(line))
    return build + layout, wall, nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("dot") is None:
        raise SystemExit("Graphviz's dot is needed: apt-get install graphviz")
    model, loss = model_and_loss(args.steps)
    print(f"BiRNN(input {INPUT}, hidden {HIDDEN}) + Linear, batch {BATCH}, T={args.steps}: "
          f"draw_graph + dot -Tsvg, median of {args.repeats}")
    samples: dict[str, list[tuple[float, float, int]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeats):
        for mode, options in MODES.items():
            samples[mode].append(time_mode(model, loss, options))
    medians = {}
    for mode, runs in samples.items():
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        medians[mode] = cpu
        print(f"  {mode:26s} {format_seconds(cpu):>10s} CPU  {format_seconds(wall):>10s} wall  "
              f"{runs[0][2]:5d} nodes")
    print(verdict("unrolled drawing + layout", medians["unrolled"], TARGET_SECONDS, unit=" s"))
    print(verdict("rolled drawing + layout", medians["rolled"], TARGET_SECONDS, unit=" s"))


if __name__ == "__main__":
    main()
