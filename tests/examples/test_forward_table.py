"""The forward_table example (seed 004) prints the seed's published table, value for value."""

from __future__ import annotations

import argparse
import io
import re

import numpy as np
import pytest

from tinygrad_rnn.examples import Run, build_parser, run_example

# The table as published in seed 004 (three time steps; vectors to 8 decimals, the output
# layer's values to 11), copied from the document.
PUBLISHED = {
    "input": [[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]],
    "memory": [[0.0, 0.0], [0.81078632, 0.95038109], [0.98966769, 0.99681261]],
    "hidden input": [[1.12931974, 1.83570403], [2.63022371, 3.22005262], [3.35875317, 4.19450881]],
    "hidden output": [[0.81078632, 0.95038109], [0.98966769, 0.99681261], [0.99758382, 0.9995454]],
    "updated memory": [[0.81078632, 0.95038109], [0.98966769, 0.99681261], [0.99758382, 0.9995454]],
    "output input": [1.41049444174, 1.54190230860, 1.54819771552],
    "output": [0.88759908355, 0.91243947228, 0.91348763002],
}
PUBLISHED_KERNEL = [[0.4359949, 0.02592623], [0.54966248, 0.43532239],
                    [0.4203678, 0.33033482], [0.20464863, 0.61927097]]
PUBLISHED_HIDDEN_BIAS = [0.29965467, 0.26682728]
PUBLISHED_OUTPUT_WEIGHT = [0.5507979, 0.70814782]
PUBLISHED_OUTPUT_BIAS = 0.2909047389129443
NUMBER = re.compile(r"-?\d+\.\d+")


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    out = tmp_path_factory.mktemp("forward_table")
    options = build_parser("forward_table", argparse.ArgumentParser()).parse_args(["--out", str(out)])
    stream = io.StringIO()
    results = run_example("forward_table", run=Run("forward_table", options, stream=stream))
    return stream.getvalue().splitlines(), results


def _row(lines: list[str], name: str) -> list[float]:
    table = lines[next(i for i, line in enumerate(lines) if "time-step 1" in line):]
    line = next(line for line in table if line.startswith(name + "  "))
    return [float(v) for v in NUMBER.findall(line[len(name):])]


@pytest.mark.parametrize("row", list(PUBLISHED))
def test_printed_row_equals_the_published_row(printed, row):
    lines, _ = printed
    expected = np.ravel(PUBLISHED[row])
    # Vectors are published to 8 decimals, the output layer's values to 11 (the last digit
    # as the document rounded it).
    tolerance = 2e-11 if row.startswith("output") else 1e-8
    np.testing.assert_allclose(_row(lines, row), expected, rtol=0, atol=tolerance)


def test_printed_weights_are_the_published_draws(printed):
    lines, _ = printed
    text = "\n".join(lines)
    kernel_block = text.split("rand(4, 2):")[1].split("->")[0]
    np.testing.assert_allclose([float(v) for v in NUMBER.findall(kernel_block)],
                               np.ravel(PUBLISHED_KERNEL), atol=1e-8)
    bias_line = next(line for line in lines if line.startswith("hidden bias"))
    np.testing.assert_allclose([float(v) for v in NUMBER.findall(bias_line.split(":")[1])],
                               PUBLISHED_HIDDEN_BIAS, atol=1e-8)
    weight_line = next(line for line in lines if line.startswith("output weight"))
    np.testing.assert_allclose([float(v) for v in NUMBER.findall(weight_line.split(":")[1])],
                               PUBLISHED_OUTPUT_WEIGHT, atol=1e-8)
    bias_line = next(line for line in lines if line.startswith("output bias"))
    assert float(bias_line.split(":")[1]) == PUBLISHED_OUTPUT_BIAS


def test_the_graph_of_the_three_steps_is_written_with_the_parameter_names(printed):
    _, results = printed
    dot = next(path for path in results["files"] if path.suffix == ".dot").read_text()
    for label in ("cell.weight_ih", "cell.weight_hh", "output.weight", "hidden input", "t=2"):
        assert label in dot


def test_the_global_numpy_random_state_is_left_alone(tmp_path):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    run_example("forward_table", ["--out", str(tmp_path), "--quiet"])
    assert (np.random.get_state()[1] == before).all()
