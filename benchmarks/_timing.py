"""Timing helpers shared by the benchmarks: interleaved rounds, medians, verdict lines.

Each benchmark sets the BLAS thread variables to 1 before it imports numpy (this module does
not import numpy), so every figure is single-threaded.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def interleaved_medians(
    candidates: dict[str, Callable[[], object]],
    rounds: int,
    round_seconds: float = 1e-3,
    warmup: int = 3,
    charge_garbage: bool = False,
) -> dict[str, float]:
    """Median seconds per call of each candidate, timed round-robin.

    Times are CPU seconds of this process (`time.process_time`): they leave out the time the
    machine's scheduler gives to other processes, and every round times each candidate in
    turn, so what load remains (shared caches, a busy host) falls on all alike.

    Each candidate makes as many calls per round as fill about `round_seconds` (at least one),
    so that rounds are of similar length whatever the candidate's speed.

    The cyclic garbage collector runs as it would in any program. With `charge_garbage`, each
    turn also ends with a full collection, timed: a candidate that leaves reference cycles
    (which only the collector frees) pays for them instead of whoever runs next.
    """
    calls = {name: _calls_filling(fn, round_seconds, warmup) for name, fn in candidates.items()}
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            count = calls[name]
            start = time.process_time()
            for _ in range(count):
                fn()
            if charge_garbage:
                gc.collect()
            samples[name].append((time.process_time() - start) / count)
    return {name: statistics.median(times) for name, times in samples.items()}


def _calls_filling(fn: Callable[[], object], seconds: float, warmup: int) -> int:
    """How many calls of `fn` take about `seconds` (after `warmup` untimed calls); 1 if `seconds`
    is 0, for candidates slow enough to time one call at a time."""
    for _ in range(warmup):
        fn()
    if seconds <= 0:
        return 1
    times = []
    for _ in range(5):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return max(1, round(seconds / min(times)))


def verdict(label: str, figure: float, target: float, unit: str = "x", higher_is_better: bool = False) -> str:
    """One line: the figure, the target and PASS or MISS."""
    passed = figure >= target if higher_is_better else figure <= target
    bound = ">=" if higher_is_better else "<="
    return f"{label}: {figure:.2f}{unit} (target {bound} {target:g}{unit}) {'PASS' if passed else 'MISS'}"


def format_seconds(seconds: float) -> str:
    """A duration in the unit that reads best: '12.3 us', '4.56 ms', '1.75 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
