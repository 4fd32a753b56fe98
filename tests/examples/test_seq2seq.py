"""The seq2seq example (seed 003): the three shapes learn their tasks; attention is drawn."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_rnn.cli import main
from tinygrad_rnn.examples import run_example
from tinygrad_rnn.examples.seq2seq import EOS, PAD, SOS, pad_batch, reverse_without_zeros


def test_target_is_the_string_backwards_without_zeros():
    assert reverse_without_zeros([3, 0, 4, 1, 5]) == [5, 1, 4, 3]
    assert reverse_without_zeros([0, 0]) == []


def test_padded_batch_shifts_decoder_inputs_behind_the_targets():
    source, lengths, decoder_in, decoder_out = pad_batch([[3, 0, 4], [0, 7]])
    np.testing.assert_array_equal(source, [[3, 0], [0, 7], [4, PAD]])
    np.testing.assert_array_equal(lengths, [3, 2])
    np.testing.assert_array_equal(decoder_out, [[4, 7], [3, EOS], [EOS, PAD]])
    np.testing.assert_array_equal(decoder_in, [[SOS, SOS], [4, 7], [3, PAD]])


def test_short_run_learns_all_three_shapes_and_draws_the_attention(tmp_path):
    results = run_example("seq2seq", ["--steps", "150", "--max-length", "5", "--hidden", "32",
                                      "--out", str(tmp_path), "--quiet"])

    assert results["sequence_to_vector"]["accuracy"] > 0.6
    assert results["sequence_to_vector"]["input"] == (6, 64)
    assert results["sequence_to_vector"]["output"] == (64, 10)
    assert results["vector_to_sequence"]["accuracy"] > 0.6
    assert results["vector_to_sequence"]["output"] == (5, 64, 10)
    # Guessing cannot reverse digit strings: one in ten thousand at four digits.
    assert results["accuracy"] > 0.5
    string, decoded, weights = results["attention_example"]
    assert weights.shape == (min(len(decoded) + 1, 6), len(string))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    pytest.importorskip("matplotlib")
    assert (tmp_path / "seq2seq_attention.png").exists()


def test_min_length_above_max_length_is_a_usage_error(capsys):
    try:
        code = main(["demo", "seq2seq", "--min-length", "6", "--max-length", "4"])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--min-length 6 is above --max-length 4" in err


@pytest.mark.slow
def test_default_run_reverses_almost_every_string(tmp_path):
    results = run_example("seq2seq", ["--out", str(tmp_path), "--quiet"])
    assert results["accuracy"] > 0.95
    assert results["sequence_to_vector"]["accuracy"] > 0.9
    assert results["vector_to_sequence"]["accuracy"] > 0.95
