"""Draw a small BiRNN tagger (the seeds' bidirectional RNN) after one backward pass.

    python examples/draw_birnn.py [--steps T] [--out PATH] [--rolled] [--format svg|png|pdf]

Writes docs/birnn_graph.svg by default: parameters by their dotted names, one cluster per
module and per time step, values and gradients on every node. Needs Graphviz's `dot`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn import nn

DOCS = Path(__file__).resolve().parent.parent / "docs"


class Tagger(nn.Module):
    """A BiRNN over the sequence and a Linear layer on [s_f,t ; s_b,t] at every step."""

    def __init__(self, features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.rnn = nn.BiRNN(features, hidden)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x: tr.Tensor) -> tr.Tensor:
        states, _ = self.rnn(x)
        return self.head(states)


def build(steps: int, seed: int = 0) -> tuple[Tagger, tr.Tensor]:
    """The tagger, and its cross-entropy loss on random data after backward (T, B) = (steps, 2)."""
    tr.manual_seed(seed)
    model = Tagger(features=2, hidden=3, classes=2)
    x = tr.randn(steps, 2, 2)
    labels = np.random.default_rng(seed).integers(0, 2, size=(steps, 2))
    loss = tr.name(nn.functional.cross_entropy(model(x), labels), "loss")
    loss.backward()
    return model, loss


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="sequence length T (default 3)")
    parser.add_argument("--out", default=str(DOCS / "birnn_graph.svg"),
                        help="output file, its suffix dropped (default docs/birnn_graph.svg)")
    parser.add_argument("--format", default="svg", choices=("svg", "png", "pdf"))
    parser.add_argument("--rolled", action="store_true", help="draw one step, badged x T")
    args = parser.parse_args(argv)
    model, loss = build(args.steps)
    drawing = tr.viz.draw_graph(loss, params=model, rolled=args.rolled)
    stem = str(Path(args.out).with_suffix(""))
    path = drawing.render(stem, format=args.format, cleanup=True)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
