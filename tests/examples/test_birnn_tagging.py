"""The birnn_tagging example (seed 002): a BiRNN tags what a left-to-right RNN cannot."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tinygrad_rnn.examples import run_example
from tinygrad_rnn.examples.birnn_tagging import best_unidirectional_accuracy, make_batch


def test_labels_count_the_ones_among_both_neighbours():
    bits, labels = make_batch(np.random.default_rng(0), batch=5, length=7)
    for b in range(5):
        for t in range(7):
            left = bits[t - 1, b] if t > 0 else 0
            right = bits[t + 1, b] if t < 6 else 0
            assert labels[t, b] == left + right


@pytest.mark.parametrize("length", [2, 3, 5])
def test_unidirectional_ceiling_is_the_best_guess_from_the_past_alone(length):
    # Enumerate every bit string; the best tagger that has read x_1..x_t picks, at each t,
    # the label most often seen after that prefix.
    total = 0.0
    for t in range(length):
        counts: dict[tuple[int, ...], dict[int, int]] = {}
        for bits in itertools.product((0, 1), repeat=length):
            padded = (0, *bits, 0)
            label = padded[t] + padded[t + 2]
            counts.setdefault(bits[:t + 1], {}).setdefault(label, 0)
            counts[bits[:t + 1]][label] += 1
        total += sum(max(c.values()) for c in counts.values()) / 2 ** length
    assert best_unidirectional_accuracy(length) == pytest.approx(total / length)


def test_short_run_birnn_tags_correctly_while_rnn_stays_at_its_ceiling(tmp_path):
    results = run_example("birnn_tagging", ["--steps", "150", "--length", "8", "--out", str(tmp_path),
                                            "--quiet"])

    assert results["birnn_accuracy"] > 0.95
    assert results["rnn_accuracy"] < results["unidirectional_ceiling"] + 0.03
    assert results["birnn_losses"][-1] < results["birnn_losses"][0] / 4
    names = {path.name for path in results["files"]}
    assert "birnn_tagging_graph.dot" in names
    pytest.importorskip("matplotlib")
    assert "birnn_tagging_accuracy.png" in names


@pytest.mark.slow
def test_default_run_separates_the_two_models(tmp_path):
    results = run_example("birnn_tagging", ["--out", str(tmp_path), "--quiet"])
    assert results["birnn_accuracy"] > 0.99
    assert results["rnn_accuracy"] < results["unidirectional_ceiling"] + 0.02
