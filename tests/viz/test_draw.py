"""draw_graph: the DOT source against the trace, the options, rendering with and without `dot`."""

import re
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.viz import draw_graph, scope, trace

from .test_trace import random_graphs

NODE = re.compile(r"^\s*(\w+) \[(.*)\]$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")
CLUSTER_LABEL = re.compile(r'^\s*label="((?:[^"\\]|\\.)*)"')


def parse(source):
    """Nodes (id -> (cluster label path, attribute text)) and edges ((src, dst, attribute text))
    of the DOT text draw_graph writes."""
    nodes, edges, path, pending = {}, [], [], False
    for line in source.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            pending = True
            continue
        if pending:
            path.append(CLUSTER_LABEL.match(line).group(1))
            pending = False
            continue
        if line.strip() == "}":
            if path:
                path.pop()
            continue
        edge = EDGE.match(line)
        if edge:
            edges.append((edge.group(1), edge.group(2), edge.group(3) or ""))
            continue
        node = NODE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            nodes[node.group(1)] = (tuple(path), node.group(2))
    return nodes, edges


def visible(edges):
    return {(src, dst) for src, dst, attrs in edges if 'style="invis"' not in attrs}


def tanh_rnn(steps, hidden=3, seed=0, named=True):
    """h_t = tanh(x_t U + h_{t-1} W), one scope per step, like nn's recurrent modules."""
    rng = np.random.default_rng(seed)
    u = tr.Tensor(rng.standard_normal((2, hidden)) * 0.5, requires_grad=True, name="U")
    w = tr.Tensor(rng.standard_normal((hidden, hidden)) * 0.5, requires_grad=True, name="W")
    xs = tr.Tensor(rng.standard_normal((steps, 1, 2)))
    h = tr.zeros(1, hidden, dtype=np.float64)
    states = []
    with scope("rnn"):
        for t in range(steps):
            with scope(f"t={t}"):
                h = (xs[t] @ u + h @ w).tanh()
                if named:
                    tr.name(h, f"h{t}")
                states.append(h)
    loss = (h * h).sum()
    return loss, states, {"rnn.U": u, "rnn.W": w}


@settings(max_examples=40, deadline=None)
@given(random_graphs())
def test_dot_nodes_edges_and_clusters_match_the_trace(root):
    traced = trace(root)
    nodes, edges = parse(draw_graph(root, cut_shared=False, merge_ops=False).source)
    assert set(nodes) == {n.id for n in traced.nodes}
    for node in traced.nodes:
        assert nodes[node.id][0] == node.cluster
    assert visible(edges) == {(e.src, e.dst) for e in traced.edges}


def test_labels_show_names_shapes_values_gradients_and_op_names():
    x = tr.Tensor(np.array([[1.0, -2.0, 0.5]]), requires_grad=True, name="inputs")
    loss = tr.name((x * 2.0).sum(), "loss")
    loss.backward()
    nodes, _ = parse(draw_graph(loss).source)
    labels = " ".join(attrs for _, attrs in nodes.values())
    # d(sum 2x)/dx = 2 everywhere; the loss is 2 * (1 - 2 + 0.5) = -1
    for expected in ("<b>inputs</b>", "(1, 3) float64", "[1, -2, 0.5]", "grad [2, 2, 2]",
                     "<b>Mul</b>", "<b>Sum</b>", "<b>loss</b>", ">-1<"):
        assert expected in labels
    quiet = " ".join(a for _, a in parse(draw_graph(loss, show_values=False, show_grads=False,
                                                    show_shapes=False).source)[0].values())
    assert "inputs" in quiet and "float64" not in quiet and "grad" not in quiet
    assert "-2" not in quiet


def test_gradients_appear_only_after_backward():
    x = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    loss = (x * x).sum()
    assert "grad " not in draw_graph(loss).source
    loss.backward()
    assert "grad [2, 4]" in draw_graph(loss).source


def test_parameter_names_from_a_module_are_dotted():
    model = tr.nn.Sequential(tr.nn.Linear(3, 4), tr.nn.Linear(4, 1))
    loss = model(tr.Tensor(np.ones((2, 3)))).sum()
    source = draw_graph(loss, params=model).source
    assert "<b>0.weight</b>" in source and "<b>1.bias</b>" in source


