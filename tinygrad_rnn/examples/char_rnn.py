"""Seed 001 and min-char-rnn: a character-level language model that learns to spell a text.

Each character is a one-hot vector x_t (seed 001's input); an `nn.RNN` (or `nn.LSTM`) and a
`Linear` head give the scores of the next character, y_t = softmax(V s_t + b_y), and the loss
is the cross-entropy against the text shifted by one ("machin" -> "achine"). The text is cut
into `--batch` parallel streams read `--seq-len` characters at a time; the hidden state is
carried from one chunk to the next and detached (truncated BPTT). Gradients are clipped by
their joint norm, the seeds' remedy for exploding gradients.

A model that knows nothing scores ln(vocabulary size) nats per character; the run prints the
loss with that baseline, samples text as it trains, and checkpoints model, optimizer and
hidden state with `tr.save` so that `--resume` continues exactly where the run stopped.
The default text, shipped with the package, is the Declaration of Independence (1776, in the
public domain).
"""

from __future__ import annotations

import argparse
import math
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import optim, viz
from ..autograd.mode import no_grad
from ..errors import StateDictError
from ..io import load, save
from ..nn import LSTM, RNN, Linear, Module
from ..nn.functional import cross_entropy, one_hot
from ..random import generator, manual_seed
from ..tensor import Tensor
from ._common import (
    Run,
    UsageError,
    add_common_arguments,
    cosine_decay,
    positive_float,
    positive_int,
    readable_file,
)

DEFAULT_TEXT = "declaration_of_independence.txt"
CHECKPOINT = "char_rnn.npz"
CHECKPOINT_KEYS = ("model", "optimizer", "step", "state", "vocabulary", "config")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", type=readable_file, default=None, metavar="FILE",
                        help="train on this UTF-8 text file (default: the shipped Declaration "
                             "of Independence)")
    parser.add_argument("--model", choices=("rnn", "lstm"), default="rnn",
                        help="recurrent layer (default: rnn)")
    parser.add_argument("--optim", choices=("adagrad", "adam"), default="adam",
                        help="optimizer (default: adam; adagrad is min-char-rnn's)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="peak learning rate, decayed to 0 on a cosine over --steps "
                             "(default: 0.005 for adam, 0.03 for adagrad)")
    parser.add_argument("--hidden", type=positive_int, default=128, help="hidden units (default: 128)")
    parser.add_argument("--seq-len", type=positive_int, default=25,
                        help="characters per truncated-BPTT chunk (default: 25)")
    parser.add_argument("--batch", type=positive_int, default=32,
                        help="parallel streams through the text (default: 32)")
    parser.add_argument("--clip", type=positive_float, default=5.0,
                        help="clip the gradients' joint norm to this (default: 5)")
    parser.add_argument("--sample-every", type=positive_int, default=500, metavar="N",
                        help="print a sample every N steps (default: 500)")
    parser.add_argument("--sample-length", type=positive_int, default=200, metavar="N",
                        help="characters per sample (default: 200)")
    parser.add_argument("--temperature", type=positive_float, default=0.8,
                        help="sampling temperature: lower is more conservative (default: 0.8)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=500, metavar="N",
                        help=f"save {CHECKPOINT} in --out every N steps and at the end (default: 500)")
    parser.add_argument("--resume", action="store_true",
                        help=f"continue from {CHECKPOINT} in --out (up to --steps in all)")
    add_common_arguments(parser, "char_rnn", steps=3000)


def read_text(path: Path | None) -> str:
    """The training text: `path`, or the one shipped in the package."""
    if path is None:
        return (resources.files("tinygrad_rnn") / "data" / DEFAULT_TEXT).read_text(encoding="utf-8")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"--text {path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    if len(text) < 2:
        raise UsageError(f"--text {path}: at least 2 characters are needed, got {len(text)}")
    return text


class Vocabulary:
    """The characters of a text and their indices."""

    def __init__(self, characters: str) -> None:
        self.characters = characters
        self.index = {c: i for i, c in enumerate(characters)}

    @classmethod
    def of(cls, text: str) -> Vocabulary:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.characters)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, indices: Any) -> str:
        return "".join(self.characters[i] for i in indices)


