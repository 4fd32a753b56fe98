"""The echo example (seed 000): both engines learn the echo, and their updates follow eqs 7-19."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinygrad_rnn.examples import run_example
from tinygrad_rnn.examples.echo import PARAMETERS, EchoTrainer
from tinygrad_rnn.testing import references as ref

# Predicting the mean 0.5 of a uniform (0, 1) signal scores its variance, 1/12.
CONSTANT_GUESS_MSE = 1 / 12


def test_short_run_learns_the_echo_on_both_engines_and_draws_one_step(tmp_path):
    results = run_example("echo", ["--steps", "400", "--out", str(tmp_path), "--quiet"])

    assert results["scalar_test_mse"] < CONSTANT_GUESS_MSE / 4
    assert results["tensor_test_mse"] < CONSTANT_GUESS_MSE / 4
    names = {path.name for path in results["files"]}
    assert {"echo_scalar_step.dot", "echo_tensor_step.dot"} <= names
    source = (tmp_path / "echo_scalar_step.dot").read_text()
    for label in (*PARAMETERS, "x1", "x2", "y2", "h1", "s1", "h2", "s2", "z2", "loss"):
        assert f">{label}<" in source
    if shutil.which("dot"):
        assert "<svg" in (tmp_path / "echo_scalar_step.svg").read_text()


def test_progress_and_test_pairs_are_printed_unless_quiet(tmp_path, capsys):
    run_example("echo", ["--steps", "20", "--engine", "tensor", "--out", str(tmp_path)])
    printed = capsys.readouterr()
    assert "loss" in printed.out + printed.err
    lines = printed.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["x_{t-1}", "x_t", "target"])
    pairs = [[float(v) for v in line.split()] for line in lines[header + 1:header + 6]]
    for x_previous, x_now, target, _prediction in pairs:
        assert target == x_previous
        assert 0 < x_now < 1


@pytest.mark.parametrize("engine", ["scalar", "tensor"])
def test_one_sgd_step_moves_each_weight_by_the_seed_gradient(engine):
    weights = {"U": 0.5, "W": -0.7, "V": 1.2, "bh": 0.1, "bz": -0.2}
    x1 = np.array([0.3, 0.8, 0.1, 0.55])
    x2 = np.array([0.6, 0.2, 0.9, 0.45])
    trainer = EchoTrainer(weights, "sgd", lr=1.0, steps=1)

    if engine == "scalar":
        trainer.scalar_step(zip(x1.tolist(), x2.tolist()))
    else:
        trainer.tensor_step(x1, x2)

    grads = ref.echo_gradients(x1, x2, x1, **weights)
    mean_grad = {"U": grads.dU, "W": grads.dW, "V": grads.dV, "bh": grads.dbh, "bz": grads.dbz}
    for name in PARAMETERS:
        expected = weights[name] - np.mean(mean_grad[name])
        assert float(trainer.weights[name].data) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_the_adam_step_size_decays_to_zero_over_the_run():
    trainer = EchoTrainer(dict.fromkeys(PARAMETERS, 0.1), "adam", lr=0.05, steps=100)
    rates = []
    for step in (0, 50, 100):
        trainer.set_step(step)
        rates.append(trainer.optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx([0.05, 0.025, 0.0], abs=1e-12)


@pytest.mark.slow
def test_default_run_reaches_a_test_mse_below_1e_3_on_both_engines(tmp_path):
    results = run_example("echo", ["--out", str(tmp_path), "--quiet"])

    assert results["scalar_test_mse"] < 1e-3
    assert results["tensor_test_mse"] < 1e-3
