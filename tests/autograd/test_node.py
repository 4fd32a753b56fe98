"""What Scalar and Tensor share as graph values: grad_fn, leaves, hooks, retain_grad, zero_grad."""

import numpy as np
import pytest

import tinygrad_rnn as tr


def leaf(values):
    return tr.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_op_output_records_its_creator_and_leaves_have_none():
    x = leaf([1.0, 2.0])
    y = x.tanh()
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and repr(y.grad_fn) == "<Tanh>"
    assert y.grad_fn.next_functions == (x,)
    z = y * 2.0
    assert z.grad_fn.next_functions == (y.grad_fn, None)


def test_hook_sees_the_gradient_flowing_through_an_intermediate_value():
    x = leaf([1.0, 2.0])
    hidden = x * 3.0
    seen = []
    hidden.register_hook(lambda grad: seen.append(grad.numpy().copy()))
    (hidden * hidden).sum().backward()
    np.testing.assert_array_equal(seen[0], [6.0, 12.0])
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])


def test_hook_that_returns_a_gradient_replaces_it_downstream():
    x = leaf([1.0, 2.0])
    hidden = x * 3.0
    hidden.register_hook(lambda grad: grad * 10.0)
    hidden.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])


def test_hook_on_a_leaf_replaces_what_is_accumulated():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda grad: np.full(2, 7.0))
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])


def test_hooks_run_in_registration_order_each_seeing_the_last_replacement():
    x = leaf([1.0])
    hidden = x * 1.0
    seen = []
    hidden.register_hook(lambda grad: grad + 1.0)
    hidden.register_hook(lambda grad: seen.append(grad.item()))
    hidden.register_hook(lambda grad: grad * 3.0)
    hidden.sum().backward()
    assert seen == [2.0]
    np.testing.assert_array_equal(x.grad.numpy(), [6.0])


def test_removed_hook_is_no_longer_called():
    x = leaf([1.0])
    calls = []
    remove = x.register_hook(lambda grad: calls.append(1))
    (x * 2.0).sum().backward()
    remove()
    remove()  # removing twice is harmless
    (x * 2.0).sum().backward()
    assert calls == [1]


def test_hook_returning_a_wrong_shape_raises_shape_error():
    x = leaf([1.0, 2.0])
    hidden = x * 1.0
    hidden.register_hook(lambda grad: np.ones(3))
    with pytest.raises(tr.ShapeError, match=r"\(3,\).*\(2,\)"):
        hidden.sum().backward()


def test_retained_gradient_is_the_one_after_hooks():
    x = leaf([1.0])
    hidden = x * 2.0
    hidden.retain_grad()
    hidden.register_hook(lambda grad: grad * 10.0)
    (hidden * 1.0).sum().backward()
    np.testing.assert_array_equal(hidden.grad.numpy(), [10.0])
    assert hidden.retains_grad


def test_retain_grad_on_a_leaf_changes_nothing():
    x = leaf([1.0])
    x.retain_grad()
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])
    assert not x.retains_grad


def test_hook_on_a_value_that_needs_no_grad_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.Tensor([1.0]).register_hook(lambda grad: grad)


def test_hooks_work_on_scalars():
    a = tr.Scalar(3.0)
    hidden = a * 2.0
    seen = []
    hidden.register_hook(lambda grad: seen.append(grad) or grad * 5.0)
    (hidden * hidden).backward()
    assert seen == [12.0]
    assert a.grad == pytest.approx(120.0)


def test_hooks_also_run_under_grad():
    x = leaf([1.0])
    hidden = x * 2.0
    hidden.register_hook(lambda grad: grad * 4.0)
    (dx,) = tr.grad(hidden.sum(), [x])
    np.testing.assert_array_equal(dx.numpy(), [8.0])
