"""The seed documents' systems as runnable examples: `tinygrad-rnn demo NAME`.

Each example module has `add_arguments(parser)` (its own options and defaults),
`run(run) -> dict` (train, print, write pictures; returns its measured results) and
`draw(run, rolled) -> Drawing` (its computation graph, for `tinygrad-rnn graph NAME`).

>>> from tinygrad_rnn.examples import run_example
>>> results = run_example("echo", ["--steps", "500", "--quiet"])
>>> results["files"]                     # pictures written under out/echo
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

from ._common import Run


class ExampleInfo(NamedTuple):
    seed: str
    summary: str


EXAMPLES: dict[str, ExampleInfo] = {
    "echo": ExampleInfo("000", "two-step one-neuron RNN learns to echo the previous input "
                               "(Scalar and Tensor engines)"),
    "char_rnn": ExampleInfo("001", "character-level language model (RNN or LSTM) on a "
                                   "public-domain text, with samples and checkpoints"),
    "birnn_tagging": ExampleInfo("002", "a label that depends on the next input: RNN versus "
                                        "BiRNN accuracy"),
    "seq2seq": ExampleInfo("003", "encoder-decoder with attention reverses digit strings "
                                  "without their zeros; seq-to-vector and vector-to-seq shapes"),
    "forward_table": ExampleInfo("004", "the worked 3-step forward pass, value by value, "
                                        "from RNNCell + Linear"),
    "gradient_flow": ExampleInfo("002", "norm of dL/dh_t over 100 steps: vanishing and "
                                        "exploding gradients"),
}


def load(name: str) -> ModuleType:
    """The module of example `name`."""
    if name not in EXAMPLES:
        raise KeyError(f"no example named {name!r}; choose from {', '.join(EXAMPLES)}")
    return importlib.import_module(f"{__name__}.{name}")


def build_parser(name: str, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add example `name`'s options (its own and the common ones) to `parser`; its help
    describes the example with the module's docstring."""
    module = load(name)
    parser.description = module.__doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    module.add_arguments(parser)
    return parser


def run_example(name: str, argv: Sequence[str] = (), run: Run | None = None) -> dict[str, Any]:
    """Run example `name` with command-line options `argv`; returns its results and files."""
    if run is None:
        parser = build_parser(name, argparse.ArgumentParser(prog=name))
        run = Run(name, parser.parse_args(list(argv)))
    results = load(name).run(run)
    run.report_files()
    return {**results, "files": list(run.files)}


__all__ = ["EXAMPLES", "ExampleInfo", "Run", "build_parser", "load", "run_example"]
