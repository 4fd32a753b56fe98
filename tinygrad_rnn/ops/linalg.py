"""Matrix product with numpy's `@` semantics (1-D, 2-D and batched operands), and c + a @ b."""

from __future__ import annotations

import numpy as np

from ..autograd.engine import IndexGrad, ProductGrad, unbroadcast
from .base import Op, column_layout


class MatMul(Op):
    __slots__ = ()

    @staticmethod
    def forward(ctx, a, b):
        product = a @ b  # numpy refuses a 0-d operand: a ShapeError naming both shapes
        ctx.save_for_backward(a, b)
        return product

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


class AddMatMul(Op):
    """c + a @ b for 2-D a and b, with broadcasting between c and the product (PyTorch's addmm).

    One op instead of MatMul then Add: a linear layer's bias or a recurrent step's input
    projection is added into the new product, so the graph holds one array, one value and
    one op fewer, and a step of an unrolled sequence runs one op fewer forward and backward.

    With an integer `index`, c[index] + a @ b: step t of an unrolled sequence reads row t of
    the sequence's input projection itself, so the graph holds no slicing op and no slice
    per step; the gradient goes into that row of c's gradient buffer (see IndexGrad).
    """

    __slots__ = ("index", "source")

    @staticmethod
    def forward(ctx, c, a, b, index=None):
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError("addmm needs 2-D matrices a and b")
        ctx.save_for_backward(a, b)
        ctx.index = index
        if index is not None:
            ctx.source = c  # for its shape and dtype: alive anyway as the input's data
            c = c[index]
        rows = a.shape[0]
        if index is not None and rows > 1 and column_layout(c):
            # A recurrent step of a batch whose input projection is in column layout (the batch
            # along the fast axis): the product takes that layout too, so the sum reads both
            # arrays in memory order, and so does the next step, whose state this becomes.
            # OpenBLAS multiplies a state in that layout by a transposed weight up to 2x faster
            # (hidden 64-256, batch 8-32), and no slower at other sizes measured.
            product = np.empty((rows, b.shape[1]), dtype=np.result_type(a, b), order="F")
            np.matmul(b.T, a.T, out=product.T)
        else:
            product = a @ b
        if getattr(c, "dtype", None) == product.dtype:
            try:
                product += c  # the product is new, so it can hold the sum
                return product
            except ValueError:
                pass  # c is larger than the product: the sum below broadcasts both
        return product + c

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_c, need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        product_shape = (a.shape[0], b.shape[1])
        # c may broadcast the product to a larger shape (a learned initial state of one row
        # against a batch of inputs): the product's own gradient is then summed back.
        grad_product = grad if grad.shape == product_shape else unbroadcast(grad, product_shape)
        grad_a = grad_product @ b.T if need_a else None
        grad_b = ProductGrad(a, grad_product, b.dtype) if need_b else None
        grad_c = grad
        if ctx.index is not None and need_c:
            source = ctx.source
            row_shape = source.shape[1:]
            row_grad = grad if grad.shape == row_shape else unbroadcast(grad, row_shape)
            grad_c = IndexGrad(ctx.index, row_grad, source.shape, source.dtype, True)
        return grad_c, grad_a, grad_b, None
