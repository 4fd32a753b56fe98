"""Seed 003's shapes of recurrent models: sequence to vector, vector to sequence, and an
encoder-decoder with attention whose output is shorter than its input.

- Sequence -> vector (N to 1): read a digit string, answer its largest digit from the last
  hidden state.
- Vector -> sequence (1 to N): from one digit d, write d, d+1, ..., d+4 (mod 10); the
  input vector is repeated at every step.
- Encoder-decoder (N to M) with attention: write a digit string backwards, leaving out its
  zeros ("30415" -> "5143"). A GRU encodes the digits; a GRU cell decodes one digit at a
  time, and before each output an additive (Bahdanau) attention weighs every encoder state
  against the decoder state: the context c_i differs at every output step. Exact-match
  accuracy is measured by greedy decoding of fresh strings, and the attention weights of one
  example are drawn: reading backwards shows as an anti-diagonal that skips the zeros.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import optim, viz
from ..autograd.mode import no_grad, scope
from ..nn import GRU, RNN, Attention, Embedding, GRUCell, Linear, Module
from ..nn.functional import cross_entropy, one_hot
from ..random import manual_seed
from ..tensor import Tensor, concat, stack
from ._common import Run, UsageError, add_common_arguments, positive_int

DIGITS = 10
EOS, SOS, PAD = 10, 11, 12
TOKENS = 13
TEST_STRINGS = 500
SHAPE_TASK_STEPS = 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-length", type=positive_int, default=3,
                        help="shortest input string (default: 3)")
    parser.add_argument("--max-length", type=positive_int, default=8,
                        help="longest input string (default: 8)")
    parser.add_argument("--hidden", type=positive_int, default=64, help="hidden units (default: 64)")
    parser.add_argument("--batch", type=positive_int, default=64, help="strings per step (default: 64)")
    add_common_arguments(parser, "seq2seq", steps=1200, steps_help="encoder-decoder training steps")


def _text(tokens: Any) -> str:
    return "".join(str(t) for t in tokens if t < DIGITS)


# -- encoder-decoder data ---------------------------------------------------------------------


def reverse_without_zeros(digits: list[int]) -> list[int]:
    """The task: the digits backwards, zeros left out."""
    return [d for d in reversed(digits) if d != 0]


def make_strings(rng: np.random.Generator, count: int, low: int, high: int) -> list[list[int]]:
    lengths = rng.integers(low, high + 1, size=count)
    return [rng.integers(0, DIGITS, size=n).tolist() for n in lengths]


def pad_batch(strings: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Encoder tokens (T, B), their lengths (B,), decoder inputs and targets (T', B).

    Decoder inputs start with <sos>; targets end with <eos>; padding is PAD (ignored by the loss).
    """
    targets = [reverse_without_zeros(s) + [EOS] for s in strings]
    source = np.full((max(map(len, strings)), len(strings)), PAD)
    decoder_in = np.full((max(map(len, targets)), len(strings)), PAD)
    decoder_out = np.full_like(decoder_in, PAD)
    for b, (string, target) in enumerate(zip(strings, targets)):
        source[:len(string), b] = string
        decoder_in[:len(target), b] = [SOS, *target[:-1]]
        decoder_out[:len(target), b] = target
    return source, np.array([len(s) for s in strings]), decoder_in, decoder_out


class Seq2Seq(Module):
    """GRU encoder; GRU-cell decoder that attends over the encoder states at every step."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.embedding = Embedding(TOKENS, 16)
        self.encoder = GRU(16, hidden_size)
        self.decoder = GRUCell(16, hidden_size)
        self.attention = Attention(hidden_size, score="additive")
        self.out = Linear(2 * hidden_size, TOKENS)

    def encode(self, source: np.ndarray, lengths: np.ndarray) -> tuple[Tensor, Tensor]:
        """source (T, B) -> encoder states (B, T, H) and the decoder's first state (B, H)."""
        states, h_n = self.encoder(self.embedding(source), lengths=lengths)
        return states.transpose(0, 1), h_n[0]

    def step(self, token: np.ndarray, h: Tensor, keys: Tensor, lengths: np.ndarray
             ) -> tuple[Tensor, Tensor, Tensor]:
        """One decoder step: token (B,) -> scores (B, tokens), new state, attention weights (B, T)."""
        h = self.decoder(self.embedding(token), h)
        context, weights = self.attention(h, keys, lengths=lengths)
        return self.out(concat([h, context], axis=-1)), h, weights

    def forward(self, source: np.ndarray, lengths: np.ndarray, decoder_in: np.ndarray) -> Tensor:
        """Teacher forcing: scores (T', B, tokens) for every target position."""
        keys, h = self.encode(source, lengths)
        scores = []
        for t, token in enumerate(decoder_in):
            with scope(f"t={t}"):
                step_scores, h, _ = self.step(token, h, keys, lengths)
            scores.append(step_scores)
        return stack(scores)

    def translate(self, source: np.ndarray, lengths: np.ndarray, limit: int
                  ) -> tuple[list[list[int]], np.ndarray]:
        """Greedy decoding; returns each string's output digits and the weights (B, limit, T)."""
        with no_grad():
            keys, h = self.encode(source, lengths)
            token = np.full(source.shape[1], SOS)
            outputs, weights = [], []
            for _ in range(limit):
                scores, h, step_weights = self.step(token, h, keys, lengths)
                token = scores.numpy().argmax(axis=-1)
                outputs.append(token)
                weights.append(step_weights.numpy())
        tokens = np.stack(outputs, axis=1)
        decoded = []
        for row in tokens:
            end = np.flatnonzero(row == EOS)
            decoded.append(row[:end[0]].tolist() if end.size else row.tolist())
        return decoded, np.stack(weights, axis=1)


