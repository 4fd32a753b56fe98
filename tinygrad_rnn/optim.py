"""Optimizers and gradient clipping, with PyTorch's update formulas and state dicts.

Every optimizer takes parameters (or param groups as dicts), and `step()` updates each
parameter that has a gradient once, in place, from its numpy data and gradient: no graph is
recorded and each update bumps the parameter's version, so a graph that saved the old value
refuses to backpropagate through it.

>>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> opt.zero_grad(); loss.backward(); clip_grad_norm_(model.parameters(), 5.0); opt.step()
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .autograd.mode import enable_grad
from .errors import StateDictError
from .tensor import Tensor

ParamsArg = Iterable[Tensor] | Iterable[Mapping[str, Any]] | Tensor


class Optimizer(ABC):
    """Base class: param groups, per-parameter state, `zero_grad`, `step`, state dicts.

    Subclasses set `defaults` through `__init__`, check hyperparameters in `_check`, and
    update one parameter in `_update(param, grad, state, group)`.
    """

    def __init__(self, params: ParamsArg, defaults: dict[str, Any]) -> None:
        self._validate(defaults)
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        groups = _as_param_groups(params, type(self).__name__)
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items()) if key != "params"]
        return "\n".join(lines) + "\n)"

    def _check(self, hyper: Mapping[str, Any]) -> None:
        """Raise ValueError naming the first hyperparameter out of range."""
        _check_non_negative(hyper, "lr", "eps", "weight_decay", "momentum")

    def _validate(self, hyper: Mapping[str, Any]) -> None:
        try:
            self._check(hyper)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{type(self).__name__}: {error}") from None

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the rest from defaults).

        >>> opt.add_param_group({"params": [embedding.weight], "lr": 0.01})
        """
        name = type(self).__name__
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}: a param group needs a 'params' entry")
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name} got an empty parameter list")
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(f"{name}: parameter {index} is a {type(param).__name__}, not a Tensor")
            if not param.is_leaf:
                raise ValueError(f"{name}: parameter {index} is not a leaf (it was computed by an op); "
                                 f"optimize the leaf it came from, or detach() it")
        seen = {id(p) for existing in self.param_groups for p in existing["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(f"{name}: a parameter appears more than once across param groups")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown hyperparameter(s) {sorted(unknown)}; "
                             f"expected some of {sorted(self.defaults)}")
        full = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        self._validate(full)
        full["params"] = params
        self.param_groups.append(full)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (None by default, or zeros in place)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return `closure()`'s loss if given.

        `closure` re-evaluates the model and returns the loss (it runs with grad enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state.get(param)
                if state is None:
                    state = self.state[param] = self._init_state(param, group)
                self._update(param, param.grad.data, state, group)
        return loss

    def _init_state(self, param: Tensor, group: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    @abstractmethod
    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: Mapping[str, Any]) -> None:
        """Update `param` in place from its gradient (an ndarray) and its state."""

    # -- state dicts ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: `{"state": {index: {...}}, "param_groups": [{..., "params": [index]}]}`.

        Parameters are numbered in group order; arrays are copies, so later steps do not
        change a state dict already taken. `tr.save` writes it and `tr.load` reads it back.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            indices = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                indices.append(index_of[id(param)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": indices})
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    state[index_of[id(param)]] = {
                        key: np.array(value) if isinstance(value, np.ndarray) else value
                        for key, value in self.state[param].items()
                    }
        return {"state": state, "param_groups": groups}

    def _drop_torch_flags(self, hyper: dict[str, Any]) -> list[str]:
        """Remove torch.optim's execution flags from `hyper`; the problems with any whose value
        asks for something this optimizer does not do."""
        problems = []
        flags = {**_TORCH_FLAGS, "decoupled_weight_decay": (isinstance(self, AdamW),)}
        for flag, accepted in flags.items():
            if flag in hyper and flag not in self.defaults:
                value = hyper.pop(flag)
                if value not in accepted:
                    problems.append(f"{flag}={value!r} is not supported")
        return problems

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state from `state_dict()`'s output, or
        from a torch.optim state dict of the same optimizer with its tensors as arrays.

        Every entry is checked first: on any mismatch `StateDictError` lists all problems and
        the optimizer is left unchanged. Integer keys may be given as strings.
        """
        name = type(self).__name__
        problems: list[str] = []
        saved_groups = state_dict.get("param_groups") if isinstance(state_dict, Mapping) else None
        saved_state = state_dict.get("state", {}) if isinstance(state_dict, Mapping) else None
        if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, Mapping):
            raise StateDictError(f"{name}.load_state_dict: expected a dict with 'state' (a dict) and "
                                 f"'param_groups' (a list), as returned by state_dict()")
        if len(saved_groups) != len(self.param_groups):
            raise StateDictError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                                 f"param groups, the optimizer has {len(self.param_groups)}")
        params_by_index: dict[int, Tensor] = {}
        new_groups = []
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            indices = [int(i) for i in saved.get("params", ())]
            if len(indices) != len(group["params"]):
                problems.append(f"param group {number}: {len(indices)} parameters saved, "
                                f"{len(group['params'])} in the optimizer")
                continue
            params_by_index.update(zip(indices, group["params"]))
            hyper = {k: _plain(v) for k, v in saved.items() if k != "params"}
            problems += [f"param group {number}: {problem}" for problem in self._drop_torch_flags(hyper)]
            missing = sorted(set(self.defaults) - set(hyper))
            unknown = sorted(set(hyper) - set(self.defaults))
            if missing or unknown:
                problems.append(f"param group {number}: missing hyperparameters {missing}, "
                                f"unexpected {unknown}")
                continue
            try:
                self._check(hyper)
            except (TypeError, ValueError) as error:
                problems.append(f"param group {number}: {error}")
            new_groups.append({**hyper, "params": group["params"]})
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, entries in saved_state.items():
            param = params_by_index.get(int(key))
            if param is None:
                problems.append(f"state for parameter {key}, which no param group lists")
                continue
            restored: dict[str, Any] = {}
            for entry, value in entries.items():
                if isinstance(value, np.ndarray) and value.ndim > 0:
                    if value.shape != param.shape:
                        problems.append(f"state[{key}][{entry!r}] has shape {value.shape}, "
                                        f"the parameter has shape {param.shape}")
                    restored[entry] = np.array(value, dtype=param.dtype)
                else:
                    restored[entry] = _plain(value)
            new_state[param] = restored
        if problems:
            raise StateDictError(f"{name}.load_state_dict: " + "; ".join(problems))
        self.param_groups = new_groups
        self.state = new_state


# How torch.optim runs an update rather than what it computes, in its state dicts' param groups:
# each flag with the values that compute what this module computes.
_TORCH_FLAGS: dict[str, tuple[Any, ...]] = {
    "foreach": (None, False, True), "fused": (None, False), "capturable": (False,),
    "differentiable": (False,), "maximize": (False,),
}


def _plain(value: Any) -> Any:
    """0-d arrays and numpy scalars as Python numbers (what `tr.load` of a flat file gives)."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    if isinstance(value, list):
        return tuple(value)
    return value


def _as_param_groups(params: ParamsArg, name: str) -> list[Mapping[str, Any]]:
    if isinstance(params, Tensor):
        return [{"params": [params]}]
    if isinstance(params, Mapping):
        raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got a dict; "
                        f"wrap a single param group in a list")
    if not isinstance(params, Iterable):
        hint = "; pass module.parameters()" if callable(getattr(params, "parameters", None)) else ""
        raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got "
                        f"{type(params).__name__}{hint}")
    items = list(params)
    if not items:
        raise ValueError(f"{name} got an empty parameter list")
    if all(isinstance(item, Mapping) for item in items):
        return items
    if any(isinstance(item, Mapping) for item in items):
        raise TypeError(f"{name}: params mixes Tensors and param-group dicts")
    return [{"params": items}]


def _buffer(state: dict[str, Any], key: str, like: np.ndarray) -> np.ndarray:
    """The state array `key`, created as zeros the first time it is needed."""
    buffer = state.get(key)
    if buffer is None:
        buffer = state[key] = np.zeros_like(like)
    return buffer


def _check_non_negative(hyper: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if name not in hyper:
            continue
        try:
            valid = hyper[name] >= 0.0
        except TypeError:
            raise TypeError(f"invalid {name}: {hyper[name]!r} (must be a number >= 0)") from None
        if not valid:
            raise ValueError(f"invalid {name}: {hyper[name]} (must be >= 0)")


def _check_betas(betas: Any) -> None:
    if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
        raise ValueError(f"invalid betas: {tuple(betas)} (each must be in [0, 1))")


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay.

    g = grad + weight_decay * p;  buf = momentum * buf + (1 - dampening) * g (buf = g at
    the first step);  g = g + momentum * buf if nesterov else buf;  p -= lr * g.

    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    """

    def __init__(self, params: ParamsArg, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _check(self, hyper: Mapping[str, Any]) -> None:
        super()._check(hyper)
        if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
            raise ValueError("invalid nesterov: Nesterov momentum needs momentum > 0 and dampening = 0")

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: Mapping[str, Any]) -> None:
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if weight_decay:
            grad = grad + weight_decay * param.data
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad)
            else:
                buf *= momentum
                buf += (1.0 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param.add_(grad, alpha=-group["lr"])


class Adagrad(Optimizer):
    """Adagrad, min-char-rnn's optimizer: per-element steps shrink with the summed squared grads.

    g = grad + weight_decay * p;  sum += g^2;  p -= lr / (1 + (step - 1) * lr_decay) * g /
    (sqrt(sum) + eps).

    >>> opt = Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(self, params: ParamsArg, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps})

    def _check(self, hyper: Mapping[str, Any]) -> None:
        super()._check(hyper)
        _check_non_negative(hyper, "lr_decay", "initial_accumulator_value")

    def _init_state(self, param: Tensor, group: Mapping[str, Any]) -> dict[str, Any]:
        return {"step": 0, "sum": np.full_like(param.data, group["initial_accumulator_value"])}

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: Mapping[str, Any]) -> None:
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        square_sum = state["sum"]
        square_sum += grad * grad
        step_lr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        denom = np.sqrt(square_sum)
        denom += group["eps"]
        param.add_(grad / denom, alpha=-step_lr)


class RMSprop(Optimizer):
    """RMSprop: steps divided by a running root-mean-square of the gradient.

    g = grad + weight_decay * p;  v = alpha * v + (1 - alpha) * g^2;  with `centered`,
    m = alpha * m + (1 - alpha) * g and the denominator is sqrt(v - m^2) + eps, otherwise
    sqrt(v) + eps;  with momentum, buf = momentum * buf + g / denom and p -= lr * buf,
    otherwise p -= lr * g / denom.

    >>> opt = RMSprop(model.parameters(), lr=1e-3, alpha=0.99)
    """

    def __init__(self, params: ParamsArg, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered})

    def _check(self, hyper: Mapping[str, Any]) -> None:
        super()._check(hyper)
        _check_non_negative(hyper, "alpha")

    def _init_state(self, param: Tensor, group: Mapping[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": np.zeros_like(param.data)}

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: Mapping[str, Any]) -> None:
        state["step"] += 1
        alpha = group["alpha"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1.0 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = _buffer(state, "grad_avg", grad)
            grad_avg *= alpha
            grad_avg += (1.0 - alpha) * grad
            denom = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denom = np.sqrt(square_avg)
        denom += group["eps"]
        if group["momentum"] > 0:
            buf = _buffer(state, "momentum_buffer", grad)
            buf *= group["momentum"]
            buf += grad / denom
            param.add_(buf, alpha=-group["lr"])
        else:
            param.add_(grad / denom, alpha=-group["lr"])


class Adam(Optimizer):
    """Adam with bias correction; `weight_decay` adds L2 to the gradient (AdamW decouples it).

    g = grad + weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)  (v replaced by its running
    maximum with `amsgrad`).

    >>> opt = Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    """

    _decoupled = False

    def __init__(self, params: ParamsArg, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def _check(self, hyper: Mapping[str, Any]) -> None:
        super()._check(hyper)
        _check_betas(hyper["betas"])

    def _init_state(self, param: Tensor, group: Mapping[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": np.zeros_like(param.data),
                "exp_avg_sq": np.zeros_like(param.data)}

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: Mapping[str, Any]) -> None:
        state["step"] += 1
        step = state["step"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if weight_decay and not self._decoupled:
            grad = grad + weight_decay * param.data
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * grad * grad
        if group["amsgrad"]:
            second_moment = _buffer(state, "max_exp_avg_sq", grad)
            np.maximum(second_moment, exp_avg_sq, out=second_moment)
        else:
            second_moment = exp_avg_sq
        denom = np.sqrt(second_moment)
        denom /= math.sqrt(1.0 - beta2 ** step)
        denom += group["eps"]
        update = exp_avg / denom
        update *= -lr / (1.0 - beta1 ** step)
        if weight_decay and self._decoupled:
            update += param.data * (-lr * weight_decay)
        param.add_(update)


class AdamW(Adam):
    """Adam with decoupled weight decay: p -= lr * weight_decay * p, then Adam's step.

    >>> opt = AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    _decoupled = True

    def __init__(self, params: ParamsArg, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


# -- gradient clipping ----------------------------------------------------------------------------

def _grads(parameters: Tensor | Iterable[Tensor], function: str) -> list[Tensor]:
    if not isinstance(parameters, (Tensor, Iterable)):
        raise TypeError(f"{function}: expected a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}"
                        + ("; pass module.parameters()" if hasattr(parameters, "parameters") else ""))
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together, in place, so that their joint norm is at most `max_norm`.

    The norm is taken over every gradient as if concatenated into one vector (`norm_type`
    may be `float("inf")`); gradients are multiplied by max_norm / (norm + 1e-6) when that
    is below 1. Returns the norm before clipping: the seeds' remedy for exploding gradients.

    >>> total = clip_grad_norm_(model.parameters(), max_norm=5.0)
    """
    norm_type = float(norm_type)
    if not (norm_type > 0):
        raise ValueError(f"invalid norm_type: {norm_type} (must be > 0 or inf)")
    if not max_norm >= 0:
        raise ValueError(f"invalid max_norm: {max_norm} (must be >= 0)")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return 0.0
    flat = [g.data.astype(np.float64, copy=False).ravel() for g in grads]
    if math.isinf(norm_type):
        total = max((float(np.max(np.abs(f))) for f in flat if f.size), default=0.0)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(np.dot(f, f)) for f in flat))
    else:
        total = sum(float(np.sum(np.abs(f) ** norm_type)) for f in flat) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite "
            f"({total}), so they cannot be clipped; find where it comes from with "
            f"detect_anomaly(), or pass error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        with np.errstate(invalid="ignore"):  # an infinite norm turns inf elements into nan
            for g in grads:
                g.mul_(coef)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value], in place.

    >>> clip_grad_value_(model.parameters(), 5.0)   # min-char-rnn's np.clip(d, -5, 5)
    """
    if not clip_value >= 0:
        raise ValueError(f"invalid clip_value: {clip_value} (must be >= 0)")
    for g in _grads(parameters, "clip_grad_value_"):
        g.copy_(np.clip(g.data, -clip_value, clip_value))


__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "clip_grad_norm_",
           "clip_grad_value_"]
