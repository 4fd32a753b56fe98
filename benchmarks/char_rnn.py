"""min-char-rnn's training step: vocab 65, hidden 128, 25 steps, float64, batch 1 and 32.

One step = forward over the sequence, cross-entropy summed over steps, backward through time,
plain SGD update, with the hidden state carried over from the previous step (truncated BPTT,
as min-char-rnn does). Timed, interleaved in one run, for:

- numpy: hand-written forward and hand-derived BPTT (seed 001 / min-char-rnn style: batch as
  columns, one-hot inputs, a softmax per step);
- tinygrad_rnn: what a user writes: `nn.RNN` + `nn.Linear` on `functional.one_hot` inputs
  (the same model as the numpy loop, whose input weights multiply one-hot columns), then
  `functional.cross_entropy(..., reduction="sum")` and `optim.SGD`;
- torch, if installed: the same model as a manual unroll, and with the fused `torch.nn.RNN`.

Each is reported as a ratio of its time to numpy's. All gradients are checked against the
numpy loop's before timing.

    python benchmarks/char_rnn.py [--rounds 40] [--batch 1 32]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _timing import format_seconds, interleaved_medians, verdict  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn import nn, optim  # noqa: E402
from tinygrad_rnn.nn import functional  # noqa: E402

VOCAB, HIDDEN, STEPS = 65, 128, 25
LEARNING_RATE = 1e-3
TARGETS = {1: 0.7, 32: 1.2}

Weights = dict[str, np.ndarray]  # the numpy loop's names: Wxh, Whh, Why, bh, by
# One sequence with the numpy loop's loss and gradients on it, from a zero hidden state.
Check = tuple[np.ndarray, np.ndarray, float, Weights]


def make_weights(rng: np.random.Generator) -> Weights:
    """min-char-rnn's parameters, columns layout: h = tanh(Wxh x + Whh h + bh), y = Why h + by."""
    return {
        "Wxh": rng.standard_normal((HIDDEN, VOCAB)) * 0.01,
        "Whh": rng.standard_normal((HIDDEN, HIDDEN)) * 0.01,
        "Why": rng.standard_normal((VOCAB, HIDDEN)) * 0.01,
        "bh": rng.standard_normal((HIDDEN, 1)) * 0.01,
        "by": rng.standard_normal((VOCAB, 1)) * 0.01,
    }


def numpy_loss_and_grads(weights: Weights, inputs: np.ndarray, targets: np.ndarray,
                         h_prev: np.ndarray) -> tuple[float, Weights, np.ndarray]:
    """Forward and hand-derived BPTT; inputs/targets (T, B) ints, h_prev (H, B).

    Returns the loss summed over steps and batch, the gradients, and the last hidden state.
    """
    Wxh, Whh, Why, bh, by = (weights[k] for k in ("Wxh", "Whh", "Why", "bh", "by"))
    batch = inputs.shape[1]
    columns = np.arange(batch)
    xs, hs, ps = {}, {-1: h_prev}, {}
    loss = 0.0
    for t in range(len(inputs)):
        xs[t] = np.zeros((VOCAB, batch))
        xs[t][inputs[t], columns] = 1.0
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
        scores = Why @ hs[t] + by
        exp = np.exp(scores - scores.max(axis=0))
        ps[t] = exp / exp.sum(axis=0)
        loss -= np.log(ps[t][targets[t], columns]).sum()
    grads = {name: np.zeros_like(value) for name, value in weights.items()}
    dh_next = np.zeros_like(h_prev)
    for t in reversed(range(len(inputs))):
        dy = ps[t].copy()
        dy[targets[t], columns] -= 1.0
        grads["Why"] += dy @ hs[t].T
        grads["by"] += dy.sum(axis=1, keepdims=True)
        dh = Why.T @ dy + dh_next
        dh_raw = (1.0 - hs[t] * hs[t]) * dh
        grads["bh"] += dh_raw.sum(axis=1, keepdims=True)
        grads["Wxh"] += dh_raw @ xs[t].T
        grads["Whh"] += dh_raw @ hs[t - 1].T
        dh_next = Whh.T @ dh_raw
    return loss, grads, hs[len(inputs) - 1]


def make_numpy_step(weights: Weights, data: Callable[[], tuple[np.ndarray, np.ndarray]],
                    batch: int) -> Callable[[], float]:
    params = {name: value.copy() for name, value in weights.items()}
    state = {"h": np.zeros((HIDDEN, batch))}

    def step() -> float:
        inputs, targets = data()
        loss, grads, state["h"] = numpy_loss_and_grads(params, inputs, targets, state["h"])
        for name, grad in grads.items():
            params[name] -= LEARNING_RATE * grad
        return loss

    return step