class CharModel(Module):
    """One-hot characters -> RNN or LSTM -> Linear scores of the next character."""

    def __init__(self, vocab_size: int, hidden_size: int, kind: str) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = (LSTM if kind == "lstm" else RNN)(vocab_size, hidden_size)
        self.head = Linear(hidden_size, vocab_size)

    def forward(self, indices: np.ndarray, state: Any = None) -> tuple[Tensor, Any]:
        """indices (T, B) -> scores (T, B, vocab), the state after the last step."""
        output, state = self.rnn(one_hot(indices, self.vocab_size), state)
        return self.head(output), state


def detach_state(state: Any) -> Any:
    """The state as new leaves: the next chunk's graph stops here (truncated BPTT)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def sample(model: CharModel, vocab: Vocabulary, start: str, length: int, temperature: float) -> str:
    """`length` characters drawn one at a time from the model, after priming it with `start`."""
    indices = list(vocab.encode(start))
    state = None
    with no_grad():
        scores, state = model(np.array(indices)[:, None], state)
        for _ in range(length):
            logits = scores.numpy()[-1, 0].astype(np.float64) / temperature
            probabilities = np.exp(logits - logits.max())
            probabilities /= probabilities.sum()
            indices.append(int(generator().choice(len(vocab), p=probabilities)))
            scores, state = model(np.array(indices[-1:])[:, None], state)
    return vocab.decode(indices[len(start):])


class Streams:
    """`batch` cursors spread evenly over the text, each reading `seq_len` characters per chunk.

    The text is read as a circle: a cursor that reaches the end continues at the start.
    """

    def __init__(self, encoded: np.ndarray, batch: int, seq_len: int) -> None:
        self.encoded = encoded
        self.seq_len = seq_len
        self.starts = (np.arange(batch) * (len(encoded) // batch)).astype(np.int64)

    def chunk(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and next-character targets (seq_len, batch) of chunk number `step`."""
        span = len(self.encoded) - 1
        offsets = self.starts[None, :] + step * self.seq_len + np.arange(self.seq_len)[:, None]
        offsets %= span
        return self.encoded[offsets], self.encoded[offsets + 1]


def peak_lr(args: argparse.Namespace) -> float:
    return args.lr or (0.03 if args.optim == "adagrad" else 0.005)


def _make_optimizer(args: argparse.Namespace, model: CharModel) -> optim.Optimizer:
    if args.optim == "adagrad":
        return optim.Adagrad(model.parameters(), lr=peak_lr(args))
    return optim.Adam(model.parameters(), lr=peak_lr(args))


def _state_arrays(state: Any) -> list[np.ndarray]:
    if state is None:
        return []
    return [s.numpy() for s in (state if isinstance(state, tuple) else (state,))]


def _state_from_arrays(arrays: list[np.ndarray], kind: str) -> Any:
    if not arrays:
        return None
    tensors = tuple(Tensor(a) for a in arrays)
    return tensors if kind == "lstm" else tensors[0]


def save_checkpoint(path: Path, model: CharModel, optimizer: optim.Optimizer, step: int,
                    state: Any, vocab: Vocabulary, args: argparse.Namespace) -> None:
    contents = (model.state_dict(), optimizer.state_dict(), step, _state_arrays(state),
                vocab.characters, {"model": args.model, "hidden": args.hidden, "optim": args.optim})
    save(dict(zip(CHECKPOINT_KEYS, contents)), path)


def resume(path: Path, model: CharModel, optimizer: optim.Optimizer, vocab: Vocabulary,
           args: argparse.Namespace) -> tuple[int, Any]:
    """Load a checkpoint into model and optimizer; returns its step and hidden state."""
    checkpoint = load(path)
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint]
    if missing:
        raise StateDictError(f"{path} is not a char_rnn checkpoint: it has no {', '.join(missing)}")
    saved = checkpoint["config"]
    wanted = {"model": args.model, "hidden": args.hidden, "optim": args.optim}
    if saved != wanted or checkpoint["vocabulary"] != vocab.characters:
        differences = [f"{key} {saved[key]!r} (asked {wanted[key]!r})" for key in wanted
                       if saved[key] != wanted[key]]
        if checkpoint["vocabulary"] != vocab.characters:
            differences.append("a text with other characters")
        raise StateDictError(f"{path} was saved by a different run: " + ", ".join(differences))
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return int(checkpoint["step"]), _state_from_arrays(checkpoint["state"], args.model)


