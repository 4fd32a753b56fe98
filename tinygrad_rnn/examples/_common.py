"""What every example shares: its options, its output folder, progress, pictures and checkpoints."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..errors import GraphvizNotFoundError

PLOTS_HINT = "matplotlib is not installed (pip install 'tinygrad_rnn[plots]')"
GRAPHVIZ_HINT = (
    "Graphviz's `dot` program is not installed: install it (apt-get install graphviz, "
    "brew install graphviz, or https://graphviz.org/download/), then run `dot -T{format} {dot} -o {picture}`"
)


class UsageError(ValueError):
    """Options that are each valid but do not fit together (the command line exits with 2)."""


def positive_int(text: str) -> int:
    """An argparse type: an int of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a float above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def readable_file(text: str) -> Path:
    """An argparse type: a file that exists."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def add_common_arguments(parser: argparse.ArgumentParser, name: str, steps: int | None,
                         steps_help: str = "training steps") -> None:
    """--seed, --steps (when the example trains), --out and --quiet."""
    group = parser.add_argument_group("common options")
    group.add_argument("--seed", type=int, default=0, help="random seed of the run (default: 0)")
    if steps is not None:
        group.add_argument("--steps", type=positive_int, default=steps,
                           help=f"{steps_help} (default: {steps})")
    group.add_argument("--out", type=Path, default=Path("out") / name, metavar="DIR",
                       help=f"folder for pictures and checkpoints (default: out/{name})")
    group.add_argument("--quiet", action="store_true",
                       help="no progress bars or samples: only the results and the files written")


def cosine_decay(optimizer: Any, peak_lr: float, step: int, total: int) -> None:
    """Set every param group's learning rate on a cosine from `peak_lr` (step 0) to 0 (step `total`)."""
    lr = 0.5 * peak_lr * (1.0 + math.cos(math.pi * min(step, total) / total))
    for group in optimizer.param_groups:
        group["lr"] = lr


class Progress:
    """A progress bar with the mean loss and the speed: tqdm if installed, else a line every tenth.

    >>> with run.progress(1000, "train") as bar:
    ...     for step in range(1000):
    ...         bar.update(loss.item())
    """

    def __init__(self, total: int, desc: str, quiet: bool, stream: TextIO) -> None:
        self.total = total
        self.desc = desc
        self.stream = stream
        self.quiet = quiet
        self.done = 0
        self._loss_sum = 0.0
        self._loss_count = 0
        self._started = self._reported = time.perf_counter()
        self._bar: Any = None
        self._every = max(1, total // 100)
        if not quiet:
            try:
                from tqdm import tqdm
            except ImportError:
                self._every = max(1, total // 10)
            else:
                self._bar = tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True,
                                 mininterval=0.2)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def mean_loss(self) -> float:
        """The mean loss since the last report."""
        return self._loss_sum / max(self._loss_count, 1)

    def update(self, loss: float, steps: int = 1) -> None:
        """Count `steps` finished steps whose (mean) loss was `loss`."""
        self.done += steps
        self._loss_sum += loss
        self._loss_count += 1
        if self.done % self._every and self.done < self.total:
            return
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{self.mean_loss:.4g}", refresh=False)
            self._bar.update(self.done - self._bar.n)
        elif not self.quiet:
            now = time.perf_counter()
            rate = self.done / max(now - self._started, 1e-9)
            print(f"{self.desc}: step {self.done}/{self.total}  loss {self.mean_loss:.4g}  "
                  f"{rate:,.0f} steps/s", file=self.stream, flush=True)
        self._loss_sum = 0.0
        self._loss_count = 0

    def write(self, text: str) -> None:
        """Print a line (unless quiet) without breaking the progress bar."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        elif not self.quiet:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Run:
    """One run of an example: its parsed options, printing, progress, and the files it writes."""

    def __init__(self, name: str, args: argparse.Namespace, stream: TextIO | None = None) -> None:
        self.name = name
        self.args = args
        self.stream = stream or sys.stdout
        self.files: list[Path] = []
        self.notes: list[str] = []

    @property
    def quiet(self) -> bool:
        return bool(getattr(self.args, "quiet", False))

    @property
    def out(self) -> Path:
        """The output folder, created on first use."""
        folder = Path(self.args.out)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def say(self, text: str = "") -> None:
        """Print unless --quiet (progress notes, samples)."""
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def result(self, text: str = "") -> None:
        """Print always (the results a run exists for)."""
        print(text, file=self.stream, flush=True)

    def progress(self, total: int, desc: str) -> Progress:
        return Progress(total, desc, self.quiet, self.stream)

    def wrote(self, path: Path) -> Path:
        self.files.append(path)
        return path

    def save_graph(self, drawing: Any, stem: str, format: str = "svg") -> Path | None:
        """Write a `viz.draw_graph` drawing as `<stem>.svg` (and its DOT source as `<stem>.dot`)."""
        dot_path = self.wrote(self.out / f"{stem}.dot")
        dot_path.write_text(drawing.source)
        picture = self.out / f"{stem}.{format}"
        try:
            picture.write_bytes(drawing.pipe(format=format))
        except GraphvizNotFoundError:
            hint = GRAPHVIZ_HINT.format(dot=dot_path, format=format, picture=picture)
            self.notes.append(f"graph picture skipped: {hint}")
            return None
        return self.wrote(picture)

    def save_plot(self, draw: Callable[[Any], None], stem: str, size: tuple[float, float] = (7, 4)
                  ) -> Path | None:
        """Call `draw(figure)` on a matplotlib Figure and save it as `<stem>.png`."""
        try:
            from matplotlib.figure import Figure
        except ImportError:
            self.notes.append(f"plot {stem}.png skipped: {PLOTS_HINT}")
            return None
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        path = self.out / f"{stem}.png"
        figure.savefig(path, dpi=110)
        return self.wrote(path)

    def report_files(self) -> None:
        """Print the notes (skipped pictures) and the paths of every file written."""
        for note in self.notes:
            self.result(note)
        if self.files:
            self.result("files written:")
            for path in self.files:
                self.result(f"  {path}")
