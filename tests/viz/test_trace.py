"""trace: nodes and edges of a graph in topological order, names, clusters and summaries."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.viz import name, scope, summarize, trace
from tinygrad_rnn.viz.steps import step_groups

UNARY = {"tanh": lambda v: v.tanh(), "sigmoid": lambda v: v.sigmoid(), "square": lambda v: v * v,
         "neg": lambda v: -v, "exp": lambda v: v.exp()}
BINARY = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b}


@st.composite
def random_graphs(draw):
    """A graph of 2-3 leaves and up to 8 ops, each op inside a random (possibly nested) scope,
    some values used twice (diamonds). Returns the last value computed."""
    leaves = [tr.Tensor(np.full((2,), 0.1 * (i + 1)), requires_grad=draw(st.booleans()) or i == 0,
                        name=f"leaf{i}") for i in range(draw(st.integers(2, 3)))]
    values = list(leaves)
    for _ in range(draw(st.integers(1, 8))):
        path = draw(st.lists(st.sampled_from(["enc", "dec", "t=0", "t=1"]), max_size=2))
        stack = [scope(label) for label in path]
        for opened in stack:
            opened.__enter__()
        try:
            if draw(st.booleans()):
                op = UNARY[draw(st.sampled_from(sorted(UNARY)))]
                values.append(op(draw(st.sampled_from(values))))
            else:
                op = BINARY[draw(st.sampled_from(sorted(BINARY)))]
                values.append(op(draw(st.sampled_from(values)), draw(st.sampled_from(values))))
        finally:
            for opened in reversed(stack):
                opened.__exit__(None, None, None)
    return values[-1]


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_every_edge_goes_from_an_earlier_node_to_a_later_one(root):
    traced = trace(root)
    position = {node.id: i for i, node in enumerate(traced.nodes)}
    for edge in traced.edges:
        assert position[edge.src] < position[edge.dst]
    assert traced.roots == [traced.nodes[-1].id]


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_edges_are_exactly_the_recorded_inputs_and_outputs_of_each_op(root):
    traced = trace(root)
    for node in traced.nodes:
        if node.kind == "op":
            parents = [p for p in node.obj.parents if isinstance(p, tr.autograd.Node)]
            assert [traced[i].obj for i in traced.inputs(node.id)] == parents
            (output,) = traced.consumers(node.id)
            assert traced[output].obj.grad_fn is node.obj
        elif node.obj.grad_fn is not None:
            assert traced.inputs(node.id) == [traced.find(node.obj.grad_fn).id]
        else:
            assert traced.inputs(node.id) == []
    objects = [node.obj for node in traced.nodes]
    assert len({id(o) for o in objects}) == len(objects)


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_every_reachable_value_is_traced_once_with_the_scope_it_was_made_in(root):
    traced = trace(root)
    reachable, stack = {}, [root]
    while stack:
        value = stack.pop()
        if id(value) in reachable:
            continue
        reachable[id(value)] = value
        if value.grad_fn is not None:
            stack.extend(p for p in value.grad_fn.parents if isinstance(p, tr.autograd.Node))
    assert {id(n.obj) for n in traced.values} == set(reachable)
    for node in traced.values:
        assert node.cluster == (node.obj._scope or ())
    for node in traced.ops:
        (output,) = traced.consumers(node.id)
        assert node.cluster == traced[output].cluster


def test_values_show_name_shape_dtype_and_summaries():
    x = tr.Tensor(np.array([[1.0, -2.0, 0.5], [3.0, 0.0, 0.0]]), requires_grad=True, name="x")
    y = (x * 2.0).sum()
    y.backward()
    node = trace(y).find(x)
    assert (node.label, node.name, node.shape, node.dtype) == ("x", "x", (2, 3), "float64")
    # min -2, mean (1 - 2 + 0.5 + 3) / 6 = 0.41666, max 3; gradient 2 everywhere
    assert node.value == "min -2 mean 0.417 max 3"
    assert node.grad == "min 2 mean 2 max 2"
    assert node.is_leaf and node.requires_grad


def test_unnamed_values_are_labelled_by_type_and_ops_by_function_with_their_arguments():
    x = tr.Tensor(np.ones((2, 4)), requires_grad=True)
    y = x[:, 3].sum(axis=0)
    traced = trace(y)
    assert [n.label for n in traced.nodes] == ["Tensor", "GetItem", "Tensor", "Sum", "Tensor"]
    assert traced.nodes[1].detail == "index=[:, 3]"
    assert traced.nodes[3].detail == "axis=0"
    assert trace(x[..., 1:3]).ops[0].detail == "index=[..., 1:3]"


def test_scalar_graphs_trace_with_numbers_as_values():
    a, b = tr.Scalar(2.0, name="a"), tr.Scalar(-3.0, name="b")
    c = name(a * b + a, "c")
    traced = trace(c)
    by_label = {n.label: n for n in traced.values}
    assert by_label["c"].value == "-4"
    assert by_label["a"].shape is None and by_label["a"].dtype is None
    assert [n.label for n in traced.ops] == ["Mul", "Add"]


def test_leaves_that_do_not_require_grad_are_traced_and_constants_are_not():
    weight = tr.Tensor(np.ones(3), requires_grad=True, name="w")
    data = tr.Tensor(np.arange(3.0), name="data")
    traced = trace((weight * data + 1.0).sum())
    assert {n.label for n in traced.values if n.is_leaf} == {"w", "data"}
    assert trace(weight * data).find(data).requires_grad is False
    (add,) = [n for n in traced.ops if n.label == "Add"]
    assert len(traced.inputs(add.id)) == 1


def test_parameter_names_come_from_a_module_or_a_dict():
    layer = tr.nn.Linear(3, 2)
    x = tr.Tensor(np.ones((1, 3)))
    y = layer(x).sum()
    from_module = {n.label for n in trace(y, params=layer).values if n.is_leaf}
    assert {"weight", "bias"} <= from_module
    from_dict = {n.label for n in trace(y, params={"head.w": layer.weight}).values if n.is_leaf}
    assert "head.w" in from_dict
    with pytest.raises(TypeError, match="params"):
        trace(y, params=[layer.weight])


def test_module_calls_and_time_steps_become_cluster_paths():
    tr.manual_seed(0)
    rnn = tr.nn.RNN(2, 3)
    output, _ = rnn(tr.randn(4, 1, 2))
    traced = trace(output.sum(), params=rnn)
    steps = sorted({n.step for n in traced.nodes if n.step is not None})
    assert steps == [0, 1, 2, 3]
    assert all(n.cluster[:1] == ("RNN",) for n in traced.nodes if n.step is not None)
    assert ("RNN", "t=2") in traced.clusters


def test_tracing_changes_neither_graph_nor_gradients_and_works_after_backward():
    w = tr.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="w")
    hidden = (w * 3.0).tanh()
    loss = (hidden * hidden).sum()
    ctx = hidden.grad_fn
    saved_before = ctx.saved_tensors
    trace(loss)
    assert hidden.grad_fn is ctx and ctx.saved_tensors is saved_before and w.grad is None
    loss.backward()
    grad_after_backward = w.grad.numpy().copy()
    traced = trace(loss)  # saved values are freed now; the inputs are still there
    np.testing.assert_array_equal(w.grad.numpy(), grad_after_backward)
    assert traced.find(w).grad is not None
    assert len(traced.ops) == 4


def test_deep_graph_traces_without_recursion():
    x = tr.Tensor(np.array([0.1]), requires_grad=True)
    value = x
    for _ in range(3000):
        value = (value * 0.9).tanh()
    traced = trace(value)
    assert len(traced.nodes) == 1 + 4 * 3000


def test_roots_must_be_graph_values():
    with pytest.raises(TypeError, match="root 1"):
        trace(tr.Tensor([1.0]), np.ones(2))


@pytest.mark.parametrize(("data", "expected"), [
    (2.5, "2.5"),
    (np.array(-0.123456), "-0.123"),
    (np.array([1.0, 2.0, 3.0]), "[1, 2, 3]"),
    (np.array([[1.0, 3.0], [5.0, 7.0], [9.0, 11.0]]), "min 1 mean 6 max 11"),
    (np.array([1.0, np.nan, 3.0, 5.0, np.inf]), "min 1 mean 3 max 5 (2 non-finite)"),
    (np.array([True, False, True]), "2 of 3 true"),
    (np.zeros((0, 3)), "empty"),
])
def test_summaries(data, expected):
    assert summarize(data) == expected


def test_steps_of_a_recurrent_module_and_their_corresponding_nodes():
    tr.manual_seed(1)
    rnn = tr.nn.RNN(2, 3)
    output, _ = rnn(tr.randn(5, 1, 2))
    traced = trace(output.sum())
    (group,) = step_groups(traced)
    assert group.path == ("RNN",) and group.times == [0, 1, 2, 3, 4]
    middle = group.representative()
    assert middle != 0
    tanh_of = {t: next(i for i in ids if traced[i].label == "Tanh") for t, ids in group.members.items()}
    for t in (1, 2, 3, 4):
        assert group.counterpart(tanh_of[t], middle) == tanh_of[middle]


def test_a_pre_activation_overwritten_by_tanh_is_marked_not_summarized():
    rnn = tr.nn.RNN(2, 3)
    output, _ = rnn(tr.Tensor(np.ones((3, 1, 2))))
    traced = trace(output.sum())
    marked = [n for n in traced.values if n.value == "overwritten by Tanh"]
    # steps 1 and 2 add h @ W_hh^T to their input row (step 0 has no state to add)
    assert len(marked) == 2
    for node in marked:
        (consumer,) = traced.consumers(node.id)
        assert traced[consumer].label == "Tanh" and traced[consumer].detail == "overwrite=True"
