"""One random generator for the library, so that a seed makes a whole run reproducible."""

from __future__ import annotations

import threading

import numpy as np

_generator = np.random.default_rng()
_thread = threading.local()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator used by initialisers, dropout and `randn`/`rand`.

    >>> manual_seed(0)   # doctest: +ELLIPSIS
    Generator(...)
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The generator the calling thread draws from: its own inside `thread_generator`, else
    the library's."""
    own = getattr(_thread, "generator", None)
    return _generator if own is None else own


class thread_generator:
    """Inside this block the calling thread draws from its own generator, seeded with `seed`.

    Threads that share the library's generator interleave their draws in whatever order they
    run, so dropout in two concurrent trainings is not reproducible; give each thread its own.
    Other threads, and `manual_seed`, are unaffected.

    >>> with thread_generator(1):   # doctest: +SKIP
    ...     loss = train(model)          # dropout masks depend on the seed only
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> np.random.Generator:
        self._previous = getattr(_thread, "generator", None)
        _thread.generator = np.random.default_rng(self.seed)
        return _thread.generator

    def __exit__(self, *exc: object) -> None:
        _thread.generator = self._previous
