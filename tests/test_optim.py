"""Optimizers against the published update formulas (numpy, written here) and torch.optim;
gradient clipping; truncated backpropagation through time."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.optim import SGD, Adagrad, Adam, AdamW, RMSprop, clip_grad_norm_, clip_grad_value_
from tinygrad_rnn.testing import references as ref

OPTIMIZERS = {"SGD": SGD, "Adagrad": Adagrad, "RMSprop": RMSprop, "Adam": Adam, "AdamW": AdamW}

# -- the published formulas, one step for one parameter, in plain numpy ------------------------------


def reference_step(name: str, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                   h: dict[str, Any]) -> np.ndarray:
    """The new value of p after one step; `state` carries what the formula remembers."""
    t = state["t"] = state.get("t", 0) + 1
    if name == "SGD":
        g = g + h.get("weight_decay", 0.0) * p
        mu = h.get("momentum", 0.0)
        if mu != 0:
            b = g if t == 1 else mu * state["b"] + (1 - h.get("dampening", 0.0)) * g
            state["b"] = b
            g = g + mu * b if h.get("nesterov", False) else b
        return p - h["lr"] * g
    if name == "Adagrad":
        g = g + h.get("weight_decay", 0.0) * p
        state["G"] = state.get("G", np.full_like(p, h.get("initial_accumulator_value", 0.0))) + g ** 2
        lr_t = h["lr"] / (1 + (t - 1) * h.get("lr_decay", 0.0))
        return p - lr_t * g / (np.sqrt(state["G"]) + h.get("eps", 1e-10))
    if name == "RMSprop":
        alpha, eps = h.get("alpha", 0.99), h.get("eps", 1e-8)
        g = g + h.get("weight_decay", 0.0) * p
        state["v"] = alpha * state.get("v", 0.0) + (1 - alpha) * g ** 2
        if h.get("centered", False):
            state["mean"] = alpha * state.get("mean", 0.0) + (1 - alpha) * g
            scale = np.sqrt(state["v"] - state["mean"] ** 2) + eps
        else:
            scale = np.sqrt(state["v"]) + eps
        if h.get("momentum", 0.0) > 0:
            state["b"] = h["momentum"] * state.get("b", 0.0) + g / scale
            return p - h["lr"] * state["b"]
        return p - h["lr"] * g / scale
    # Adam (Kingma & Ba, with L2 in the gradient) and AdamW (Loshchilov & Hutter, decoupled)
    lr, eps = h.get("lr", 1e-3), h.get("eps", 1e-8)
    beta1, beta2 = h.get("betas", (0.9, 0.999))
    decay = h.get("weight_decay", 1e-2 if name == "AdamW" else 0.0)
    if name == "AdamW":
        p = p * (1 - lr * decay)
    else:
        g = g + decay * p
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g ** 2
    v = state["v"]
    if h.get("amsgrad", False):
        v = state["v_max"] = np.maximum(state.get("v_max", 0.0), v)
    m_hat = state["m"] / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


# -- a small problem with coupled parameters ------------------------------------------------------


class Problem:
    """L = 1/2 sum(a (P - C)^2) + 1/2 |P v - d|^2, with its gradient written out by hand."""

    def __init__(self, seed: int, dtype: Any = np.float64) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.uniform(0.5, 2.0, size=(2, 3))
        self.C = rng.normal(size=(2, 3))
        self.d = rng.normal(size=2)
        self.start = [rng.normal(size=(2, 3)).astype(dtype), rng.normal(size=3).astype(dtype)]

    def loss(self, P: Any, v: Any) -> Any:
        residual = P @ v - self.d
        return 0.5 * (self.a * (P - self.C) ** 2).sum() + 0.5 * (residual * residual).sum()

    def gradients(self, P: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
        residual = P @ v - self.d
        return [self.a * (P - self.C) + np.outer(residual, v), P.T @ residual]


def engine_trajectory(name: str, hyper: dict[str, Any], problem: Problem,
                      steps: int) -> list[list[np.ndarray]]:
    params = [tr.Tensor(p.copy(), requires_grad=True) for p in problem.start]
    optimizer = OPTIMIZERS[name](params, **hyper)
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        problem.loss(*params).backward()
        optimizer.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory


def reference_trajectory(name: str, hyper: dict[str, Any], problem: Problem,
                         steps: int) -> list[list[np.ndarray]]:
    params = [p.astype(np.float64) for p in problem.start]
    states: list[dict[str, Any]] = [{}, {}]
    trajectory = []
    for _ in range(steps):
        grads = problem.gradients(*params)
        params = [reference_step(name, p, g, s, hyper) for p, g, s in zip(params, grads, states)]
        trajectory.append(params)
    return trajectory


small = st.floats(0.0, 0.1)
hyperparameters = {
    "SGD": st.fixed_dictionaries({"lr": st.floats(1e-3, 0.1)}, optional={
        "momentum": st.floats(0.0, 0.95), "dampening": st.floats(0.0, 0.5), "weight_decay": small}),
    "SGD-nesterov": st.fixed_dictionaries({"lr": st.floats(1e-3, 0.1), "momentum": st.floats(0.1, 0.95),
                                           "nesterov": st.just(True), "weight_decay": small}),
    "Adagrad": st.fixed_dictionaries({"lr": st.floats(1e-2, 0.5)}, optional={
        "lr_decay": small, "weight_decay": small, "initial_accumulator_value": st.floats(0.0, 0.5),
        "eps": st.floats(1e-10, 1e-6)}),
    "RMSprop": st.fixed_dictionaries({"lr": st.floats(1e-3, 0.05)}, optional={
        "alpha": st.floats(0.5, 0.99), "eps": st.floats(1e-8, 1e-6), "weight_decay": small,
        "momentum": st.floats(0.0, 0.9), "centered": st.booleans()}),
    "Adam": st.fixed_dictionaries({"lr": st.floats(1e-3, 0.1)}, optional={
        "betas": st.tuples(st.floats(0.0, 0.95), st.floats(0.5, 0.999)), "eps": st.floats(1e-8, 1e-6),
        "weight_decay": small, "amsgrad": st.booleans()}),
}
hyperparameters["AdamW"] = hyperparameters["Adam"]


@pytest.mark.parametrize("label", sorted(hyperparameters))
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=40)
def test_trajectory_follows_the_published_update_formula(label: str, data: st.DataObject, seed: int) -> None:
    name = label.split("-")[0]
    hyper = data.draw(hyperparameters[label])
    problem = Problem(seed)
    engine = engine_trajectory(name, hyper, problem, steps=6)
    expected = reference_trajectory(name, hyper, problem, steps=6)
    for step, (got, want) in enumerate(zip(engine, expected)):
        for index, (g, w) in enumerate(zip(got, want)):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name} {hyper}: parameter {index} after step {step + 1}")


TORCH_CONFIGS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adagrad", {"lr": 0.3, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "hyper"), TORCH_CONFIGS)
def test_trajectory_matches_torch_optim(name: str, hyper: dict[str, Any], dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    problem = Problem(seed=7, dtype=dtype)
    ours = engine_trajectory(name, hyper, problem, steps=8)
    params = [torch.tensor(p.copy(), requires_grad=True) for p in problem.start]
    optimizer = getattr(torch.optim, name)(params, **hyper)
    a, C, d = (torch.tensor(v, dtype=params[0].dtype) for v in (problem.a, problem.C, problem.d))
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    for step in range(8):
        optimizer.zero_grad()
        residual = params[0] @ params[1] - d
        (0.5 * (a * (params[0] - C) ** 2).sum() + 0.5 * (residual * residual).sum()).backward()
        optimizer.step()
        for ours_p, torch_p in zip(ours[step], params):
            np.testing.assert_allclose(ours_p, torch_p.detach().numpy(), rtol=rtol, atol=rtol,
                                       err_msg=f"{name} {hyper} step {step + 1}")


def _torch_step(torch: Any, optimizer: Any, params: list[Any], problem: Problem) -> None:
    optimizer.zero_grad()
    P, v = params
    residual = P @ v - torch.tensor(problem.d, dtype=P.dtype)
    a, C = (torch.tensor(value, dtype=P.dtype) for value in (problem.a, problem.C))
    (0.5 * (a * (P - C) ** 2).sum() + 0.5 * (residual * residual).sum()).backward()
    optimizer.step()


@pytest.mark.torch
@pytest.mark.parametrize(("name", "hyper"), TORCH_CONFIGS)
def test_a_torch_optim_state_dict_resumes_here(name: str, hyper: dict[str, Any]) -> None:
    # torch trains 3 steps; its state dict, tensors as arrays, continues here for 3 more steps
    # and must follow the path torch itself takes.
    torch = pytest.importorskip("torch")
    problem = Problem(seed=3)
    torch_params = [torch.tensor(p.copy(), requires_grad=True) for p in problem.start]
    torch_optimizer = getattr(torch.optim, name)(torch_params, **hyper)
    for _ in range(3):
        _torch_step(torch, torch_optimizer, torch_params, problem)
    saved = torch_optimizer.state_dict()
    state = {key: {entry: value.numpy() if isinstance(value, torch.Tensor) else value
                   for entry, value in entries.items()} for key, entries in saved["state"].items()}
    params = [tr.Tensor(p.detach().numpy().copy(), requires_grad=True) for p in torch_params]
    optimizer = OPTIMIZERS[name](params, **hyper)
    optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    for _ in range(3):
        _torch_step(torch, torch_optimizer, torch_params, problem)
        optimizer.zero_grad()
        problem.loss(*params).backward()
        optimizer.step()
    for ours, theirs in zip(params, torch_params):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("flag", "value"), [
    ("maximize", True), ("fused", True), ("capturable", True), ("differentiable", True),
    ("decoupled_weight_decay", True),
])
def test_torch_flags_asking_for_another_computation_are_refused(flag: str, value: Any) -> None:
    P, v = tr.Tensor(np.ones((2, 3)), requires_grad=True), tr.Tensor(np.ones(3), requires_grad=True)
    optimizer = Adam([P, v], lr=0.1)
    (P.sum() + v.sum()).backward()
    optimizer.step()
    saved = optimizer.state_dict()
    saved["param_groups"][0].update({"foreach": None, flag: value})
    before = optimizer.state_dict()
    with pytest.raises(tr.StateDictError, match=f"{flag}={value!r} is not supported"):
        optimizer.load_state_dict(saved)
    assert optimizer.state_dict()["param_groups"] == before["param_groups"]


@pytest.mark.parametrize(("name", "hyper"), [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adagrad", {"lr": 0.5}), ("RMSprop", {"lr": 0.01, "alpha": 0.9}), ("Adam", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.0}),
])
def test_optimizer_converges_on_a_quadratic(name: str, hyper: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    curvature, minimum = rng.uniform(0.5, 2.0, size=5), rng.normal(size=5)
    x = tr.Tensor(np.zeros(5), requires_grad=True)
    optimizer = OPTIMIZERS[name]([x], **hyper)
    start = float(0.5 * (curvature * minimum ** 2).sum())
    for _ in range(400):
        optimizer.zero_grad()
        loss = 0.5 * (curvature * (x - minimum) ** 2).sum()
        loss.backward()
        optimizer.step()
    assert float(loss.item()) < 1e-4 * start
    np.testing.assert_allclose(x.data, minimum, atol=0.05)


# -- behaviour shared by every optimizer -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_parameter_without_gradient_is_skipped(name: str) -> None:
    used = tr.Tensor(np.ones(3), requires_grad=True)
    unused = tr.Tensor(np.full(2, 5.0), requires_grad=True)
    optimizer = OPTIMIZERS[name]([used, unused], lr=0.1)
    (used * used).sum().backward()
    version = unused._version
    optimizer.step()
    assert unused.data.tolist() == [5.0, 5.0]
    assert unused._version == version
    assert unused not in optimizer.state
    assert not np.array_equal(used.data, np.ones(3))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_updates_in_place_without_building_a_graph(name: str) -> None:
    p = tr.Tensor(np.ones(3), requires_grad=True)
    buffer = p.data
    optimizer = OPTIMIZERS[name]([p], lr=0.1)
    (p * p).sum().backward()
    version = p._version
    optimizer.step()
    assert p.data is buffer
    assert p.is_leaf and p.requires_grad
    assert p._version > version


def test_step_after_forward_makes_that_graph_refuse_backward() -> None:
    p = tr.Tensor(np.ones(3), requires_grad=True)
    optimizer = SGD([p], lr=0.1)
    (p * p).sum().backward()
    loss = (p * p).sum()      # Mul saved p's data
    optimizer.step()          # ... which the step then changed
    with pytest.raises(tr.InplaceModificationError):
        loss.backward()


def test_zero_grad_sets_none_or_zeros() -> None:
    p = tr.Tensor(np.ones(2), requires_grad=True)
    optimizer = SGD([p], lr=0.1)
    (p * 3).sum().backward()
    optimizer.zero_grad(set_to_none=False)
    assert p.grad.data.tolist() == [0.0, 0.0]
    optimizer.zero_grad()
    assert p.grad is None


def test_closure_is_evaluated_and_its_loss_returned() -> None:
    p = tr.Tensor(np.array([2.0]), requires_grad=True)
    optimizer = SGD([p], lr=0.25)

    def closure() -> tr.Tensor:
        optimizer.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tr.no_grad():
        loss = optimizer.step(closure)
    assert loss.item() == 4.0
    assert p.data.tolist() == [2.0 - 0.25 * 4.0]


def test_param_groups_have_their_own_hyperparameters() -> None:
    problem = Problem(seed=3)
    P, v = (tr.Tensor(p.copy(), requires_grad=True) for p in problem.start)
    optimizer = SGD([{"params": [P]}, {"params": [v], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert optimizer.param_groups[0]["momentum"] == 0.0 and optimizer.param_groups[1]["lr"] == 0.01
    states: list[dict[str, Any]] = [{}, {}]
    expected = [p.copy() for p in problem.start]
    for _ in range(3):
        optimizer.zero_grad()
        problem.loss(P, v).backward()
        optimizer.step()
        grads = problem.gradients(*expected)
        expected = [reference_step("SGD", expected[0], grads[0], states[0], {"lr": 0.1}),
                    reference_step("SGD", expected[1], grads[1], states[1], {"lr": 0.01, "momentum": 0.5})]
    np.testing.assert_allclose(P.data, expected[0], rtol=1e-12)
    np.testing.assert_allclose(v.data, expected[1], rtol=1e-12)


def test_module_parameters_train_with_an_optimizer() -> None:
    tr.manual_seed(0)
    model = nn.Linear(3, 1)
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.normal(size=(32, 3)))
    y = tr.Tensor(x.data @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3)
    optimizer = Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(model.weight.data, [[1.0, -2.0, 0.5]], atol=1e-2)
    np.testing.assert_allclose(model.bias.data, [0.3], atol=1e-2)


class CharModel(nn.Module):
    def __init__(self, vocab: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 4)
        self.rnn = nn.RNN(4, hidden)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens: np.ndarray) -> tr.Tensor:
        output, _ = self.rnn(self.embed(tokens))
        return self.head(output)


def train_steps(model: CharModel, optimizer: Any, steps: int) -> list[float]:
    tokens = np.array([[0, 1], [2, 3], [1, 0], [3, 2], [0, 2]])  # (T, B)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        logits = model(tokens[:-1])
        loss = nn.functional.cross_entropy(logits, tokens[1:])
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", ["Adagrad", "Adam", "RMSprop"])
def test_checkpoint_of_model_and_optimizer_resumes_training_exactly(name: str, tmp_path: Any) -> None:
    tr.manual_seed(0)
    model = CharModel(vocab=4, hidden=6)
    optimizer = OPTIMIZERS[name](model.parameters(), lr=0.05)
    train_steps(model, optimizer, 3)
    tr.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "ckpt.npz")
    expected = train_steps(model, optimizer, 4)

    tr.manual_seed(1)
    restored = CharModel(vocab=4, hidden=6)
    restored_optimizer = OPTIMIZERS[name](restored.parameters(), lr=0.05)
    checkpoint = tr.load(tmp_path / "ckpt.npz")
    restored.load_state_dict(checkpoint["model"])
    restored_optimizer.load_state_dict(checkpoint["optimizer"])
    assert train_steps(restored, restored_optimizer, 4) == expected
    assert expected[-1] < expected[0]


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_empty_parameter_list_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="empty parameter list"):
        OPTIMIZERS[name]([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        OPTIMIZERS[name](iter(()), lr=0.1)


@pytest.mark.parametrize(("name", "hyper", "argument"), [
    ("SGD", {"lr": -0.1}, "lr"), ("SGD", {"lr": 0.1, "momentum": -0.5}, "momentum"),
    ("SGD", {"lr": 0.1, "weight_decay": -1.0}, "weight_decay"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "nesterov"),
    ("SGD", {"lr": float("nan")}, "lr"),
    ("Adagrad", {"lr": -1.0}, "lr"), ("Adagrad", {"lr": 0.1, "eps": -1e-3}, "eps"),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    ("RMSprop", {"lr": 0.1, "alpha": -0.1}, "alpha"), ("RMSprop", {"lr": 0.1, "momentum": -0.1}, "momentum"),
    ("Adam", {"lr": -1e-3}, "lr"), ("Adam", {"betas": (1.0, 0.999)}, "betas"),
    ("Adam", {"betas": (0.9, -0.1)}, "betas"), ("AdamW", {"betas": (0.9, 1.5)}, "betas"),
    ("AdamW", {"weight_decay": -0.1}, "weight_decay"),
])
def test_invalid_hyperparameter_is_named(name: str, hyper: dict[str, Any], argument: str) -> None:
    p = tr.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=f"{name}: invalid {argument}"):
        OPTIMIZERS[name]([p], **hyper)


def test_bad_parameters_are_refused_with_a_reason() -> None:
    p = tr.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="parameter 1 is a ndarray"):
        SGD([p, np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        SGD([{"params": [p], "betas": (0.9, 0.99)}], lr=0.1)
    with pytest.raises(TypeError, match="wrap a single param group in a list"):
        SGD({"params": [p]}, lr=0.1)


def test_failed_add_param_group_leaves_the_optimizer_unchanged() -> None:
    p, q = tr.Tensor(np.ones(2), requires_grad=True), tr.Tensor(np.ones(2), requires_grad=True)
    optimizer = Adam([p], lr=0.1)
    with pytest.raises(ValueError, match="invalid lr"):
        optimizer.add_param_group({"params": [q], "lr": -1.0})
    assert len(optimizer.param_groups) == 1
    optimizer.add_param_group({"params": [q], "lr": 0.5})
    assert optimizer.param_groups[1]["lr"] == 0.5 and optimizer.param_groups[1]["betas"] == (0.9, 0.999)


# -- state dicts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "hyper"), [(name, hyper) for name, hyper in TORCH_CONFIGS])
def test_state_dict_resumes_the_same_trajectory_through_a_file(name: str, hyper: dict[str, Any],
                                                              tmp_path: Any) -> None:
    problem = Problem(seed=11)
    straight = engine_trajectory(name, hyper, problem, steps=6)

    params = [tr.Tensor(p.copy(), requires_grad=True) for p in problem.start]
    optimizer = OPTIMIZERS[name](params, **hyper)
    for _ in range(3):
        optimizer.zero_grad()
        problem.loss(*params).backward()
        optimizer.step()
    tr.save({"params": [p.data for p in params], "optimizer": optimizer.state_dict()}, tmp_path / "ckpt.npz")
    for _ in range(2):  # training on changes nothing that was saved
        optimizer.zero_grad()
        problem.loss(*params).backward()
        optimizer.step()

    checkpoint = tr.load(tmp_path / "ckpt.npz")
    resumed = [tr.Tensor(array, requires_grad=True) for array in checkpoint["params"]]
    fresh = OPTIMIZERS[name](resumed, lr=123.0)
    fresh.load_state_dict(checkpoint["optimizer"])
    assert fresh.param_groups[0]["lr"] == hyper["lr"]
    for step in range(3, 6):
        fresh.zero_grad()
        problem.loss(*resumed).backward()
        fresh.step()
        for got, want in zip(resumed, straight[step]):
            np.testing.assert_array_equal(got.data, want)


def test_state_dict_has_pytorch_layout() -> None:
    P, v = tr.Tensor(np.ones((2, 3)), requires_grad=True), tr.Tensor(np.ones(3), requires_grad=True)
    optimizer = Adam([{"params": [P]}, {"params": [v], "lr": 0.5}], lr=0.1)
    (P.sum() + v.sum()).backward()
    optimizer.step()
    state = optimizer.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.5
    assert sorted(state["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert state["state"][1]["step"] == 1 and state["state"][0]["exp_avg"].shape == (2, 3)
    state["state"][0]["exp_avg"][...] = 99.0  # a copy: the optimizer is not affected
    assert optimizer.state[P]["exp_avg"][0, 0] != 99.0


def test_mismatched_state_dict_lists_problems_and_changes_nothing() -> None:
    P, v = tr.Tensor(np.ones((2, 3)), requires_grad=True), tr.Tensor(np.ones(3), requires_grad=True)
    optimizer = Adam([P, v], lr=0.1)
    (P.sum() + v.sum()).backward()
    optimizer.step()
    before = optimizer.state_dict()
    bad = optimizer.state_dict()
    bad["state"][0]["exp_avg"] = np.zeros((3, 2))
    bad["param_groups"][0]["betas"] = (0.9, 2.0)
    bad["param_groups"][0]["lr"] = 0.9
    with pytest.raises(tr.StateDictError, match=r"shape \(3, 2\).*|betas") as caught:
        optimizer.load_state_dict(bad)
    assert "(3, 2)" in str(caught.value) and "betas" in str(caught.value)
    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])
    with pytest.raises(tr.StateDictError, match="2 param groups"):
        optimizer.load_state_dict({"state": {}, "param_groups": before["param_groups"] * 2})


# -- gradient clipping --------------------------------------------------------------------------------

gradient_lists = st.lists(
    st.tuples(st.integers(1, 4), st.integers(1, 3)).flatmap(
        lambda shape: st.lists(st.floats(-10, 10), min_size=shape[0] * shape[1],
                               max_size=shape[0] * shape[1]).map(
            lambda values, shape=shape: np.array(values).reshape(shape))),
    min_size=1, max_size=4)


def with_grads(grads: list[np.ndarray]) -> list[tr.Tensor]:
    params = []
    for g in grads:
        p = tr.Tensor(np.zeros_like(g), requires_grad=True)
        p.grad = tr.Tensor(g.copy())
        params.append(p)
    return params


@given(gradient_lists, st.sampled_from([1.0, 2.0, 3.0, math.inf]), st.floats(0.01, 20.0))
def test_clip_grad_norm_returns_the_joint_norm_and_scales_to_max_norm(
        grads: list[np.ndarray], norm_type: float, max_norm: float) -> None:
    params = with_grads(grads)
    joint = np.concatenate([g.ravel() for g in grads])
    expected_norm = np.linalg.norm(joint, ord=norm_type)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(expected_norm, rel=1e-12, abs=1e-12)
    factor = max_norm / (expected_norm + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.data, g * min(factor, 1.0), rtol=1e-12)
    clipped = np.linalg.norm(np.concatenate([p.grad.data.ravel() for p in params]), ord=norm_type)
    assert clipped <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_below_the_limit_leaves_gradients_alone() -> None:
    params = with_grads([np.array([3.0, 4.0])])
    grad = params[0].grad.data
    assert clip_grad_norm_(params, 5.1) == 5.0
    assert params[0].grad.data is grad and grad.tolist() == [3.0, 4.0]


def test_clip_grad_norm_skips_missing_gradients_and_accepts_one_tensor() -> None:
    params = with_grads([np.array([6.0, 8.0])])
    lonely = tr.Tensor(np.ones(2), requires_grad=True)
    assert clip_grad_norm_([lonely, *params], 1.0) == 10.0
    assert lonely.grad is None
    assert clip_grad_norm_(params[0], 1.0) == pytest.approx(1.0, rel=1e-5)
    assert clip_grad_norm_([lonely], 1.0) == 0.0


def test_clip_grad_norm_nonfinite_raises_when_asked() -> None:
    params = with_grads([np.array([1.0, np.inf]), np.array([2.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert params[0].grad.data.tolist() == [1.0, np.inf]  # unchanged
    assert math.isinf(clip_grad_norm_(with_grads([np.array([1.0, np.inf])]), 1.0))
    assert math.isnan(clip_grad_norm_(with_grads([np.array([np.nan])]), 1.0))


@pytest.mark.parametrize(("kwargs", "argument"), [({"max_norm": -1.0}, "max_norm"),
                                                  ({"max_norm": 1.0, "norm_type": 0.0}, "norm_type")])
def test_clip_grad_norm_rejects_bad_arguments(kwargs: dict[str, float], argument: str) -> None:
    with pytest.raises(ValueError, match=f"invalid {argument}"):
        clip_grad_norm_(with_grads([np.ones(2)]), **kwargs)


@pytest.mark.torch
@given(gradient_lists, st.sampled_from([1.0, 2.0, math.inf]), st.floats(0.01, 20.0))
@settings(max_examples=50)
def test_clip_grad_norm_matches_torch(grads: list[np.ndarray], norm_type: float, max_norm: float) -> None:
    torch = pytest.importorskip("torch")
    params = with_grads(grads)
    torch_params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(torch_params, grads):
        p.grad = torch.tensor(g)
    expected = torch.nn.utils.clip_grad_norm_(torch_params, max_norm, norm_type=norm_type)
    assert clip_grad_norm_(params, max_norm, norm_type=norm_type) == pytest.approx(float(expected), rel=1e-10)
    for ours, theirs in zip(params, torch_params):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(gradient_lists, st.floats(0.0, 8.0))
def test_clip_grad_value_clips_every_element(grads: list[np.ndarray], clip_value: float) -> None:
    params = with_grads(grads)
    clip_grad_value_(params, clip_value)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.data, np.minimum(np.maximum(g, -clip_value), clip_value))


def test_clip_grad_value_rejects_a_negative_limit() -> None:
    with pytest.raises(ValueError, match="invalid clip_value"):
        clip_grad_value_(with_grads([np.ones(2)]), -1.0)


# -- truncated backpropagation through time ------------------------------------------------------


def chunk_reference(xs: np.ndarray, upstream: np.ndarray, carried: np.ndarray,
                    weights: dict[str, np.ndarray]) -> ref.SequenceGradients:
    """Seed 001's BPTT over one chunk only, from the carried state; (T, m, n) -> (n, m, T)."""
    b_s = (weights["bias_ih"] + weights["bias_hh"])[:, None]
    _, caches = ref.rnn_forward(xs.transpose(2, 1, 0), carried.T, weights["weight_ih"],
                                weights["weight_hh"], b_s)
    return ref.rnn_backward(upstream.transpose(2, 1, 0), caches)


