"""Seed 004: the worked 3-step forward pass of a 2-unit tanh RNN, printed value by value.

    python examples/forward_table.py [--out DIR] [--help]

The code is `tinygrad_rnn/examples/forward_table.py` (also `tinygrad-rnn demo forward_table`).
"""

from _common import run_script

if __name__ == "__main__":
    raise SystemExit(run_script("forward_table"))
