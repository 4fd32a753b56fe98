"""Seed 000: a two-step one-neuron RNN learns to echo the previous input, on both engines.

    python examples/echo.py [--steps N] [--engine scalar|tensor|both] [--out DIR] [--help]

The code is `tinygrad_rnn/examples/echo.py` (also run by `tinygrad-rnn demo echo`).
"""

from _common import run_script

if __name__ == "__main__":
    raise SystemExit(run_script("echo"))
