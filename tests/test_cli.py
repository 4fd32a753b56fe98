"""The `tinygrad-rnn` command line: help everywhere, the example list, one-line errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_rnn.cli import main
from tinygrad_rnn.examples import EXAMPLES

REPO = Path(__file__).resolve().parent.parent


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


def test_help_names_both_commands(capsys):
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "graph" in out


def test_list_names_every_example_with_its_seed(capsys):
    assert _exit_code(["demo", "--list"]) == 0
    out = capsys.readouterr().out
    for name, info in EXAMPLES.items():
        assert name in out
        assert f"seed {info.seed}" in out


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_has_help_with_the_common_options(name, capsys):
    assert _exit_code(["demo", name, "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--seed", "--out", "--quiet"):
        assert option in out


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["demo"],
    ["demo", "no_such_example"],
    ["demo", "echo", "--steps", "0"],
    ["demo", "echo", "--steps", "many"],
    ["demo", "echo", "--lr", "-1"],
    ["demo", "echo", "--engine", "gpu"],
    ["demo", "echo", "--no-such-option"],
    ["graph", "no_such_example"],
    ["graph", "echo", "--format", "gif"],
], ids=" ".join)
def test_bad_arguments_exit_2_with_one_line_and_no_traceback(argv, capsys):
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "error:" in err
    assert "Traceback" not in err


def test_a_user_error_while_running_is_one_line_and_exit_1(tmp_path, capsys):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("")
    assert _exit_code(["graph", "echo", "--out", str(not_a_folder)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("tinygrad-rnn: error:")


def test_graph_writes_the_dot_source_and_the_picture(tmp_path, capsys):
    assert _exit_code(["graph", "echo", "--out", str(tmp_path)]) == 0
    assert "digraph" in (tmp_path / "echo_graph.dot").read_text()
    if shutil.which("dot"):
        assert "<svg" in (tmp_path / "echo_graph.svg").read_text()
    assert str(tmp_path / "echo_graph.dot") in capsys.readouterr().out


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_graph_of_every_example_is_written_unrolled_and_rolled(name, tmp_path):
    for rolled in ([], ["--rolled"]):
        out = tmp_path / ("rolled" if rolled else "unrolled")
        assert _exit_code(["graph", name, *rolled, "--out", str(out)]) == 0
        assert (out / f"{name}_graph.dot").read_text().startswith("digraph")
        if shutil.which("dot"):
            assert "<svg" in (out / f"{name}_graph.svg").read_text()


def test_graph_without_graphviz_keeps_the_source_and_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert _exit_code(["graph", "echo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "apt-get install graphviz" in out
    assert (tmp_path / "echo_graph.dot").exists()
    assert not (tmp_path / "echo_graph.svg").exists()


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_python_dash_m_runs_the_command_line(tmp_path):
    done = _run(sys.executable, "-m", "tinygrad_rnn", "demo", "--list", cwd=tmp_path)
    assert done.returncode == 0
    assert "echo" in done.stdout


def test_python_dash_m_bad_argument_is_one_line_without_traceback(tmp_path):
    done = _run(sys.executable, "-m", "tinygrad_rnn", "demo", "echo", "--steps", "x", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("python -m tinygrad_rnn demo echo: error:")
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("tinygrad-rnn") is None, reason="package not installed as a script")
def test_console_script_lists_the_examples(tmp_path):
    done = _run("tinygrad-rnn", "demo", "--list", cwd=tmp_path)
    assert done.returncode == 0
    assert all(name in done.stdout for name in EXAMPLES)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_script_runs_from_any_folder(name, tmp_path):
    script = REPO / "examples" / f"{name}.py"
    done = _run(sys.executable, str(script), "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"python examples/{name}.py" in done.stdout
    bad = _run(sys.executable, str(script), "--seed", "x", cwd=tmp_path)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
