"""The base of the built-in ops."""

from __future__ import annotations

from ..autograd.function import Function


class Op(Function, abstract=True):
    """A built-in op: numpy's shape complaints become a ShapeError naming the op."""

    __slots__ = ()
    shape_checked = True