def test_backward_view_reverses_edges_and_leaves_out_what_gets_no_gradient():
    w = tr.Tensor(np.ones(2), requires_grad=True, name="w")
    data = tr.Tensor(np.array([3.0, 4.0]), name="data")
    loss = (w * data).sum()
    traced = trace(loss)
    nodes, edges = parse(draw_graph(loss, direction="backward").source)
    assert traced.find(data).id not in nodes
    op_labels = [attrs for _, attrs in nodes.values() if "Backward" in attrs]
    assert len(op_labels) == 2
    assert any("MulBackward" in a for a in op_labels) and any("SumBackward" in a for a in op_labels)
    forward = {(e.src, e.dst) for e in traced.edges if e.src in nodes and e.dst in nodes}
    assert visible(edges) == {(dst, src) for src, dst in forward}


def test_user_scopes_nest_as_clusters():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    with scope("decoder"), scope("step 4"):
        y = x.exp()
    z = y.sum()
    nodes, _ = parse(draw_graph(z).source)
    traced = trace(z)
    assert nodes[traced.find(y).id][0] == ("decoder", "step 4")
    assert nodes[traced.find(z).id][0] == ()


def test_cluster_labels_with_quotes_are_escaped():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    with scope('say "hi"'):
        y = x * 2
    nodes, _ = parse(draw_graph(y).source)
    assert nodes[trace(y).find(y).id][0] == ('say \\"hi\\"',)


def test_shared_weight_is_drawn_once_with_a_reference_in_each_step():
    loss, _, params = tanh_rnn(6)
    traced = trace(loss, params=params)
    weight = traced.find(params["rnn.W"]).id
    nodes, edges = parse(draw_graph(loss, params=params, merge_ops=False).source)
    assert weight in nodes
    assert not [e for e in visible(edges) if e[0] == weight]
    references = [i for i, (path, attrs) in nodes.items() if "\u2197 rnn.W" in attrs]
    assert sorted(nodes[i][0][-1] for i in references) == [f"t={t}" for t in range(6)]
    _, uncut = parse(draw_graph(loss, params=params, cut_shared=False, merge_ops=False).source)
    assert len([e for e in visible(uncut) if e[0] == weight]) == 6


def test_outputs_gathered_from_every_step_get_stubs():
    _, states, _ = tanh_rnn(5, named=False)
    stacked = tr.stack(states).sum()
    nodes, edges = parse(draw_graph(stacked, merge_ops=False).source)
    stubs = [i for i, (_, attrs) in nodes.items() if "\u2192 Stack" in attrs]
    assert sorted(nodes[i][0][-1] for i in stubs) == [f"t={t}" for t in range(5)]
    (gather,) = [i for i, (_, attrs) in nodes.items() if "\u2198 from t=0 \u2026 t=4" in attrs]
    assert any(src == gather and "\u00d75" in attrs for src, _, attrs in edges)


def test_rolled_draws_one_step_with_a_badge_and_the_recurrent_edge():
    loss_short, _, params_short = tanh_rnn(5)
    loss_long, _, params_long = tanh_rnn(12)
    short = parse(draw_graph(loss_short, params=params_short, rolled=True).source)
    long = parse(draw_graph(loss_long, params=params_long, rolled=True).source)
    assert len(short[0]) == len(long[0])
    step_clusters = {path for path, _ in long[0].values() if len(path) == 2}
    assert step_clusters == {("rnn", "t  (\u00d7 12 steps)")}
    recurrent = [attrs for _, _, attrs in long[1] if "from t-1" in attrs]
    assert len(recurrent) == 1 and 'constraint="false"' in recurrent[0]


def test_rolled_bidirectional_module_has_a_recurrent_edge_each_way():
    tr.manual_seed(0)
    birnn = tr.nn.BiRNN(2, 3)
    output, _ = birnn(tr.randn(6, 1, 2))
    _, edges = parse(draw_graph(output.sum(), params=birnn, rolled=True).source)
    labels = [attrs for _, _, attrs in edges if "from t" in attrs]
    assert sorted(re.search(r"from t[-+]1", a).group() for a in labels) == ["from t+1", "from t-1"]


def test_rolled_lstm_has_recurrent_edges_for_h_and_c_and_counts_every_output():
    tr.manual_seed(0)
    lstm = tr.nn.LSTM(3, 4)
    output, _ = lstm(tr.randn(6, 2, 3))
    nodes, edges = parse(draw_graph(output.sum(), params=lstm, rolled=True).source)
    assert len([a for _, _, a in edges if "from t-1" in a]) == 2
    (stack,) = [i for i, (_, attrs) in nodes.items() if "<b>Stack</b>" in attrs]
    assert [a for _, dst, a in edges if dst == stack] == ['label="\u00d76"']


