"""`Module`, the base of every layer, and `Parameter`, the tensors a module learns."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..autograd.mode import scope
from ..autograd.node import Node
from ..errors import DTypeError, StateDictError
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a module learns: requires grad, and ops on it give plain Tensors.

    >>> weight = Parameter(np.zeros((3, 2)))
    >>> weight.requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, Node):
            data = data.data
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(..., strict=False)` skipped: the module's keys absent from the
    state dict, and the state dict's keys the module does not have."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """The base of layers and models: holds Parameters and sub-Modules assigned as attributes.

    Subclasses assign parameters and modules in `__init__` (after `super().__init__()`) and
    define `forward`; calling the module runs `forward` inside a graph scope named after it.

    >>> class Head(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.proj = Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.proj(x).tanh()
    >>> [name for name, _ in Head().named_parameters()]
    ['proj.weight', 'proj.bias']
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _modules: dict[str, Module | None]
    _label: str | None

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_label", None)
        object.__setattr__(self, "training", True)

    # -- registration ---------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        parameters = self.__dict__.get("_parameters")
        if isinstance(value, (Parameter, Module)) and parameters is None:
            raise AttributeError(
                f"cannot assign {type(value).__name__} {name!r} before Module.__init__() "
                f"is called; call super().__init__() first in {type(self).__name__}.__init__"
            )
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
            return
        if isinstance(value, Module):
            self.add_module(name, value)
            return
        if parameters is not None and name in parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter {name!r} of "
                    f"{type(self).__name__} (a Parameter or None is expected)"
                )
            parameters[name] = None
        elif parameters is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to submodule {name!r} of "
                    f"{type(self).__name__} (a Module or None is expected)"
                )
            self._modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, parameter: Parameter | None) -> None:
        """Register `parameter` under `name` (None reserves the name, as for `bias=False`)."""
        if parameter is not None and not isinstance(parameter, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected a Parameter, got "
                            f"{type(parameter).__name__}")
        self._modules.pop(name, None)
        self._parameters[name] = parameter
        if parameter is not None and parameter.name is None:
            parameter.name = name
        object.__setattr__(self, name, parameter)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a child under `name` (what assigning an attribute does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module, got {type(module).__name__}")
        self._parameters.pop(name, None)
        self._modules[name] = module
        if module is not None and module._label is None:
            label = self._child_label(name)
            if label is not None:
                module._set_label(label)
        object.__setattr__(self, name, module)

    def _child_label(self, name: str) -> str | None:
        """The scope label of a child registered under `name` (None: not known yet)."""
        return name

    def _set_label(self, label: str) -> None:
        """Name this module's graph scope: its attribute name in the first parent it joins."""
        object.__setattr__(self, "_label", label)

    # -- calling --------------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        forward = getattr(self, "forward", None)
        if forward is None:
            raise TypeError(
                f"{type(self).__name__} has no forward(): it is a container; call the "
                f"modules it holds"
            )
        with scope(self._label or type(self).__name__):
            return forward(*args, **kwargs)

    # -- traversal ------------------------------------------------------------------------------

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs: own parameters first, then each child's, in order.

        A parameter shared by two modules is given once, under its first name.
        """
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, parameter in module._parameters.items():
                if parameter is None or id(parameter) in seen:
                    continue
                seen.add(id(parameter))
                yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters of this module and (with `recurse`) of all its descendants."""
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct child."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("" for itself) and every descendant, once each."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module.named_children()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every descendant and then on this module (e.g. a custom init); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- training helpers -----------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (sets `.grad` to None)."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and its descendants; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    def to(self, dtype: Any) -> Module:
        """Convert every parameter to a float dtype in place (the Parameter objects stay); returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise DTypeError(f"{type(self).__name__}.to({dtype}): parameters must be floats")
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            if parameter.grad is not None:
                parameter.grad.data = parameter.grad.data.astype(dtype)
        return self

    def double(self) -> Module:
        """Parameters as float64 (for gradient checks); returns self."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Parameters as float32; returns self."""
        return self.to(np.float32)

    # -- state dicts ----------------------------------------------------------------------------

    def _state_items(self) -> list[tuple[str, Parameter]]:
        """Every (dotted name, parameter), a shared parameter under each of its names."""
        items = []
        for module_name, module in self.named_modules():
            for name, parameter in module._parameters.items():
                if parameter is not None:
                    items.append((f"{module_name}.{name}" if module_name else name, parameter))
        return items

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter as a numpy array, under PyTorch's dotted names and layouts.

        >>> Linear(3, 2).state_dict()["weight"].shape
        (2, 3)
        """
        return {name: parameter.data.copy() for name, parameter in self._state_items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of `state_dict` into the parameters, after checking all of them.

        Every entry must be a real float array (any float dtype; it is cast to the parameter's
        dtype) of the parameter's shape. Any problem (with `strict`: also a missing or
        unexpected key) raises one `StateDictError` listing them all, and no parameter changes.
        Returns the missing and unexpected keys.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict into {type(self).__name__}: expected a mapping of "
                            f"names to arrays (as state_dict() gives), got {type(state_dict).__name__}")
        items = self._state_items()
        own = {name for name, _ in items}
        missing = [name for name, _ in items if name not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems = []
        if strict:
            problems += [f"missing key {name!r}" for name in missing]
            problems += [f"unexpected key {key!r}" for key in unexpected]
        checked = []
        for name, parameter in items:
            if name not in state_dict:
                continue
            array, problem = _checked_array(name, state_dict[name], parameter)
            if problem:
                problems.append(problem)
            else:
                checked.append((parameter, array))
        if problems:
            raise StateDictError(
                f"load_state_dict into {type(self).__name__}: {len(problems)} "
                f"problem{'s' if len(problems) > 1 else ''}, no parameter was changed:\n  "
                + "\n  ".join(problems)
            )
        for parameter, array in checked:
            parameter.copy_(array)
        return IncompatibleKeys(missing, unexpected)

    # -- printing -------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's repr line."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): " + repr(module).replace("\n", "\n  ")
                    for name, module in self._modules.items()]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _checked_array(name: str, value: Any, parameter: Parameter) -> tuple[np.ndarray | None, str | None]:
    """`value` as an array ready to copy into `parameter`, or the problem that prevents it."""
    try:
        array = np.asarray(value.data if isinstance(value, Node) else value)
    except (TypeError, ValueError) as error:
        return None, f"{name!r}: cannot be read as an array ({error})"
    if array.dtype.kind != "f":
        return None, (f"{name!r}: dtype {array.dtype} is not a float dtype "
                      f"(the parameter is {parameter.dtype})")
    if array.shape != parameter.shape:
        return None, (f"{name!r}: shape {array.shape} in the state dict, {parameter.shape} "
                      f"in the module")
    if not parameter.data.flags.writeable:
        return None, f"{name!r}: the module's parameter is a read-only array"
    return array.astype(parameter.dtype, copy=False), None
