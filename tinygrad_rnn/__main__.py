"""`python -m tinygrad_rnn`: the `tinygrad-rnn` command line."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m tinygrad_rnn"))
