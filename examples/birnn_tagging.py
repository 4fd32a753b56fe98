"""Seed 002: tag each bit with x(t-1) + x(t+1); a BiRNN can, a left-to-right RNN cannot.

    python examples/birnn_tagging.py [--length T] [--steps N] [--out DIR] [--help]

The code is `tinygrad_rnn/examples/birnn_tagging.py` (also `tinygrad-rnn demo birnn_tagging`).
"""

from _common import run_script

if __name__ == "__main__":
    raise SystemExit(run_script("birnn_tagging"))
