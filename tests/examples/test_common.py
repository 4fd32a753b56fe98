"""What the examples share: progress with and without tqdm, pictures with and without their tools."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from tinygrad_rnn.examples import Run
from tinygrad_rnn.examples._common import Progress, positive_float, positive_int


def _run(tmp_path, quiet=False):
    stream = io.StringIO()
    return Run("demo", argparse.Namespace(out=tmp_path, quiet=quiet), stream=stream), stream


def test_plain_progress_prints_loss_and_speed_every_tenth(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    stream = io.StringIO()
    with Progress(100, "train", quiet=False, stream=stream) as bar:
        for step in range(100):
            bar.update(float(step))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("train: step 10/100  loss 4.5  ")
    assert lines[-1].startswith("train: step 100/100  loss 94.5  ")
    assert all(line.endswith("steps/s") for line in lines)


def test_quiet_progress_prints_nothing(monkeypatch):
    stream = io.StringIO()
    with Progress(50, "train", quiet=True, stream=stream) as bar:
        for _ in range(50):
            bar.update(1.0)
        bar.write("a sample")
    assert stream.getvalue() == ""


def test_tqdm_progress_shows_the_mean_loss(monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    seen = []
    original = tqdm.tqdm.set_postfix
    monkeypatch.setattr(tqdm.tqdm, "set_postfix",
                        lambda self, **kw: (seen.append(kw["loss"]), original(self, **kw))[1])
    with Progress(200, "train", quiet=False, stream=io.StringIO()) as bar:
        for _ in range(200):
            bar.update(0.25)
    assert seen and all(text == "0.25" for text in seen)


def test_plot_without_matplotlib_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    run, stream = _run(tmp_path)
    assert run.save_plot(lambda figure: None, "curve") is None
    run.report_files()
    assert "plot curve.png skipped" in stream.getvalue()
    assert "pip install 'tinygrad_rnn[plots]'" in stream.getvalue()
    assert not (tmp_path / "curve.png").exists()


def test_plot_is_written_as_png_and_listed(tmp_path):
    pytest.importorskip("matplotlib")
    run, stream = _run(tmp_path, quiet=True)
    path = run.save_plot(lambda figure: figure.subplots().plot([0, 1], [1, 0]), "curve")
    assert path.read_bytes().startswith(b"\x89PNG")
    run.report_files()
    assert str(path) in stream.getvalue()


@pytest.mark.parametrize(("convert", "text"), [(positive_int, "0"), (positive_int, "-3"),
                                                (positive_int, "2.5"), (positive_float, "0"),
                                                (positive_float, "nan"), (positive_float, "inf")])
def test_numeric_options_refuse_values_out_of_range(convert, text):
    with pytest.raises(argparse.ArgumentTypeError, match=text):
        convert(text)
