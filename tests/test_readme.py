"""The README cannot rot: every ```python block of README.md runs, in order, in one namespace.

Blocks run in a temporary folder, so files they write go nowhere, and the library's global
settings are restored afterwards.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.autograd.mode import state as thread_state
from tinygrad_rnn.random import generator

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(?:python|py)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
DOCUMENTS = [ROOT / "README.md"]


def python_blocks(markdown: str) -> list[str]:
    """The code of every ```python (or ```py) fenced block, in order."""
    return FENCE.findall(markdown)


def test_python_blocks_are_found_in_order_and_other_languages_skipped():
    markdown = ("text\n```python\na = 1\n```\n```bash\nrm -rf /\n```\n"
                "```py\nb = a + 1\n```\n    ```python\n    indented\n    ```\n")
    assert python_blocks(markdown) == ["a = 1\n", "b = a + 1\n"]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Run in an empty folder; put back the default dtype, the modes and the random generator."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    dtype = tr.get_default_dtype()
    random_state = generator().bit_generator.state
    numpy_state = np.random.get_state()
    modes = (thread_state.grad_enabled, thread_state.anomaly, thread_state.scope)
    yield
    tr.set_default_dtype(dtype)
    generator().bit_generator.state = random_state
    np.random.set_state(numpy_state)
    thread_state.grad_enabled, thread_state.anomaly, thread_state.scope = modes


def test_readme_has_python_blocks():
    assert python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_python_block_runs(document, isolated):
    namespace: dict[str, object] = {"__name__": "__main__"}
    for number, block in enumerate(python_blocks(document.read_text(encoding="utf-8")), start=1):
        code = compile(block, f"{document.relative_to(ROOT)} (python block {number})", "exec")
        exec(code, namespace)
