"""How the gradient of a loss flows back through time: the norm of dL/dh_t at every step.

Vanishing gradients show as norms that shrink quickly towards t=0 (small recurrent weights,
saturated tanh); exploding ones as norms that grow (large recurrent weights).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd.engine import grad
from ..autograd.node import Node
from .steps import StepGroup, step_groups
from .trace import Trace, trace

States = Sequence["Node | Sequence[Node]"]


@dataclass(frozen=True)
class GradientFlow:
    """The norm of dL/dh_t for each time step t, as (t, norm) rows.

    `str()` gives a table with a bar per step on a log scale; `plot(path)` writes a PNG (needs
    matplotlib).
    """

    rows: tuple[tuple[int, float], ...]

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[int, float]:
        return self.rows[index]

    @property
    def steps(self) -> list[int]:
        return [t for t, _ in self.rows]

    @property
    def norms(self) -> np.ndarray:
        return np.array([norm for _, norm in self.rows], dtype=np.float64)

    def __str__(self) -> str:
        """A table of the rows, each with a bar whose length grows with log10 of the norm."""
        norms = self.norms
        positive = norms[norms > 0]
        low = math.log10(positive.min()) if positive.size else 0.0
        decades = math.log10(positive.max()) - low if positive.size else 0.0
        per_decade = min(4.0, 40.0 / decades) if decades > 0 else 4.0
        lines = ["   t   |dL/dh_t|"]
        for t, norm in self.rows:
            width = 0 if norm <= 0 else 1 + round(per_decade * (math.log10(norm) - low))
            lines.append(f"{t:4d}   {norm:9.3e}  {'#' * width}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def plot(self, path: str, title: str = "gradient flow through time") -> str:
        """Write the norms against t on a log scale to a PNG at `path`; returns `path`."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError(
                "GradientFlow.plot needs matplotlib: pip install matplotlib "
                "(or pip install 'tinygrad_rnn[plots]'); str(flow) gives the same as a table"
            ) from error
        figure, axes = plt.subplots(figsize=(6, 3.5))
        norms = self.norms
        axes.semilogy(self.steps, np.where(norms > 0, norms, np.nan), marker="o", markersize=3)
        axes.set_xlabel("time step t")
        axes.set_ylabel("||dL/dh_t||")
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, format="png", dpi=120)
        plt.close(figure)
        return path


def gradient_flow(hidden_states: States, loss: Node, steps: Sequence[int] | None = None
                  ) -> GradientFlow:
    """The norm of dL/dh_t for each hidden state h_t (a Tensor, or several for one step, such
    as an LSTM's (h_t, c_t) or a BiRNN's two directions, taken together).

    Gradients come from the engine's `grad` with the graph retained: no `.grad` changes and
    `loss.backward()` can still run afterwards. A state the loss does not depend on has norm 0.
    `steps` labels the rows (default 0, 1, ...).

    >>> flow = gradient_flow(hs, loss)          # hs: [h_0, h_1, ...] from a Python loop
    >>> flow = gradient_flow(hidden_states(loss, "rnn"), loss)   # the states of nn.RNN
    >>> print(flow)
    """
    groups = [[state] if isinstance(state, Node) else list(state) for state in hidden_states]
    labels = list(range(len(groups))) if steps is None else [int(t) for t in steps]
    if len(labels) != len(groups):
        raise ValueError(f"gradient_flow: {len(groups)} hidden states but {len(labels)} steps")
    flat = [state for group in groups for state in group]
    for state in flat:
        if not isinstance(state, Node):
            raise TypeError(f"gradient_flow: hidden states must be Tensors, got {type(state).__name__}")
    wanted = [state for state in flat if state.requires_grad]
    found = dict(zip(map(id, wanted), grad(loss, wanted, retain_graph=True, allow_unused=True)))
    rows = []
    for t, group in zip(labels, groups):
        total = 0.0
        for state in group:
            gradient = found.get(id(state))
            if gradient is not None:
                data = np.asarray(gradient.data if isinstance(gradient, Node) else gradient,
                                  dtype=np.float64)
                total += float(np.sum(data * data))
        rows.append((t, math.sqrt(total)))
    return GradientFlow(tuple(rows))


def hidden_states(loss: Node, module: str | None = None) -> dict[int, list[Node]]:
    """The recurrent states of a recurrent module in the graph of `loss`, per time step.

    A state of step t is a value of that step that the next step reads (h_t; for an LSTM also
    c_t; for a BiRNN both directions' states), found through the `t=...` scopes recurrent
    modules open. `module` picks the module by its scope label (e.g. "rnn"); by default the
    graph must hold exactly one recurrent module.

    >>> flow = gradient_flow(hidden_states(loss, "rnn").values(), loss)
    """
    traced = trace(loss)
    groups = step_groups(traced)
    if module is not None:
        groups = [g for g in groups if g.path and g.path[-1] == module]
    if len(groups) != 1:
        found = ", ".join(".".join(g.path) or "top level" for g in step_groups(traced)) or "none"
        which = f"labelled {module!r}" if module is not None else "in the graph"
        raise ValueError(
            f"hidden_states: expected one recurrent module {which}, found {found}; "
            f"pass module= the scope label of the one you want"
        )
    return _recurrent_states(traced, groups[0])


def _recurrent_states(traced: Trace, group: StepGroup) -> dict[int, list[Node]]:
    recurrent_roles = set()
    for node_id, t in group.step_of.items():
        if traced[node_id].step is None or traced[node_id].kind != "value":
            continue
        if any(group.step_of.get(c, t) != t for c in traced.consumers(node_id)):
            recurrent_roles.add(group.loose_role[node_id])
    states: dict[int, list[Node]] = {}
    for t in group.times:
        states[t] = [traced[i].obj for i in group.members[t]
                     if traced[i].kind == "value" and traced[i].step is not None
                     and group.loose_role[i] in recurrent_roles]
    return states
