"""Attention for encoder-decoder models (seed 003): a context per query, weighted over encoder states."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.node import Node
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, get_default_dtype, where
from . import init
from .linear import Linear, as_input, check_size
from .module import Module, Parameter

_SCORES = ("additive", "dot", "scaled_dot", "general")


class Attention(Module):
    """Scores each key against the query, softmax-normalises, and averages the values.

    score(q, k_j) by `score`:
      "additive"   (Bahdanau): v^T tanh(W_q q + W_k k_j + b), attention_size units
      "dot":        q . k_j                       (query_size == key_size)
      "scaled_dot": q . k_j / sqrt(query_size)    (query_size == key_size)
      "general"    (Luong):    (W q) . k_j

    forward(query, keys, values=None, mask=None, lengths=None) -> (context, weights):
    query (B, Q) (one decoder state) or (B, Tq, Q); keys (B, Tk, K), batch first (transpose
    a time-major encoder output with `.transpose(0, 1)`); values (B, Tk, V), the keys by
    default. `mask` (B, Tk) or (B, Tq, Tk) is True where a key may be attended and False on
    padding; `lengths` (B,) says the same for right-padded keys. Padded keys get weight exactly
    0. context is (B, V) or (B, Tq, V); weights (B, Tk) or (B, Tq, Tk), each row summing to 1.

    >>> attention = Attention(16, score="dot")
    >>> context, weights = attention(decoder_state, encoder_states, lengths=[7, 4])
    """

    def __init__(self, query_size: int, key_size: int | None = None,
                 attention_size: int | None = None, score: str = "additive",
                 dtype: Any = None) -> None:
        super().__init__()
        key_size = query_size if key_size is None else key_size
        attention_size = query_size if attention_size is None else attention_size
        check_size("Attention", query_size=query_size, key_size=key_size,
                   attention_size=attention_size)
        if score not in _SCORES:
            raise ValueError(f"Attention: score must be one of {_SCORES}, got {score!r}")
        if score in ("dot", "scaled_dot") and key_size != query_size:
            raise ValueError(f"Attention: {score!r} scores need key_size == query_size, got "
                             f"{key_size} and {query_size}")
        self.query_size = query_size
        self.key_size = key_size
        self.score = score
        dtype = dtype or get_default_dtype()
        if score == "additive":
            self.attention_size = attention_size
            self.query_proj = Linear(query_size, attention_size, bias=False, dtype=dtype)
            self.key_proj = Linear(key_size, attention_size, dtype=dtype)
            self.v = Parameter(np.empty(attention_size, dtype=dtype))
            bound = 1.0 / math.sqrt(attention_size)
            init.uniform_(self.v, -bound, bound)
        elif score == "general":
            self.query_proj = Linear(query_size, key_size, bias=False, dtype=dtype)

    def _scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """(B, Tq, Tk) scores of (B, Tq, Q) queries against (B, Tk, K) keys."""
        if self.score == "additive":
            queries = self.query_proj(query).unsqueeze(2)     # (B, Tq, 1, A)
            projected_keys = self.key_proj(keys).unsqueeze(1)  # (B, 1, Tk, A)
            return (queries + projected_keys).tanh() @ self.v
        if self.score == "general":
            query = self.query_proj(query)
        scores = query @ keys.transpose(1, 2)
        if self.score == "scaled_dot":
            scores = scores * (1.0 / math.sqrt(self.query_size))
        return scores

    def _attend_mask(self, mask: Any, lengths: Any, batch: int, queries: int,
                     steps: int) -> np.ndarray | None:
        """(B, 1 or Tq, Tk) booleans, True where a key may be attended (None: all may)."""
        if mask is not None and lengths is not None:
            raise ValueError("Attention: give mask or lengths, not both")
        if lengths is not None:
            lengths = np.asarray(lengths.data if isinstance(lengths, Node) else lengths)
            if lengths.shape != (batch,):
                raise ShapeError(f"Attention: lengths must have shape ({batch},), got "
                                 f"{lengths.shape}")
            if (lengths <= 0).any() or (lengths > steps).any():
                raise ValueError(f"Attention: every length must be in 1..{steps}, got "
                                 f"{lengths.tolist()}")
            mask = np.arange(steps)[None, :] < lengths[:, None]
        if mask is None:
            return None
        mask = np.asarray(mask.data if isinstance(mask, Node) else mask)
        if mask.dtype != np.bool_:
            raise DTypeError(f"Attention: mask must be boolean (True = attend), got dtype "
                             f"{mask.dtype}")
        if mask.shape == (batch, steps):
            mask = mask[:, None, :]
        if mask.shape not in ((batch, 1, steps), (batch, queries, steps)):
            raise ShapeError(f"Attention: mask must have shape (batch, keys) = {(batch, steps)} "
                             f"or (batch, queries, keys) = {(batch, queries, steps)}, got "
                             f"{mask.shape}")
        if not mask.any(axis=-1).all():
            raise ValueError("Attention: a query has every key masked; at least one key must "
                             "be attendable")
        return mask

    def forward(self, query: Any, keys: Any, values: Any = None, mask: Any = None,
                lengths: Any = None) -> tuple[Tensor, Tensor]:
        query = as_input("Attention", query)
        keys = as_input("Attention", keys)
        values = keys if values is None else as_input("Attention", values)
        single = query.ndim == 2
        if query.ndim not in (2, 3) or query.shape[-1] != self.query_size:
            raise ShapeError(f"Attention: query must have shape (batch, {self.query_size}) or "
                             f"(batch, queries, {self.query_size}), got {query.shape}")
        batch = query.shape[0]
        if keys.ndim != 3 or keys.shape[0] != batch or keys.shape[2] != self.key_size:
            raise ShapeError(f"Attention: keys must have shape (batch, keys, {self.key_size}) "
                             f"with batch={batch}, got {keys.shape}")
        if values.ndim != 3 or values.shape[:2] != keys.shape[:2]:
            raise ShapeError(f"Attention: values must have shape (batch, keys, value_size) = "
                             f"{(*keys.shape[:2], 'V')}, got {values.shape}")
        if single:
            query = query.unsqueeze(1)
        attend = self._attend_mask(mask, lengths, batch, query.shape[1], keys.shape[1])
        scores = self._scores(query, keys)
        if attend is not None:
            # A large finite fill (not -inf) keeps anomaly mode quiet; exp of it is exactly 0.
            scores = where(attend, scores, np.finfo(scores.dtype).min / 2)
        weights = scores.softmax(-1)
        context = weights @ values
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights

    def extra_repr(self) -> str:
        text = f"query_size={self.query_size}, key_size={self.key_size}, score={self.score!r}"
        if self.score == "additive":
            text += f", attention_size={self.attention_size}"
        return text


__all__ = ["Attention"]
