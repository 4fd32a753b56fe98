"""The char_rnn example (seed 001): it learns the text, samples it, checkpoints and resumes exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_rnn.cli import main
from tinygrad_rnn.examples import run_example
from tinygrad_rnn.examples._common import Progress
from tinygrad_rnn.examples.char_rnn import Streams, Vocabulary, read_text

SMALL = ["--hidden", "32", "--batch", "8", "--seq-len", "12", "--quiet"]


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


def test_shipped_text_is_the_declaration_of_independence():
    text = read_text(None)
    assert text.count("\n") > 100
    assert "When, in the course of human events" in text
    assert text.rstrip().endswith("our sacred honor.")


@pytest.mark.parametrize("model", ["rnn", "lstm"])
def test_short_run_falls_well_below_the_uniform_guess_and_writes_its_files(model, tmp_path):
    results = run_example("char_rnn", [*SMALL, "--model", model, "--steps", "80", "--out", str(tmp_path)])

    vocabulary = len(set(read_text(None)))
    assert results["baseline"] == pytest.approx(math.log(vocabulary))
    assert results["loss"] < 0.8 * results["baseline"]
    assert len(results["sample"]) == 200
    assert set(results["sample"]) <= set(read_text(None))
    assert (tmp_path / "char_rnn.npz").exists()


def test_adagrad_option_learns_too(tmp_path):
    results = run_example("char_rnn", [*SMALL, "--optim", "adagrad", "--steps", "80", "--out", str(tmp_path)])
    assert results["loss"] < 0.8 * results["baseline"]


def test_an_interrupted_run_saves_and_resumes_exactly_where_it_stopped(tmp_path, monkeypatch):
    straight = run_example("char_rnn", [*SMALL, "--steps", "24", "--out", str(tmp_path / "a")])

    def stop_after_12_steps(progress, loss, steps=1):
        progress.done += steps
        if progress.done == 12:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Progress, "update", stop_after_12_steps)
        with pytest.raises(KeyboardInterrupt):
            run_example("char_rnn", [*SMALL, "--steps", "24", "--out", str(tmp_path / "b")])
    resumed = run_example("char_rnn", [*SMALL, "--steps", "24", "--resume", "--out", str(tmp_path / "b")])

    assert resumed["start_step"] == 12
    np.testing.assert_allclose(resumed["losses"], straight["losses"][12:], rtol=1e-6)


def test_text_option_trains_on_the_given_file(tmp_path):
    text_file = tmp_path / "abc.txt"
    text_file.write_text("abcab" * 40)
    results = run_example("char_rnn", [*SMALL, "--steps", "40", "--text", str(text_file),
                                       "--out", str(tmp_path)])
    assert results["baseline"] == pytest.approx(math.log(3))
    assert set(results["sample"]) <= set("abc")
    assert results["loss"] < 0.5 * results["baseline"]


def test_streams_read_consecutive_chunks_with_next_character_targets():
    encoded = np.arange(100)
    streams = Streams(encoded, batch=4, seq_len=5)
    inputs, targets = streams.chunk(0)
    assert inputs.shape == (5, 4)
    np.testing.assert_array_equal(inputs[:, 1], [25, 26, 27, 28, 29])
    np.testing.assert_array_equal(targets, inputs + 1)
    following, _ = streams.chunk(1)
    np.testing.assert_array_equal(following[:, 1], [30, 31, 32, 33, 34])


def test_vocabulary_round_trips_text():
    vocabulary = Vocabulary.of("hello world")
    assert len(vocabulary) == 8
    assert vocabulary.decode(vocabulary.encode("world hello")) == "world hello"


def test_resume_without_a_checkpoint_is_a_one_line_error(tmp_path, capsys):
    code = _exit_code(["demo", "char_rnn", "--resume", "--out", str(tmp_path), "--steps", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "char_rnn.npz" in err


def test_resume_with_other_settings_is_a_one_line_error(tmp_path, capsys):
    assert _exit_code(["demo", "char_rnn", *SMALL, "--steps", "2", "--out", str(tmp_path)]) == 0
    code = _exit_code(["demo", "char_rnn", *SMALL, "--hidden", "16", "--steps", "4", "--resume",
                       "--out", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "hidden 32 (asked 16)" in err


def test_a_file_that_is_no_checkpoint_is_a_one_line_error(tmp_path, capsys):
    np.savez(tmp_path / "char_rnn.npz", weights=np.zeros(3))
    assert _exit_code(["demo", "char_rnn", *SMALL, "--steps", "2", "--resume", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "is not a char_rnn checkpoint" in err


@pytest.mark.parametrize("content", [b"\xff\xfe\x00binary", b"a"], ids=["not utf-8", "one character"])
def test_an_unusable_text_file_is_a_usage_error(content, tmp_path, capsys):
    text_file = tmp_path / "text.txt"
    text_file.write_bytes(content)
    assert _exit_code(["demo", "char_rnn", "--text", str(text_file), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"--text {text_file}" in err


def test_missing_text_file_is_an_argument_error(tmp_path, capsys):
    assert _exit_code(["demo", "char_rnn", "--text", str(tmp_path / "nope.txt")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow
def test_default_run_falls_clearly_below_the_uniform_guess(tmp_path):
    results = run_example("char_rnn", ["--out", str(tmp_path), "--quiet"])
    assert results["loss"] < 0.5 * results["baseline"]
