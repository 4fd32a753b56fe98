"""Feed-forward building blocks and containers: Linear, Embedding, Dropout, Sequential, ModuleList."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..autograd.node import Node
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, get_default_dtype
from . import functional, init
from .module import Module, Parameter


def check_size(module: str, **sizes: int) -> None:
    """Raise ValueError unless every size is a positive integer."""
    for name, size in sizes.items():
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size <= 0:
            raise ValueError(f"{module}: {name} must be a positive integer, got {size!r}")


def as_input(module: str, value: Any, what: str = "input") -> Tensor:
    """A module's float `what` as a Tensor (ndarrays and lists are wrapped, not copied)."""
    try:
        tensor = value if isinstance(value, Tensor) else Tensor(value)
    except DTypeError as error:
        raise DTypeError(f"{module}: {what} must be a float tensor ({error})") from None
    if tensor.dtype.kind != "f":
        raise DTypeError(f"{module}: {what} must be a float tensor, got dtype {tensor.dtype}")
    return tensor


class Linear(Module):
    """y = x W^T + b over the last axis: (..., in_features) -> (..., out_features).

    Initialised as PyTorch: W and b from U(-1/sqrt(in_features), 1/sqrt(in_features)).

    >>> Linear(3, 2)(Tensor(np.ones((5, 3)))).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        check_size("Linear", in_features=in_features, out_features=out_features)
        self.in_features = in_features
        self.out_features = out_features
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        input = as_input("Linear", input)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ShapeError(f"Linear: expected input of shape (..., {self.in_features}), got "
                             f"{input.shape}")
        lead = input.shape[:-1]
        # Batched inputs go through one 2-D matmul, whose weight gradient is one product
        # instead of a stack of per-batch products summed afterwards.
        flat = input.reshape(-1, self.in_features) if input.ndim > 2 else input
        if self.bias is not None and flat.ndim == 2:
            out = self.bias.addmm(flat, self.weight.T)  # one op for x W^T + b
        else:
            out = flat @ self.weight.T
            if self.bias is not None:
                out = out + self.bias
        return out.reshape(*lead, self.out_features) if input.ndim > 2 else out

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A table of `num_embeddings` learned vectors: integer indices (...) -> (..., embedding_dim).

    Initialised from N(0, 1) as PyTorch. With `padding_idx`, that row starts at zero, looks up
    as zero and gets no gradient.

    >>> Embedding(10, 4)(np.array([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = None) -> None:
        super().__init__()
        check_size("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim),
                                         dtype=dtype or get_default_dtype()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices: Any) -> Tensor:
        array = np.asarray(indices.data if isinstance(indices, Node) else indices)
        if array.dtype.kind not in "iu":
            raise DTypeError(f"Embedding: indices must be integers, got dtype {array.dtype}")
        bad = (array < 0) | (array >= self.num_embeddings)
        if bad.any():
            raise ValueError(f"Embedding: index {int(array[bad].flat[0])} is out of range for "
                             f"{self.num_embeddings} embeddings")
        vectors = self.weight[array]
        if self.padding_idx is not None and (array == self.padding_idx).any():
            keep = (array != self.padding_idx)[..., None].astype(vectors.dtype)
            vectors = vectors * keep
        return vectors

    def extra_repr(self) -> str:
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


class Dropout(Module):
    """Zero each element with probability p while training, scaling the rest by 1/(1-p).

    >>> Dropout(0.5).eval()(x) is x
    True
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, input: Tensor) -> Tensor:
        return functional.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied one after another; children are named "0", "1", ... (or by an OrderedDict).

    >>> model = Sequential(Linear(4, 8), Tanh(), Linear(8, 2))
    >>> model(Tensor(np.ones((3, 4)))).shape
    (3, 2)
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        modules = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(modules[index]))
        return modules[index][1]


class ModuleList(Module):
    """A list of modules whose parameters belong to the owner; children are named "0", "1", ...

    It has no forward: the owner calls its items. They get graph scopes named "layers.0", ...
    after the list's own attribute name.

    >>> layers = ModuleList([Linear(4, 4) for _ in range(3)])
    >>> len(list(layers.parameters()))
    6
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _child_label(self, name: str) -> str | None:
        # Items wait for the list's own name, so that their scopes read "layers.0".
        return None if self._label is None else f"{self._label}.{name}"

    def _set_label(self, label: str) -> None:
        super()._set_label(label)
        for name, module in self._modules.items():
            if module._label is None:
                module._set_label(f"{label}.{name}")

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def _name(self, index: int) -> str:
        if not -len(self) <= index < len(self):
            raise IndexError(f"ModuleList index {index} is out of range for {len(self)} modules")
        return str(index % len(self))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[self._name(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(self._name(index), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


__all__ = ["Dropout", "Embedding", "Linear", "ModuleList", "Sequential"]
