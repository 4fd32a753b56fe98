"""One random generator for the library, so that a seed makes a whole run reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator used by initialisers, dropout and `randn`/`rand`.

    >>> manual_seed(0)   # doctest: +ELLIPSIS
    Generator(...)
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The library's current random generator."""
    return _generator
