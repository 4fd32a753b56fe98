"""Threads: grad mode and anomaly mode belong to one thread, and models trained in parallel
threads come out exactly as if trained one after the other."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import AnomalyError, Tensor, nn, optim
from tinygrad_rnn.nn import functional


def run_in_thread(work: Callable[[], Any]) -> Any:
    """`work()` in a new thread; its result, or its exception re-raised here."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed to the calling thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def test_no_grad_in_one_thread_leaves_another_recording():
    x = Tensor(np.ones(3), requires_grad=True)
    with tr.no_grad():
        assert not (x * 2).requires_grad
        assert run_in_thread(lambda: (tr.is_grad_enabled(), (x * 2).requires_grad)) == (True, True)
        assert not tr.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_in_a_worker_thread_does_not_leak_into_the_caller():
    def worker() -> bool:
        tr.set_grad_enabled(False)
        return (Tensor(np.ones(2), requires_grad=True) * 2).requires_grad

    assert run_in_thread(worker) is False
    assert tr.is_grad_enabled()


def test_anomaly_mode_in_one_thread_does_not_affect_another():
    def log_of_zero() -> np.ndarray:
        with np.errstate(divide="ignore"):
            return Tensor(np.zeros(1)).log().data

    with tr.detect_anomaly():
        assert np.isneginf(run_in_thread(log_of_zero)).all()
        with pytest.raises(AnomalyError):
            log_of_zero()

    def turned_on_here() -> None:
        tr.set_detect_anomaly(True)
        log_of_zero()

    with pytest.raises(AnomalyError):
        run_in_thread(turned_on_here)
    assert not tr.is_anomaly_enabled()
    assert np.isneginf(log_of_zero()).all()


def make_training(seed: int, steps: int) -> Callable[[list[int] | None], list[np.ndarray]]:
    """A model, data and optimizer built now from `seed`; the returned function trains it (with
    dropout drawn from its own thread generator) and gives every step's loss, then the final
    parameters. It appends `seed` to `log` after each step."""
    tr.manual_seed(seed)
    rnn, head = nn.LSTM(3, 5, num_layers=2, dropout=0.3), nn.Linear(5, 4)
    parameters = [*rnn.parameters(), *head.parameters()]
    optimizer = optim.Adam(parameters, lr=1e-2)
    rng = np.random.default_rng(seed)
    inputs = Tensor(rng.standard_normal((6, 2, 3)).astype(np.float32))
    targets = rng.integers(0, 4, size=(6, 2))

    def train(log: list[int] | None = None) -> list[np.ndarray]:
        losses = []
        with tr.random.thread_generator(seed):
            for _ in range(steps):
                output, _ = rnn(inputs)
                loss = functional.cross_entropy(head(output), targets)
                optimizer.zero_grad()
                loss.backward()
                optim.clip_grad_norm_(parameters, 1.0)
                optimizer.step()
                losses.append(loss.data.copy())
                if log is not None:
                    log.append(seed)
        return losses + [p.data.copy() for p in parameters]

    return train


@pytest.fixture
def frequent_thread_switches():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def test_two_models_trained_in_parallel_threads_match_training_them_in_turn(frequent_thread_switches):
    steps = 30
    sequential = [make_training(seed, steps)() for seed in (1, 2)]

    trainings = [make_training(seed, steps) for seed in (1, 2)]
    results: list[Any] = [None, None]
    order: list[int] = []
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        start.wait()
        results[index] = trainings[index](order)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    switches = sum(a != b for a, b in itertools.pairwise(order))
    assert switches >= 2, "the two trainings did not interleave"
    for alone, together in zip(sequential, results):
        assert together is not None
        assert len(alone) == len(together)
        for a, b in zip(alone, together):
            assert a.tobytes() == b.tobytes()
    assert sequential[0][0].tobytes() != sequential[1][0].tobytes()


def test_thread_generator_gives_the_thread_its_own_stream_and_leaves_the_shared_one_alone():
    x = tr.ones(50, 4)
    with tr.random.thread_generator(7):
        alone = functional.dropout(x, 0.5).data
    shared = tr.manual_seed(0)
    with tr.random.thread_generator(7):
        again = functional.dropout(x, 0.5).data
        from_other_thread = run_in_thread(lambda: tr.randn(10, dtype=np.float64).data)
    np.testing.assert_array_equal(alone, again)
    np.testing.assert_array_equal(from_other_thread, np.random.default_rng(0).standard_normal(10))
    assert tr.random.generator() is shared