class CharRNN(nn.Module):
    """min-char-rnn as a user builds it: one-hot characters -> RNN -> Linear -> logits."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(VOCAB, HIDDEN, dtype=np.float64)
        self.head = nn.Linear(HIDDEN, VOCAB, dtype=np.float64)

    def forward(self, inputs: np.ndarray, h: tr.Tensor | None) -> tuple[tr.Tensor, tr.Tensor]:
        output, h = self.rnn(functional.one_hot(inputs, VOCAB, dtype=np.float64), h)
        return self.head(output), h


def load_numpy_weights(model: CharRNN, weights: Weights) -> None:
    """The numpy loop's weights in the modules (bh as bias_ih, bias_hh zero)."""
    model.rnn.weight_ih_l0.data[...] = weights["Wxh"]
    model.rnn.weight_hh_l0.data[...] = weights["Whh"]
    model.rnn.bias_ih_l0.data[...] = weights["bh"][:, 0]
    model.rnn.bias_hh_l0.data[...] = 0.0
    model.head.weight.data[...] = weights["Why"]
    model.head.bias.data[...] = weights["by"][:, 0]


def make_engine_step(weights: Weights, data: Callable[[], tuple[np.ndarray, np.ndarray]],
                     batch: int, check: Check) -> Callable[[], float]:
    model = CharRNN()
    load_numpy_weights(model, weights)
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    state: dict[str, Any] = {"h": tr.Tensor(np.zeros((1, batch, HIDDEN)))}

    def step() -> float:
        inputs, targets = data()
        logits, h = model(inputs, state["h"])
        loss = functional.cross_entropy(logits, targets, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        state["h"] = h.detach()
        return loss.item()

    inputs, targets, expected_loss, expected_grads = check
    logits, _ = model(inputs, state["h"])
    loss = functional.cross_entropy(logits, targets, reduction="sum")
    loss.backward()
    _assert_close("tinygrad_rnn loss", loss.item(), expected_loss)
    rnn, head = model.rnn, model.head
    for name, got in (("Wxh", rnn.weight_ih_l0.grad), ("Whh", rnn.weight_hh_l0.grad),
                      ("Why", head.weight.grad)):
        _assert_close(f"tinygrad_rnn d{name}", got.numpy(), expected_grads[name])
    _assert_close("tinygrad_rnn dbh", rnn.bias_ih_l0.grad.numpy(), expected_grads["bh"][:, 0])
    _assert_close("tinygrad_rnn dby", head.bias.grad.numpy(), expected_grads["by"][:, 0])
    optimizer.zero_grad()
    return step


def make_torch_steps(weights: Weights, data: Callable[[], tuple[np.ndarray, np.ndarray]],
                     batch: int, check: Check) -> dict[str, Callable[[], float]]:
    """torch's manual unroll and fused nn.RNN, one thread, float64; {} if torch is missing."""
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)
    functional_torch = torch.nn.functional

    def parameters() -> dict[str, Any]:
        return {name: torch.tensor(value, requires_grad=True) for name, value in weights.items()}

    manual = parameters()
    manual_state = {"h": torch.zeros(batch, HIDDEN, dtype=torch.float64)}

    def manual_loss(inputs: np.ndarray, targets: np.ndarray, h: Any) -> tuple[Any, Any]:
        x = functional_torch.one_hot(torch.from_numpy(inputs), VOCAB).to(torch.float64)
        target = torch.from_numpy(targets)
        loss = 0.0
        for t in range(len(inputs)):
            h = torch.tanh(x[t] @ manual["Wxh"].T + h @ manual["Whh"].T + manual["bh"][:, 0])
            scores = h @ manual["Why"].T + manual["by"][:, 0]
            loss = loss + functional_torch.cross_entropy(scores, target[t], reduction="sum")
        return loss, h

    def manual_step() -> float:
        inputs, targets = data()
        loss, h = manual_loss(inputs, targets, manual_state["h"])
        for p in manual.values():
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in manual.values():
                p -= LEARNING_RATE * p.grad
        manual_state["h"] = h.detach()
        return loss.item()

    rnn = torch.nn.RNN(VOCAB, HIDDEN, dtype=torch.float64)
    head = torch.nn.Linear(HIDDEN, VOCAB, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(weights["Wxh"]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(weights["Whh"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(weights["bh"][:, 0]))
        rnn.bias_hh_l0.zero_()
        head.weight.copy_(torch.from_numpy(weights["Why"]))
        head.bias.copy_(torch.from_numpy(weights["by"][:, 0]))
    fused_parameters = [*rnn.parameters(), *head.parameters()]
    fused_optimizer = torch.optim.SGD(fused_parameters, lr=LEARNING_RATE)
    fused_state = {"h": torch.zeros(1, batch, HIDDEN, dtype=torch.float64)}

    def fused_loss(inputs: np.ndarray, targets: np.ndarray, h: Any) -> tuple[Any, Any]:
        x = functional_torch.one_hot(torch.from_numpy(inputs), VOCAB).to(torch.float64)
        output, h = rnn(x, h)
        logits = head(output)
        loss = functional_torch.cross_entropy(logits.reshape(-1, VOCAB),
                                              torch.from_numpy(targets).reshape(-1), reduction="sum")
        return loss, h

    def fused_step() -> float:
        inputs, targets = data()
        loss, h = fused_loss(inputs, targets, fused_state["h"])
        fused_optimizer.zero_grad()
        loss.backward()
        fused_optimizer.step()
        fused_state["h"] = h.detach()
        return loss.item()

    inputs, targets, expected_loss, expected_grads = check
    loss, _ = manual_loss(inputs, targets, manual_state["h"])
    loss.backward()
    _assert_close("torch unroll loss", loss.item(), expected_loss)
    for name, p in manual.items():
        _assert_close(f"torch unroll d{name}", p.grad.numpy(), expected_grads[name])
        p.grad = None
    loss, _ = fused_loss(inputs, targets, fused_state["h"])
    loss.backward()
    _assert_close("torch nn.RNN loss", loss.item(), expected_loss)
    _assert_close("torch nn.RNN dWhh", rnn.weight_hh_l0.grad.numpy(), expected_grads["Whh"])
    fused_optimizer.zero_grad()
    return {"torch unroll": manual_step, "torch nn.RNN": fused_step}


def _assert_close(what: str, got: Any, expected: Any) -> None:
    if not np.allclose(got, expected, rtol=1e-7, atol=1e-10):
        raise SystemExit(f"{what} differs from the numpy loop's: the benchmark is not comparing "
                         f"like with like")


def make_data(batch: int, seed: int) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """Random character sequences (T, B) and their next characters, a fresh pair per call."""
    rng = np.random.default_rng(seed)

    def data() -> tuple[np.ndarray, np.ndarray]:
        text = rng.integers(0, VOCAB, size=(STEPS + 1, batch))
        return text[:-1], text[1:]

    return data


def run(batch: int, rounds: int) -> str:
    """Time numpy against tinygrad_rnn at this batch size; returns the verdict line."""
    weights = make_weights(np.random.default_rng(0))
    print(f"char-RNN training step, vocab {VOCAB}, hidden {HIDDEN}, T={STEPS}, batch {batch}, "
          f"float64; median of {rounds} interleaved rounds (CPU time)")
    # Every candidate draws the same sequences: a data source of its own with one seed.
    candidates = {"numpy": make_numpy_step(weights, make_data(batch, 1), batch),
                  "tinygrad_rnn": make_engine_step(weights, make_data(batch, 1), batch,
                                                   _check(weights, batch))}
    medians = interleaved_medians(candidates, rounds, round_seconds=0.02)
    _print_ratios(medians)
    return verdict(f"char-RNN B={batch} (tinygrad_rnn / numpy)",
                   medians["tinygrad_rnn"] / medians["numpy"], TARGETS[batch])


def run_torch(batch: int, rounds: int) -> None:
    """Time numpy against torch's two forms at this batch size, if torch is installed."""
    weights = make_weights(np.random.default_rng(0))
    torch_steps = make_torch_steps(weights, make_data(batch, 1), batch, _check(weights, batch))
    if torch_steps:
        print(f"torch, batch {batch}:")
        candidates = {"numpy": make_numpy_step(weights, make_data(batch, 1), batch), **torch_steps}
        _print_ratios(interleaved_medians(candidates, rounds, round_seconds=0.02))


def _check(weights: Weights, batch: int) -> Check:
    """A batch with its numpy loss and gradients, which every candidate must reproduce."""
    inputs, targets = make_data(batch, 2)()
    loss, grads, _ = numpy_loss_and_grads(weights, inputs, targets, np.zeros((HIDDEN, batch)))
    return inputs, targets, loss, grads


def _print_ratios(medians: dict[str, float]) -> None:
    base = medians["numpy"]
    for name, seconds in medians.items():
        print(f"  {name:<13} {format_seconds(seconds):>10} per step  {seconds / base:5.2f}x numpy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="interleaved timing rounds")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32], choices=sorted(TARGETS))
    args = parser.parse_args()
    verdicts = [run(batch, args.rounds) for batch in args.batch]
    # torch runs last, against numpy again: importing it changes the process (threads, memory
    # allocation), which must not colour the comparisons above.
    for batch in args.batch:
        run_torch(batch, args.rounds)
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
