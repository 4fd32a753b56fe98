"""The base of the built-in ops."""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function


class Op(Function, abstract=True):
    """A built-in op: numpy's shape complaints become a ShapeError naming the op."""

    __slots__ = ()
    shape_checked = True


def column_layout(array: Any) -> bool:
    """Whether a 2-D array of several rows has them along the fast axis (the transpose of a
    C-layout array, or a view with that order): the layout a batch's recurrent state is kept
    in (see AddMatMul), which `stack` preserves."""
    return array.ndim == 2 and array.shape[0] > 1 and 0 < array.strides[0] < array.strides[1]