def run(run: Run) -> dict[str, Any]:
    args = run.args
    text = read_text(args.text)
    vocab = Vocabulary.of(text)
    streams = Streams(vocab.encode(text), args.batch, args.seq_len)
    manual_seed(args.seed)
    model = CharModel(len(vocab), args.hidden, args.model)
    optimizer = _make_optimizer(args, model)
    checkpoint = run.out / CHECKPOINT
    start, state = resume(checkpoint, model, optimizer, vocab, args) if args.resume else (0, None)
    baseline = math.log(len(vocab))
    run.say(f"char_rnn (seed 001): {len(text):,} characters, vocabulary of {len(vocab)}; "
            f"{args.model.upper()} with {args.hidden} units, {args.optim}, clip {args.clip:g}; "
            f"uniform guess ln({len(vocab)}) = {baseline:.3f} nats/char")
    if start:
        run.say(f"resumed from {checkpoint} at step {start}")
    losses: list[float] = []
    done = start
    try:
        with run.progress(max(args.steps - start, 0), "char_rnn") as bar:
            for step in range(start, args.steps):
                cosine_decay(optimizer, peak_lr(args), step, args.steps)
                inputs, targets = streams.chunk(step)
                scores, new_state = model(inputs, state)
                loss = cross_entropy(scores, targets)
                optimizer.zero_grad()
                loss.backward()
                optim.clip_grad_norm_(model.parameters(), args.clip)
                optimizer.step()
                state, done = detach_state(new_state), step + 1
                losses.append(loss.item())
                bar.update(losses[-1])
                if done % args.sample_every == 0 and not run.quiet:
                    bar.write(f"--- sample at step {done} (loss {np.mean(losses[-50:]):.3f}) ---")
                    bar.write(sample(model, vocab, text[0], args.sample_length, args.temperature))
                if done % args.checkpoint_every == 0 or done == args.steps:
                    save_checkpoint(checkpoint, model, optimizer, done, state, vocab, args)
    except KeyboardInterrupt:
        save_checkpoint(checkpoint, model, optimizer, done, state, vocab, args)
        run.result(f"stopped after step {done}: {checkpoint} saved; add --resume to continue")
        raise
    if checkpoint.exists() and checkpoint not in run.files:
        run.wrote(checkpoint)
    final = float(np.mean(losses[-50:])) if losses else float("nan")
    run.result(f"loss over the last {min(len(losses), 50)} steps: {final:.3f} nats/char "
               f"(uniform guess {baseline:.3f}, {final / baseline:.0%} of it)")
    text_sample = sample(model, vocab, text[0], args.sample_length, args.temperature)
    run.result(f"sample:\n{text_sample}")
    run.save_plot(lambda figure: _plot_loss(figure, losses, start, baseline), "char_rnn_loss")
    return {"loss": final, "baseline": baseline, "losses": losses, "sample": text_sample,
            "start_step": start}


def _plot_loss(figure: Any, losses: list[float], start: int, baseline: float) -> None:
    axes = figure.subplots()
    axes.plot(np.arange(start + 1, start + len(losses) + 1), losses, lw=0.8, label="training loss")
    axes.axhline(baseline, color="gray", ls="--", label="uniform guess ln(vocabulary)")
    axes.set_xlabel("step")
    axes.set_ylabel("cross-entropy (nats per character)")
    axes.legend()


def draw(run: Run, rolled: bool = False) -> Any:
    """One training chunk of 6 characters (`tinygrad-rnn graph char_rnn`)."""
    text = read_text(None)
    vocab = Vocabulary.of(text)
    manual_seed(run.args.seed)
    model = CharModel(len(vocab), 8, "rnn")
    encoded = vocab.encode(text[:7])
    scores, _ = model(encoded[:-1, None])
    loss = cross_entropy(scores, encoded[1:, None])
    viz.name(loss, "loss").backward()
    return viz.draw_graph(loss, params=model, rolled=rolled)
