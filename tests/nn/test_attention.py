"""Attention: each score against a numpy reference, masks, finite differences, torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tests.nn.reference import softmax
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as st_tr

SCORES = ["additive", "dot", "scaled_dot", "general"]


def reference_attention(attention, query, keys, values, mask=None):
    """query (B, Tq, Q), keys (B, Tk, K), values (B, Tk, V), mask (B, Tk) True = attend."""
    p = {name: value.numpy() for name, value in attention.named_parameters()}
    batch, queries, _ = query.shape
    steps = keys.shape[1]
    scores = np.zeros((batch, queries, steps))
    for b in range(batch):
        for i in range(queries):
            for j in range(steps):
                q, k = query[b, i], keys[b, j]
                if attention.score == "additive":
                    hidden = np.tanh(p["query_proj.weight"] @ q + p["key_proj.weight"] @ k
                                     + p["key_proj.bias"])
                    scores[b, i, j] = p["v"] @ hidden
                elif attention.score == "general":
                    scores[b, i, j] = (p["query_proj.weight"] @ q) @ k
                else:
                    scale = np.sqrt(len(q)) if attention.score == "scaled_dot" else 1.0
                    scores[b, i, j] = q @ k / scale
    if mask is not None:
        scores = np.where(mask[:, None, :], scores, -np.inf)
    weights = softmax(scores)
    return weights @ values, weights


@st.composite
def attention_cases(draw):
    score = draw(st.sampled_from(SCORES))
    query_size = draw(st.integers(1, 3))
    key_size = query_size if score in ("dot", "scaled_dot") else draw(st.integers(1, 3))
    batch, queries, steps = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 4))
    value_size = draw(st.integers(1, 3))
    lengths = draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    return {
        "score": score, "query_size": query_size, "key_size": key_size, "batch": batch,
        "queries": queries, "steps": steps, "value_size": value_size,
        "single": draw(st.booleans()), "lengths": lengths if draw(st.booleans()) else None,
    }


def build(case):
    tr.manual_seed(0)
    return nn.Attention(case["query_size"], case["key_size"], attention_size=3,
                        score=case["score"], dtype=np.float64)


def draw_inputs(case, data):
    query_shape = (case["batch"], case["query_size"]) if case["single"] else (
        case["batch"], case["queries"], case["query_size"])
    query = data.draw(st_tr.tensors(query_shape))
    keys = data.draw(st_tr.tensors((case["batch"], case["steps"], case["key_size"])))
    values = data.draw(st_tr.tensors((case["batch"], case["steps"], case["value_size"])))
    return query, keys, values


@settings(max_examples=60)
@given(case=attention_cases(), data=st.data())
def test_attention_matches_the_numpy_reference(case, data):
    attention = build(case)
    query, keys, values = draw_inputs(case, data)
    context, weights = attention(query, keys, values, lengths=case["lengths"])
    mask = None
    if case["lengths"] is not None:
        mask = np.arange(case["steps"])[None, :] < np.array(case["lengths"])[:, None]
    query_3d = query.numpy()[:, None] if case["single"] else query.numpy()
    expected_context, expected_weights = reference_attention(attention, query_3d, keys.numpy(),
                                                             values.numpy(), mask)
    if case["single"]:
        expected_context, expected_weights = expected_context[:, 0], expected_weights[:, 0]
    np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(context.numpy(), expected_context, rtol=1e-10, atol=1e-12)


@settings(max_examples=60)
@given(case=attention_cases(), data=st.data())
def test_attention_gradients_match_finite_differences(case, data):
    attention = build(case)
    query, keys, values = draw_inputs(case, data)
    gradcheck(lambda q, k, v, *params: attention(q, k, v, lengths=case["lengths"]),
              [query, keys, values, *attention.parameters()])


def test_padded_keys_get_zero_weight_and_do_not_change_the_context():
    attention = nn.Attention(2, score="additive", dtype=np.float64)
    rng = np.random.default_rng(0)
    query = tr.Tensor(rng.standard_normal((2, 2)))
    keys = rng.standard_normal((2, 4, 2))
    mask = np.array([[True, True, True, True], [True, True, False, False]])
    context, weights = attention(query, tr.Tensor(keys), mask=mask)
    np.testing.assert_array_equal(weights.numpy()[1, 2:], 0.0)
    np.testing.assert_allclose(weights.numpy().sum(axis=-1), 1.0, rtol=1e-12)
    changed = keys.copy()
    changed[1, 2:] = 1e6
    keys_t = tr.Tensor(changed, requires_grad=True)
    context_changed, _ = attention(query, keys_t, mask=mask)
    np.testing.assert_allclose(context_changed.numpy(), context.numpy(), rtol=1e-12)
    context_changed.sum().backward()
    np.testing.assert_array_equal(keys_t.grad.numpy()[1, 2:], 0.0)


def test_lengths_equal_the_corresponding_mask():
    attention = nn.Attention(3, score="dot", dtype=np.float64)
    rng = np.random.default_rng(1)
    query, keys = tr.Tensor(rng.standard_normal((2, 2, 3))), tr.Tensor(rng.standard_normal((2, 5, 3)))
    by_lengths = attention(query, keys, lengths=[5, 2])[1].numpy()
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    np.testing.assert_array_equal(by_lengths, attention(query, keys, mask=mask)[1].numpy())


def test_per_query_masks_are_accepted():
    attention = nn.Attention(2, score="dot", dtype=np.float64)
    causal = np.tril(np.ones((3, 3), dtype=bool))[None]
    x = tr.Tensor(np.random.default_rng(2).standard_normal((1, 3, 2)))
    _, weights = attention(x, x, mask=causal)
    np.testing.assert_array_equal(np.triu(weights.numpy()[0], 1), 0.0)


def test_attention_over_an_rnn_encoder_trains_end_to_end():
    tr.manual_seed(3)
    encoder = nn.GRU(2, 4, batch_first=True, dtype=np.float64)
    attention = nn.Attention(4, score="additive", dtype=np.float64)
    states, h_n = encoder(tr.Tensor(np.random.default_rng(3).standard_normal((2, 5, 2))))
    context, _ = attention(h_n[0], states, lengths=[5, 3])
    context.sum().backward()
    assert encoder.weight_hh_l0.grad is not None and attention.v.grad is not None


@pytest.mark.torch
def test_matches_torch_scaled_dot_product_attention():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    query, keys, values = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 6)])
    mask = rng.random((2, 3, 5)) < 0.7
    mask[..., 0] = True
    expected = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(query), torch.tensor(keys), torch.tensor(values), attn_mask=torch.tensor(mask))
    context, _ = nn.Attention(4, score="scaled_dot", dtype=np.float64)(
        tr.Tensor(query), tr.Tensor(keys), tr.Tensor(values), mask=mask)
    np.testing.assert_allclose(context.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_attention_errors():
    with pytest.raises(ValueError, match="key_size == query_size"):
        nn.Attention(3, key_size=4, score="dot")
    with pytest.raises(ValueError, match="score must be one of"):
        nn.Attention(3, score="cosine")
    attention = nn.Attention(3, score="dot")
    query, keys = tr.Tensor(np.ones((2, 3))), tr.Tensor(np.ones((2, 4, 3)))
    with pytest.raises(tr.ShapeError, match=r"query must have shape \(batch, 3\)"):
        attention(tr.Tensor(np.ones((2, 2))), keys)
    with pytest.raises(tr.ShapeError, match=r"keys must have shape \(batch, keys, 3\) with batch=2"):
        attention(query, tr.Tensor(np.ones((1, 4, 3))))
    with pytest.raises(tr.ShapeError, match="values must have shape"):
        attention(query, keys, tr.Tensor(np.ones((2, 3, 5))))
    with pytest.raises(ValueError, match="every key masked"):
        attention(query, keys, mask=np.array([[True] * 4, [False] * 4]))
    with pytest.raises(tr.DTypeError, match="boolean"):
        attention(query, keys, mask=np.ones((2, 4)))
    with pytest.raises(tr.ShapeError, match="mask must have shape"):
        attention(query, keys, mask=np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="not both"):
        attention(query, keys, mask=np.ones((2, 4), dtype=bool), lengths=[4, 4])
    with pytest.raises(ValueError, match=r"1\.\.4"):
        attention(query, keys, lengths=[5, 1])


def test_attention_parameters_and_repr():
    additive = nn.Attention(3, key_size=5, attention_size=4)
    assert [n for n, _ in additive.named_parameters()] == ["v", "query_proj.weight",
                                                           "key_proj.weight", "key_proj.bias"]
    assert list(nn.Attention(3, score="dot").parameters()) == []
    assert repr(nn.Attention(3, score="dot")) == "Attention(query_size=3, key_size=3, score='dot')"
