"""Matrix product with numpy's `@` semantics: 1-D, 2-D and batched operands."""

from __future__ import annotations

import numpy as np

from ..autograd.engine import ProductGrad
from .base import Op


class MatMul(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs operands of at least one dimension")
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            # b's gradient a.T @ grad is left to the engine to multiply out: see ProductGrad.
            return (grad @ b.T if need_a else None), (ProductGrad(a, grad, b.dtype) if need_b else None)
        if a.ndim == 1 and b.ndim == 1:  # a dot product: grad is 0-d
            return (grad * b if need_a else None), (grad * a if need_b else None)
        # Treat 1-D operands as a row (a) or a column (b), as numpy does, then drop that axis.
        if a.ndim == 1:
            a = a[None, :]
            grad = np.expand_dims(grad, -2)
        if b.ndim == 1:
            b = b[:, None]
            grad = np.expand_dims(grad, -1)
        grad_a = grad @ np.swapaxes(b, -1, -2) if need_a else None
        grad_b = np.swapaxes(a, -1, -2) @ grad if need_b else None
        if ctx.saved_tensors[0].ndim == 1 and grad_a is not None:
            grad_a = grad_a[..., 0, :]
        if ctx.saved_tensors[1].ndim == 1 and grad_b is not None:
            grad_b = grad_b[..., 0]
        return grad_a, grad_b