def test_truncated_bptt_with_detach_trains_chunk_by_chunk() -> None:
    """Each chunk backpropagates only to its own first step: the carried state is a constant.

    The expected gradient of every chunk is seed 001's BPTT started from the state carried
    in, with the weights of that moment (the optimizer changes them between chunks).
    """
    rng = np.random.default_rng(5)
    steps, chunk, batch, n_x, n_h = 12, 4, 2, 3, 4
    xs = rng.normal(size=(steps, batch, n_x))
    upstream = rng.normal(size=(steps, batch, n_h))  # loss = sum_t <upstream_t, h_t>
    tr.manual_seed(0)
    cell = nn.RNNCell(n_x, n_h, dtype=np.float64)
    optimizer = SGD(cell.parameters(), lr=0.05)
    h = None
    for start in range(0, steps, chunk):
        carried = np.zeros((batch, n_h)) if h is None else h.data.copy()
        weights = cell.state_dict()
        optimizer.zero_grad()
        loss = 0.0
        for t in range(start, start + chunk):
            h = cell(tr.Tensor(xs[t]), h)
            loss = loss + (h * upstream[t]).sum()
        loss.backward()
        h = h.detach()

        expected = chunk_reference(xs[start:start + chunk], upstream[start:start + chunk], carried, weights)
        np.testing.assert_allclose(cell.weight_ih.grad.data, expected.dU, rtol=1e-10)
        np.testing.assert_allclose(cell.weight_hh.grad.data, expected.dW, rtol=1e-10)
        np.testing.assert_allclose(cell.bias_hh.grad.data, expected.db_s[:, 0], rtol=1e-10)
        optimizer.step()


