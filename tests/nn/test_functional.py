"""Functional activations and losses against numpy references, finite differences and torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tests.nn.reference import sigmoid
from tinygrad_rnn.nn import functional as F  # noqa: N812 (the usual alias)
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as st_tr


def log_softmax_reference(x):
    shift = x.max(axis=-1, keepdims=True)
    return x - shift - np.log(np.exp(x - shift).sum(axis=-1, keepdims=True))


# -- softmax ------------------------------------------------------------------------------------


def test_softmax_and_log_softmax_are_finite_for_huge_logits():
    x = tr.Tensor(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(F.softmax(x).numpy(), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(F.log_softmax(x).numpy(), [[0.0, -1000.0, -2000.0]])


@given(st_tr.arrays(st_tr.shapes(min_dims=1)))
def test_log_softmax_matches_reference(x):
    np.testing.assert_allclose(F.log_softmax(tr.Tensor(x)).numpy(), log_softmax_reference(x),
                               rtol=1e-12, atol=1e-12)


# -- cross entropy ------------------------------------------------------------------------------


def cross_entropy_reference(logits, target, ignore_index=-100, reduction="mean", smoothing=0.0):
    log_probs = log_softmax_reference(logits)
    classes = logits.shape[-1]
    flat = log_probs.reshape(-1, classes)
    labels = target.reshape(-1)
    losses = np.zeros(len(labels))
    for row, label in enumerate(labels):
        if label != ignore_index:
            losses[row] = -(1 - smoothing) * flat[row, label] - smoothing * flat[row].mean()
    kept = labels != ignore_index
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.sum() / kept.sum()
    return losses.reshape(target.shape)


@st.composite
def classification(draw, min_dims=1):
    lead = draw(st_tr.shapes(min_dims=min_dims, max_dims=3, max_side=3))
    classes = draw(st.integers(2, 5))
    logits = draw(st_tr.arrays((*lead, classes), elements=st_tr.elements(-5, 5)))
    target = draw(st_tr.arrays(lead, dtype=np.int64, elements=st.integers(0, classes - 1)))
    return logits, target


@settings(max_examples=60)
@given(classification(), st.sampled_from(["none", "mean", "sum"]),
       st.sampled_from([0.0, 0.1]), st.booleans())
def test_cross_entropy_with_indices_matches_reference(case, reduction, smoothing, ignore_some):
    logits, target = case
    if ignore_some:
        target = target.copy()
        target.reshape(-1)[0] = -100
        if target.size == 1 and reduction == "mean":
            target.reshape(-1)[0] = 0
    loss = F.cross_entropy(tr.Tensor(logits), target, reduction=reduction,
                           label_smoothing=smoothing)
    expected = cross_entropy_reference(logits, target, reduction=reduction, smoothing=smoothing)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=40)
@given(classification(), st.sampled_from(["none", "mean", "sum"]), st.sampled_from([0.0, 0.2]))
def test_cross_entropy_gradients_match_finite_differences(case, reduction, smoothing):
    logits, target = case
    gradcheck(lambda x: F.cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing),
              [tr.Tensor(logits, requires_grad=True)])


@settings(max_examples=40)
@given(data=st.data(), case=classification(), smoothing=st.sampled_from([0.0, 0.3]))
def test_cross_entropy_with_probabilities_matches_reference(data, case, smoothing):
    logits, _ = case
    raw = data.draw(st_tr.arrays(logits.shape, elements=st_tr.elements(0.01, 1.0)))
    probs = raw / raw.sum(axis=-1, keepdims=True)
    smoothed = probs * (1 - smoothing) + smoothing / logits.shape[-1]
    expected = -(smoothed * log_softmax_reference(logits)).sum(axis=-1).mean()
    loss = F.cross_entropy(tr.Tensor(logits), probs, label_smoothing=smoothing)
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-10)
    gradcheck(lambda x: F.cross_entropy(x, probs, label_smoothing=smoothing),
              [tr.Tensor(logits, requires_grad=True)])


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_count():
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    x = tr.Tensor(logits, requires_grad=True)
    F.cross_entropy(x, np.array([1, 2])).backward()
    probs = np.exp(log_softmax_reference(logits))
    expected = (probs - np.eye(3)[[1, 2]]) / 2
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_cross_entropy_ignored_targets_get_no_gradient():
    x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    F.cross_entropy(x, np.array([1, -100, 2])).backward()
    np.testing.assert_array_equal(x.grad.numpy()[1], np.zeros(4))


def test_cross_entropy_out_of_range_index_names_index_and_class_count():
    with pytest.raises(ValueError, match="class index 7 is out of range for 3 classes"):
        F.cross_entropy(tr.Tensor(np.zeros((2, 3))), np.array([0, 7]))
    with pytest.raises(ValueError, match="class index -2"):
        F.cross_entropy(tr.Tensor(np.zeros((2, 3))), np.array([0, -2]))


def test_cross_entropy_shape_and_dtype_errors():
    with pytest.raises(tr.ShapeError, match=r"target of shape \(3,\).*must have shape \(2,\)"):
        F.cross_entropy(tr.Tensor(np.zeros((2, 3))), np.array([0, 1, 2]))
    with pytest.raises(tr.ShapeError, match="probability targets"):
        F.cross_entropy(tr.Tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(tr.Tensor(np.zeros((2, 3))), np.array([0, 1]), reduction="avg")


def test_cross_entropy_time_major_logits_take_time_major_targets():
    logits = np.random.default_rng(2).standard_normal((4, 2, 5))  # (T, B, C)
    target = np.random.default_rng(3).integers(0, 5, (4, 2))
    loss = F.cross_entropy(tr.Tensor(logits), target, reduction="none")
    assert loss.shape == (4, 2)
    np.testing.assert_allclose(loss.numpy(), cross_entropy_reference(logits, target, reduction="none"))


@pytest.mark.torch
def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(4).standard_normal((6, 5))
    target = np.array([0, 4, -100, 2, 2, 1])
    x_t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(x_t, torch.tensor(target), label_smoothing=0.1)
    expected.backward()
    x = tr.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, target, label_smoothing=0.1)
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_nll_loss_picks_negative_log_probability_of_each_target():
    log_probs = np.log(np.array([[0.2, 0.8], [0.6, 0.4]]))
    loss = F.nll_loss(tr.Tensor(log_probs), np.array([1, 0]), reduction="sum")
    np.testing.assert_allclose(loss.item(), -np.log(0.8) - np.log(0.6), rtol=1e-12)


# -- regression losses --------------------------------------------------------------------------


@settings(max_examples=40)
@given(data=st.data(), shape=st_tr.shapes(), reduction=st.sampled_from(["none", "mean", "sum"]))
def test_mse_loss_matches_reference_and_finite_differences(data, shape, reduction):
    x = data.draw(st_tr.tensors(shape))
    y = data.draw(st_tr.arrays(shape))
    loss = F.mse_loss(x, y, reduction=reduction)
    squared = (x.numpy() - y) ** 2
    expected = {"none": squared, "mean": squared.mean(), "sum": squared.sum()}[reduction]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    gradcheck(lambda x: F.mse_loss(x, y, reduction=reduction), [x])


def test_mse_loss_refuses_to_broadcast():
    with pytest.raises(tr.ShapeError, match=r"\(2, 1\) and target shape \(2,\)"):
        F.mse_loss(tr.Tensor(np.zeros((2, 1))), np.zeros(2))


@settings(max_examples=40)
@given(data=st.data(), shape=st_tr.shapes())
def test_bce_with_logits_matches_reference_and_finite_differences(data, shape):
    x = data.draw(st_tr.tensors(shape))
    y = data.draw(st_tr.arrays(shape, elements=st_tr.elements(0.0, 1.0)))
    p = sigmoid(x.numpy())
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y).item(), expected,
                               rtol=1e-10)
    gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, y, reduction="sum"), [x])


def test_bce_with_logits_is_stable_at_plus_minus_1000():
    x = tr.Tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, 1000.0, 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 1.0, -1.0])  # sigmoid(x) - y


def test_bce_with_logits_gradient_at_zero_is_one_half_minus_target():
    x = tr.Tensor(np.zeros(2), requires_grad=True)
    F.binary_cross_entropy_with_logits(x, np.array([0.0, 1.0]), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, -0.5])


# -- dropout and one-hot ------------------------------------------------------------------------


def test_dropout_keeps_expected_fraction_and_scales_survivors():
    tr.manual_seed(0)
    x = tr.Tensor(np.ones((200, 100)), requires_grad=True)
    out = F.dropout(x, p=0.3)
    values = out.numpy()
    np.testing.assert_allclose(np.unique(values), [0.0, 1 / 0.7], rtol=1e-15)
    assert abs((values == 0).mean() - 0.3) < 0.01
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # d out / d x is the scaled mask


def test_dropout_is_reproducible_under_manual_seed():
    x = tr.Tensor(np.ones((5, 5)))
    tr.manual_seed(7)
    first = F.dropout(x).numpy()
    tr.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x).numpy(), first)


def test_dropout_edge_probabilities():
    x = tr.Tensor(np.ones(4), requires_grad=True)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.9, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros(4))
    with pytest.raises(ValueError, match="dropout probability"):
        F.dropout(x, -0.1)


def test_one_hot_rows_and_errors():
    out = F.one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert out.shape == (2, 2, 3) and out.dtype == tr.get_default_dtype()
    np.testing.assert_array_equal(out.numpy()[0], [[1, 0, 0], [0, 0, 1]])
    assert F.one_hot(np.array([3])).shape == (1, 4)
    with pytest.raises(ValueError, match="index 3 is out of range for 3 classes"):
        F.one_hot(np.array([3]), 3)
    with pytest.raises(tr.DTypeError):
        F.one_hot(np.array([0.5]), 3)
