"""Keep freed memory for the next training step instead of handing it back to the system.

A training step builds a graph, frees all of it at the end, and allocates the same arrays
again in the next step. glibc's malloc (Linux) returns the freed top of its heap to the system
once more than a threshold is free there (128 KiB at first, adapted up to twice the largest
array freed so far), so each step touches its pages anew and pays a page fault per 4 KiB:
a third of a batch-32 char-RNN step. On import, tinygrad_rnn raises two limits of glibc's
malloc so that the freed memory stays in the process for reuse:

- arrays of up to 32 MiB come from the heap rather than from a fresh `mmap` each time, and
- up to 64 MiB of free heap is kept before any is returned.

A process therefore keeps up to 64 MiB more than it uses at any moment. Set the environment
variable `TINYGRAD_RNN_KEEP_FREED_MEMORY=0` before importing tinygrad_rnn to leave malloc as it
is, or call `keep_freed_memory` yourself with other limits. On other C libraries (macOS, musl)
nothing is changed.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["ENVIRONMENT_VARIABLE", "keep_freed_memory", "kept"]

ENVIRONMENT_VARIABLE = "TINYGRAD_RNN_KEEP_FREED_MEMORY"

# mallopt parameters, from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc rejects an mmap threshold above this on 64-bit systems.
_MAX_MMAP_THRESHOLD = 32 << 20

kept = False  # whether this process's malloc was set up by `keep_freed_memory`


def keep_freed_memory(trim_threshold: int = 64 << 20, mmap_threshold: int = 32 << 20) -> bool:
    """Ask glibc's malloc to keep up to `trim_threshold` bytes of freed memory, and to serve
    arrays below `mmap_threshold` bytes from its heap. Returns whether malloc was changed
    (False where the C library is not glibc).

    >>> keep_freed_memory(trim_threshold=256 << 20)  # doctest: +SKIP
    True
    """
    global kept
    if not 0 < mmap_threshold <= _MAX_MMAP_THRESHOLD:
        raise ValueError(f"mmap_threshold must be in (0, {_MAX_MMAP_THRESHOLD}], got {mmap_threshold}")
    if trim_threshold < 0:
        raise ValueError(f"trim_threshold must not be negative, got {trim_threshold}")
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    changed = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
    kept = kept or changed
    return changed


def _glibc_mallopt() -> ctypes._CFuncPtr | None:
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        glibc = None
    if not glibc:
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def _setup_on_import() -> None:
    if os.environ.get(ENVIRONMENT_VARIABLE, "1").strip().lower() not in ("0", "false", "no", "off"):
        keep_freed_memory()