def test_truncated_bptt_over_rnn_chunks_passes_the_detached_final_state() -> None:
    rng = np.random.default_rng(6)
    steps, chunk, batch, n_x, n_h = 9, 3, 3, 2, 5
    xs = rng.normal(size=(steps, batch, n_x))
    upstream = rng.normal(size=(steps, batch, n_h))
    tr.manual_seed(1)
    rnn = nn.RNN(n_x, n_h, dtype=np.float64)
    optimizer = Adam(rnn.parameters(), lr=0.01)
    h_n = None
    for start in range(0, steps, chunk):
        carried = np.zeros((batch, n_h)) if h_n is None else h_n.data[0].copy()
        weights = {name[:-len("_l0")]: value for name, value in rnn.state_dict().items()}
        optimizer.zero_grad()
        output, h_n = rnn(tr.Tensor(xs[start:start + chunk]), h_n)
        (output * upstream[start:start + chunk]).sum().backward()
        h_n = h_n.detach()

        expected = chunk_reference(xs[start:start + chunk], upstream[start:start + chunk], carried, weights)
        np.testing.assert_allclose(rnn.weight_hh_l0.grad.data, expected.dW, rtol=1e-10)
        np.testing.assert_allclose(rnn.weight_ih_l0.grad.data, expected.dU, rtol=1e-10)
        optimizer.step()


def test_without_detach_the_next_chunk_reaches_the_freed_graph() -> None:
    weight = tr.Tensor(np.full((2, 2), 0.5), requires_grad=True)
    h = tr.Tensor(np.ones((1, 2)))
    for _ in range(2):
        h = (h @ weight).tanh()
    h.sum().backward()
    h = (h @ weight).tanh()
    with pytest.raises(tr.GraphFreedError):
        h.sum().backward()
