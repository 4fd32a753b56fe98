"""The malloc setting made on import: freed memory stays for the next step, unless opted out."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tinygrad_rnn import allocator

glibc = pytest.mark.skipif(
    not hasattr(os, "confstr") or not os.confstr("CS_GNU_LIBC_VERSION"), reason="needs glibc"
)

# Allocates and frees 8 MiB in arrays of 256 KiB, ten times; prints the page faults of the
# last nine rounds. Freed memory that malloc kept is reused without faulting it in again.
_ROUNDS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    {setup}
    def round_():
        arrays = [np.ones(32 * 1024) for _ in range(32)]
        del arrays
    round_()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(9):
        round_()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _faults(setup: str, **environment: str) -> int:
    env = {**os.environ, **environment}
    result = subprocess.run([sys.executable, "-c", _ROUNDS.format(setup=setup)], env=env,
                            capture_output=True, text=True, check=True)
    return int(result.stdout)


@glibc
def test_import_keeps_freed_memory_for_reuse() -> None:
    untouched = _faults("", **{allocator.ENVIRONMENT_VARIABLE: "0"})
    kept = _faults("import tinygrad_rnn")
    # 9 rounds x 8 MiB / 4 KiB pages = 18,432 faults when every round starts afresh.
    assert untouched > 9_000
    assert kept < untouched / 10


@glibc
def test_opting_out_leaves_malloc_alone() -> None:
    code = "import tinygrad_rnn; print(tinygrad_rnn.allocator.kept)"
    for value, expected in (("0", "False"), ("off", "False"), ("1", "True")):
        env = {**os.environ, allocator.ENVIRONMENT_VARIABLE: value}
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True)
        assert result.stdout.strip() == expected


@glibc
def test_keep_freed_memory_reports_the_change() -> None:
    assert allocator.keep_freed_memory() is True
    assert allocator.kept


@pytest.mark.parametrize("arguments", [
    {"mmap_threshold": 0}, {"mmap_threshold": 64 << 20}, {"trim_threshold": -1},
])
def test_out_of_range_limits_are_refused(arguments: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="threshold"):
        allocator.keep_freed_memory(**arguments)
