"""gradcheck and check_grad: pass on correct gradients, fail readably on wrong ones."""

import re

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.testing import GradcheckError, check_grad, gradcheck


class AddTwiceWithFlaw(tr.Function):
    """x + 2y whose gradient for y is wrong (x1.5) at element (1, 2) only."""

    @staticmethod
    def forward(ctx, x, y):
        return x + 2.0 * y

    @staticmethod
    def backward(ctx, grad):
        grad_y = 2.0 * grad
        grad_y[1, 2] *= 1.5
        return grad, grad_y


def leaf(shape, seed=0, dtype=np.float64, name=None):
    data = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    return tr.Tensor(data, requires_grad=True, name=name)


def test_gradcheck_passes_for_correct_ops_with_several_outputs():
    x, w = leaf((3, 2)), leaf((2,), seed=1)
    assert gradcheck(lambda a, b: ((a @ b).tanh(), (a * a).sum(axis=0)), [x, w])


def test_gradcheck_passes_for_scalars():
    a, b = tr.Scalar(0.3), tr.Scalar(-1.2)
    assert gradcheck(lambda p, q: (p * q + p**2).tanh(), [a, b])


def test_gradcheck_failure_names_input_worst_element_both_values_and_relative_error():
    x, y = leaf((2, 3)), leaf((2, 3), seed=1)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(AddTwiceWithFlaw.apply, [x, y])
    message = str(caught.value)
    assert message.startswith("input 1")
    assert "element (1, 2)" in message
    found = re.search(r"engine (\S+) vs finite differences (\S+) \(relative error (\S+);", message)
    engine, numeric, relative = (float(v) for v in found.groups())
    assert engine / numeric == pytest.approx(1.5, rel=1e-6)
    assert relative == pytest.approx(abs(engine - numeric) / max(abs(engine), abs(numeric)), rel=1e-2)
    assert "1 of 6 elements" in message


def test_gradcheck_failure_uses_the_input_name():
    x, y = leaf((2, 3)), leaf((2, 3), seed=1, name="weight_hh")
    with pytest.raises(GradcheckError, match="input 1 \\('weight_hh'\\)"):
        gradcheck(AddTwiceWithFlaw.apply, [x, y])


class FlawedDouble(tr.Function):
    """2x whose gradient claims 3."""

    @staticmethod
    def forward(ctx, x):
        return 2.0 * x

    @staticmethod
    def backward(ctx, grad):
        return 3.0 * grad


def test_gradcheck_ignores_outputs_that_need_no_grad():
    x, constant = leaf((2,)), tr.Tensor(np.ones(2))
    assert gradcheck(lambda t: (constant * 2.0, t * t), [x])
    with pytest.raises(GradcheckError, match=r"relative error 0\.333"):
        gradcheck(lambda t: (constant * 2.0, FlawedDouble.apply(t)), [x])


def test_gradcheck_refuses_float32_inputs():
    x = leaf((2,), dtype=np.float32)
    with pytest.raises(tr.DTypeError, match=r"input 0 is float32.*float64"):
        gradcheck(lambda t: t * t, [x])


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * t, [tr.Tensor(np.ones(2))])


def test_gradcheck_leaves_inputs_and_their_grad_untouched():
    x = leaf((2, 2))
    before = x.numpy().copy()
    gradcheck(lambda t: t.exp(), [x])
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None


def test_gradcheck_accepts_non_contiguous_inputs():
    data = np.random.default_rng(0).normal(size=(3, 2))
    x = tr.Tensor(data.T, requires_grad=True)
    assert gradcheck(lambda t: (t @ t.T).tanh(), [x])
    np.testing.assert_array_equal(x.numpy(), data.T)


def test_gradcheck_refuses_read_only_inputs():
    x = tr.Tensor(np.broadcast_to(np.ones(2), (3, 2)), requires_grad=True)
    with pytest.raises(ValueError, match="writable"):
        gradcheck(lambda t: t * t, [x])


def test_check_grad_passes_against_a_correct_reference():
    x, w = leaf((3, 2)), leaf((2,), seed=1)
    assert check_grad(
        lambda a, b: (a @ b).sum(),
        [x, w],
        lambda a, b: [np.broadcast_to(b, a.shape), a.sum(axis=0)],
    )


def test_check_grad_fails_against_a_wrong_reference():
    x = leaf((3,))
    with pytest.raises(GradcheckError, match=r"input 0.*element \(1,\).*reference"):
        check_grad(lambda a: (a * a).sum(), [x], lambda a: [2 * a + np.array([0.0, 1.0, 0.0])])


def test_check_grad_fails_when_the_reference_has_another_shape():
    x = leaf((3,))
    with pytest.raises(GradcheckError, match=r"shape \(3,\).*\(2, 3\)"):
        check_grad(lambda a: (a * 2.0).sum(), [x], lambda a: [np.full((2, 3), 2.0)])


def test_check_grad_refuses_a_reference_with_the_wrong_count():
    x = leaf((3,))
    with pytest.raises(ValueError, match="returned 2 gradients for 1"):
        check_grad(lambda a: a.sum(), [x], lambda a: [np.ones(3), np.ones(3)])


def test_check_grad_on_scalars():
    a = tr.Scalar(1.5)
    assert check_grad(lambda p: p.tanh(), [a], lambda p: [1 - np.tanh(p) ** 2])
