"""Lets the scripts in this folder run from a source checkout, installed or not."""

from __future__ import annotations

import sys
from pathlib import Path


def run_script(name: str) -> int:
    """Run example `name` of `tinygrad_rnn.examples` with this script's command-line options."""
    try:
        from tinygrad_rnn.cli import run_script as run
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tinygrad_rnn.cli import run_script as run
    return run(name)
