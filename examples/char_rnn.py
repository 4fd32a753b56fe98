"""Seed 001 / min-char-rnn: a character-level RNN or LSTM language model on a public-domain text.

    python examples/char_rnn.py [--model rnn|lstm] [--optim adam|adagrad] [--text FILE]
                                [--steps N] [--resume] [--out DIR] [--help]

The code is `tinygrad_rnn/examples/char_rnn.py` (also `tinygrad-rnn demo char_rnn`).
"""

from _common import run_script

if __name__ == "__main__":
    raise SystemExit(run_script("char_rnn"))
