"""Seed 002: the norm of dL/dh_t over 100 steps for tanh, ReLU and LSTM cells.

    python examples/gradient_flow.py [--steps T] [--hidden H] [--out DIR] [--help]

The code is `tinygrad_rnn/examples/gradient_flow.py` (also `tinygrad-rnn demo gradient_flow`).
"""

from _common import run_script

if __name__ == "__main__":
    raise SystemExit(run_script("gradient_flow"))
