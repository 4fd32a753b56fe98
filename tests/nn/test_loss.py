"""Loss modules pass their options to the functional losses."""

import numpy as np

import tinygrad_rnn as tr
from tinygrad_rnn import nn

LOGITS = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])


def test_cross_entropy_loss_uses_its_options():
    loss = nn.CrossEntropyLoss(ignore_index=1, reduction="sum")(tr.Tensor(LOGITS), np.array([0, 1]))
    log_probs = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    assert loss.item() == -log_probs[0, 0]


def test_nll_loss_module_picks_the_target_log_probability():
    loss = nn.NLLLoss(reduction="none")(tr.Tensor(LOGITS), np.array([2, 0]))
    np.testing.assert_array_equal(loss.numpy(), [-0.5, -0.1])


def test_mse_and_bce_modules_reduce_as_asked():
    prediction, target = tr.Tensor(np.array([1.0, 3.0])), np.array([0.0, 1.0])
    assert nn.MSELoss()(prediction, target).item() == 2.5
    assert nn.MSELoss(reduction="sum")(prediction, target).item() == 5.0
    bce = nn.BCEWithLogitsLoss(reduction="none")(tr.Tensor(np.array([0.0])), np.array([1.0]))
    np.testing.assert_allclose(bce.numpy(), [np.log(2.0)], rtol=1e-12)
    assert repr(nn.MSELoss()) == "MSELoss(reduction='mean')"
