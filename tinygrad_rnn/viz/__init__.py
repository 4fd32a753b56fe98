"""See the graph: Graphviz drawings grouped by module and time step, the traced graph as data,
and how the gradient flows back through time.

>>> import tinygrad_rnn as tr
>>> x = tr.Tensor([1.0, -2.0], requires_grad=True, name="x")
>>> with tr.viz.scope("layer"):
...     y = tr.viz.name((x * 3).tanh(), "y")
>>> [(n.label, n.cluster) for n in tr.viz.trace(y)]
[('x', ()), ('Mul', ('layer',)), ('Tensor', ('layer',)), ('Tanh', ('layer',)), ('y', ('layer',))]
>>> g = tr.viz.draw_graph(y)          # a graphviz.Digraph: g.render("y", format="svg")
"""

from __future__ import annotations

from typing import TypeVar

from ..autograd.mode import scope
from ..autograd.node import Node
from .draw import Drawing, draw_graph
from .flow import GradientFlow, gradient_flow, hidden_states
from .trace import Trace, TraceEdge, TraceNode, summarize, trace

N = TypeVar("N", bound=Node)


def name(value: N, label: str) -> N:
    """Set `value.name` (shown in drawings and traces) and return the value, to name in place.

    >>> h = name(cell(x, h), "h3")
    """
    if not isinstance(value, Node):
        raise TypeError(f"name: expected a Tensor or Scalar, got {type(value).__name__}")
    value.name = str(label)
    return value


__all__ = [
    "Drawing", "GradientFlow", "Trace", "TraceEdge", "TraceNode", "draw_graph", "gradient_flow",
    "hidden_states", "name", "scope", "summarize", "trace",
]
