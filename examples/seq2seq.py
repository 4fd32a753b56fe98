"""Seed 003: sequence-to-vector, vector-to-sequence, and an encoder-decoder with attention.

    python examples/seq2seq.py [--steps N] [--max-length T] [--out DIR] [--help]

The code is `tinygrad_rnn/examples/seq2seq.py` (also `tinygrad-rnn demo seq2seq`).
"""

from _common import run_script

if __name__ == "__main__":
    raise SystemExit(run_script("seq2seq"))
