"""Shared test set-up: the hypothesis profile (`ci` when CI is set) and float64 gradients."""

from tinygrad_rnn.testing.strategies import load_profile

load_profile()
