"""Fit y = tanh(x @ w) with plain gradient descent on the Tensor engine, then draw nothing yet."""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tr


def main() -> None:
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((64, 3)))
    true_w = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    y = tr.Tensor(np.tanh(x.numpy() @ true_w))
    w = tr.Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    for step in range(201):
        loss = ((x @ w).tanh() - y).pow(2).mean()
        w.grad = None
        loss.backward()
        w.data -= 0.5 * w.grad.numpy()
        if step % 50 == 0:
            print(f"step {step:3d}  loss {loss.item():.6f}")
    print("learned w:", np.round(w.numpy(), 3), " true w:", true_w)


if __name__ == "__main__":
    main()