# -- sequence to vector, vector to sequence -------------------------------------------------------


class SequenceToVector(Module):
    """Digits (T, B) -> RNN -> the last hidden state -> scores (B, 10)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.rnn = RNN(DIGITS, hidden_size)
        self.head = Linear(hidden_size, DIGITS)

    def forward(self, digits: np.ndarray) -> Tensor:
        _, h_n = self.rnn(one_hot(digits, DIGITS))
        return self.head(h_n[0])


class VectorToSequence(Module):
    """One digit (B,) -> its one-hot vector fed at each of `steps` steps -> scores (T, B, 10)."""

    def __init__(self, hidden_size: int, steps: int) -> None:
        super().__init__()
        self.steps = steps
        self.rnn = RNN(DIGITS, hidden_size)
        self.head = Linear(hidden_size, DIGITS)

    def forward(self, digit: np.ndarray) -> Tensor:
        vector = one_hot(digit, DIGITS)
        output, _ = self.rnn(vector.unsqueeze(0).expand(self.steps, *vector.shape))
        return self.head(output)


def _fit(model: Module, loss_of_a_batch: Callable[[], Tensor], steps: int, run: Run, name: str) -> None:
    """Adam with clipping for `steps` steps; each calls `loss_of_a_batch()` on fresh data."""
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    with run.progress(steps, name) as bar:
        for _ in range(steps):
            loss = loss_of_a_batch()
            optimizer.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            bar.update(loss.item())


def sequence_to_vector(run: Run, rng: np.random.Generator) -> dict[str, Any]:
    """Train the N-to-1 model on 'largest digit' and measure it on fresh strings."""

    def batch() -> tuple[np.ndarray, np.ndarray]:
        digits = rng.integers(0, DIGITS, size=(6, 64))
        return digits, digits.max(axis=0)

    def loss_of_a_batch() -> Tensor:
        digits, answers = batch()
        return cross_entropy(model(digits), answers)

    model = SequenceToVector(32)
    _fit(model, loss_of_a_batch, min(SHAPE_TASK_STEPS, run.args.steps), run, "seq -> vector")
    digits, answers = batch()
    with no_grad():
        scores = model(digits)
    return {"input": digits.shape, "output": scores.shape,
            "accuracy": float((scores.numpy().argmax(-1) == answers).mean())}


def vector_to_sequence(run: Run, rng: np.random.Generator) -> dict[str, Any]:
    """Train the 1-to-N model on 'count up 5 from d' and measure whole sequences."""
    steps = 5

    def batch() -> tuple[np.ndarray, np.ndarray]:
        start = rng.integers(0, DIGITS, size=64)
        return start, (start[None, :] + np.arange(steps)[:, None]) % DIGITS

    def loss_of_a_batch() -> Tensor:
        start, answers = batch()
        return cross_entropy(model(start), answers)

    model = VectorToSequence(32, steps)
    _fit(model, loss_of_a_batch, min(SHAPE_TASK_STEPS, run.args.steps), run, "vector -> seq")
    start, answers = batch()
    with no_grad():
        scores = model(start)
    exact = (scores.numpy().argmax(-1) == answers).all(axis=0)
    return {"input": one_hot(start, DIGITS).shape, "output": scores.shape, "accuracy": float(exact.mean())}


def encoder_decoder(run: Run, rng: np.random.Generator) -> tuple[Seq2Seq, float, list[list[int]],
                                                                 list[list[int]], np.ndarray]:
    """Train the attention model; returns it, its exact-match accuracy, the test strings,
    their decodings and attention weights."""
    args = run.args
    model = Seq2Seq(args.hidden)

    def loss_of_a_batch() -> Tensor:
        strings = make_strings(rng, args.batch, args.min_length, args.max_length)
        source, lengths, decoder_in, decoder_out = pad_batch(strings)
        return cross_entropy(model(source, lengths, decoder_in), decoder_out, ignore_index=PAD)

    _fit(model, loss_of_a_batch, args.steps, run, "encoder-decoder")
    strings = make_strings(np.random.default_rng(args.seed + 1), TEST_STRINGS, args.min_length,
                           args.max_length)
    source, lengths, _, _ = pad_batch(strings)
    decoded, weights = model.translate(source, lengths, limit=args.max_length + 1)
    accuracy = float(np.mean([out == reverse_without_zeros(s) for s, out in zip(strings, decoded)]))
    return model, accuracy, strings, decoded, weights


def run(run: Run) -> dict[str, Any]:
    args = run.args
    if args.min_length > args.max_length:
        raise UsageError(f"--min-length {args.min_length} is above --max-length {args.max_length}")
    manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    run.say("seq2seq (seed 003): sequence -> vector, vector -> sequence, and an encoder-decoder "
            "with attention")
    to_vector = sequence_to_vector(run, rng)
    to_sequence = vector_to_sequence(run, rng)
    _, accuracy, strings, decoded, weights = encoder_decoder(run, rng)

    run.result(f"{'shape':<20}{'task':<32}{'input -> output shapes':<36}{'exact match':>12}")
    for shape, task, found in (("sequence -> vector", "largest of 6 digits", to_vector),
                               ("vector -> sequence", "count up 5 steps from a digit", to_sequence)):
        shapes = f"{found['input']} -> {found['output']}"
        run.result(f"{shape:<20}{task:<32}{shapes:<36}{found['accuracy']:>12.1%}")
    shapes = f"(T<={args.max_length}, B) -> (T'<={args.max_length + 1}, B, {TOKENS})"
    run.result(f"{'encoder-decoder':<20}{'reverse, dropping zeros':<32}{shapes:<36}{accuracy:>12.1%}")
    width = args.max_length
    run.result("examples: input -> expected | decoded")
    for string, out in list(zip(strings, decoded))[:5]:
        expected = reverse_without_zeros(string)
        mark = "" if out == expected else "   (wrong)"
        run.result(f"  {_text(string):>{width}} -> {_text(expected):<{width}} | {_text(out)}{mark}")

    # Draw a long string with a zero in it, where the skipped digit shows.
    example = max(range(len(strings)), key=lambda i: (0 in strings[i], len(strings[i])))
    shown = weights[example, :len(decoded[example]) + 1, :len(strings[example])]
    run.save_plot(lambda figure: _plot_attention(figure, strings[example], decoded[example], shown),
                  "seq2seq_attention", size=(5, 4.5))
    return {"accuracy": accuracy, "sequence_to_vector": to_vector, "vector_to_sequence": to_sequence,
            "attention_example": (strings[example], decoded[example], shown)}


def _plot_attention(figure: Any, string: list[int], decoded: list[int], weights: np.ndarray) -> None:
    axes = figure.subplots()
    image = axes.imshow(weights, cmap="Blues", vmin=0, vmax=1)
    outputs = [str(d) for d in decoded] + ["<eos>"]
    axes.set_xticks(range(len(string)), [str(d) for d in string])
    axes.set_yticks(range(len(weights)), outputs[:len(weights)])
    axes.set_xlabel("input digit (encoder step)")
    axes.set_ylabel("output digit (decoder step)")
    expected = reverse_without_zeros(string)
    verdict = "" if decoded == expected else f" (expected {_text(expected)})"
    axes.set_title(f"attention: {_text(string)} -> {_text(decoded)}{verdict}")
    figure.colorbar(image, ax=axes, shrink=0.8)


def draw(run: Run, rolled: bool = False) -> Any:
    """The encoder-decoder on one 4-digit string, teacher-forced (`tinygrad-rnn graph seq2seq`)."""
    manual_seed(run.args.seed)
    model = Seq2Seq(8)
    source, lengths, decoder_in, decoder_out = pad_batch([[3, 0, 4, 1]])
    loss = cross_entropy(model(source, lengths, decoder_in), decoder_out, ignore_index=PAD)
    viz.name(loss, "loss").backward()
    return viz.draw_graph(loss, params=model, rolled=rolled)