def test_max_steps_keeps_first_and_last_steps_and_an_ellipsis():
    loss, _, params = tanh_rnn(10)
    nodes, edges = parse(draw_graph(loss, params=params, max_steps=2).source)
    steps = {path[-1] for path, _ in nodes.values() if path and path[-1].startswith("t=")}
    assert steps == {"t=0", "t=1", "t=8", "t=9"}
    (ellipsis,) = [i for i, (_, attrs) in nodes.items() if "6 steps (t=2 \u2026 t=7)" in attrs]
    linked = {src for src, dst in visible(edges) if dst == ellipsis} | \
        {dst for src, dst in visible(edges) if src == ellipsis}
    assert linked, "the hidden steps stay connected to the steps shown"
    unchanged = parse(draw_graph(loss, params=params, max_steps=5).source)[0]
    assert {p[-1] for p, _ in unchanged.values() if p and p[-1].startswith("t=")} == \
        {f"t={t}" for t in range(10)}


def test_merge_ops_draws_each_op_with_its_output():
    x = tr.Tensor(np.ones(3), requires_grad=True, name="x")
    y = tr.name(x.tanh(), "y")
    nodes, edges = parse(draw_graph(y, merge_ops=True).source)
    assert len(nodes) == 2 and len(visible(edges)) == 1
    assert any("<b>y</b> = Tanh" in attrs for _, attrs in nodes.values())


def test_drawing_changes_neither_graph_nor_gradients():
    loss, states, params = tanh_rnn(4)
    reference_loss, _, reference_params = tanh_rnn(4)
    ctx = states[2].grad_fn
    saved = ctx.saved_tensors
    for options in ({}, {"rolled": True}, {"max_steps": 1}, {"direction": "backward"}):
        draw_graph(loss, params=params, **options)
    assert states[2].grad_fn is ctx and ctx.saved_tensors is saved
    assert all(p.grad is None for p in params.values())
    loss.backward()
    reference_loss.backward()
    for key in params:
        np.testing.assert_array_equal(params[key].grad.numpy(), reference_params[key].grad.numpy())
    draw_graph(loss, params=params)
    np.testing.assert_array_equal(params["rnn.W"].grad.numpy(), reference_params["rnn.W"].grad.numpy())


def test_thousand_step_graph_draws_without_recursion_limit():
    loss, _, params = tanh_rnn(1000, hidden=2, named=False)
    for options in ({}, {"rolled": True}, {"max_steps": 3}):
        source = draw_graph(loss, params=params, **options).source
        assert source.startswith("digraph")
    assert "\u00d7 1000 steps" in draw_graph(loss, rolled=True).source


def test_invalid_options_raise():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="direction"):
        draw_graph(x * 2, direction="sideways")
    with pytest.raises(ValueError, match="max_steps"):
        draw_graph(x * 2, max_steps=0)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed here")
def test_renders_to_svg_with_dot(tmp_path):
    loss, _, params = tanh_rnn(3)
    loss.backward()
    path = draw_graph(loss, params=params).render(str(tmp_path / "graph"), format="svg")
    with open(path, encoding="utf-8") as file:
        text = file.read()
    assert path.endswith(".svg") and "<svg" in text and "rnn.W" in text and "t=2" in text
    assert draw_graph(loss, rolled=True).pipe(format="svg").startswith(b"<?xml")


def test_without_dot_the_source_exists_and_rendering_says_how_to_install(tmp_path, monkeypatch):
    loss, _, _ = tanh_rnn(2)
    drawing = draw_graph(loss)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert drawing.source.startswith("digraph")
    with pytest.raises(tr.GraphvizNotFoundError, match="apt-get install graphviz"):
        drawing.render(str(tmp_path / "graph"), format="svg")
    with pytest.raises(tr.GraphvizNotFoundError, match="brew install graphviz"):
        drawing.pipe(format="png")


def test_drawing_is_a_digraph_that_jupyter_can_display():
    import graphviz

    drawing = draw_graph(tr.Tensor(np.ones(2), requires_grad=True) * 2)
    assert isinstance(drawing, graphviz.Digraph)
    assert hasattr(drawing, "_repr_mimebundle_")
    assert drawing.trace is not None and len(drawing.trace.ops) == 1


@settings(max_examples=20, deadline=None)
@given(steps=st.integers(3, 9), keep=st.integers(1, 3))
def test_max_steps_shows_at_most_twice_k_steps(steps, keep):
    loss, _, params = tanh_rnn(steps, named=False)
    nodes, _ = parse(draw_graph(loss, params=params, max_steps=keep).source)
    shown = {path[-1] for path, _ in nodes.values() if path and path[-1].startswith("t=")}
    expected = set(range(steps)) if steps <= 2 * keep else \
        set(range(keep)) | set(range(steps - keep, steps))
    assert shown == {f"t={t}" for t in expected}
