"""`draw_graph`: a Graphviz drawing of the graph behind some values, grouped by module and
time step, with names, shapes, values and gradients."""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import graphviz

from ..autograd.node import Node
from ..errors import GraphvizNotFoundError
from .steps import StepGroup, step_groups
from .trace import STEP_LABEL, Trace, TraceNode, trace

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH, so the drawing cannot be rendered "
    "(its DOT source is in `.source`). Install Graphviz: `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install -c conda-forge graphviz`, "
    "or the installer from https://graphviz.org/download/ (Windows), then make sure `dot` "
    "is on PATH."
)

# Drawings of more ops than this are made lighter for `dot`: with merge_ops=None each op is drawn
# with its output as one node (half the nodes), and the positioning pass gets an iteration cap
# (Graphviz's nslimit), which changes little in the picture and bounds the time.
LARGE_ABOVE = 250
LARGE_NSLIMIT = "1"

# cut_shared cuts the edges of a value read in at least this many other places. A recurrent
# state reaches two (the next step, and the module that collects the outputs): it stays whole.
SHARED_IN = 3

_FILL = {
    "parameter": "#fff2cc",  # leaves that require grad
    "input": "#eeeeee",  # leaves that do not
    "value": "#ffffff",
    "root": "#d9ead3",
    "op": "#dbe9f6",
}
_GRAD_COLOR = "#b03a2e"
_DIM_COLOR = "#555555"
_RECURRENT_COLOR = "#c0392b"
_CLUSTER_FILLS = ("#f7f7f7", "#eef3fa", "#fbf3e9")

Place = tuple[tuple[str, ...], "int | None"]  # a cluster, and the time step served within it


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering explains how to install Graphviz when `dot` is missing.

    It renders like any Digraph (`.render(path, format="svg")`, `.pipe()`, inline in Jupyter)
    and keeps the trace it was drawn from in `.trace`.
    """

    trace: Trace | None = None

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Write the drawing with `dot` (`format="svg"|"png"|"pdf"`); returns the output path."""
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(INSTALL_HINT) from error

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        """The rendered drawing as bytes (or str with `encoding=`)."""
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(INSTALL_HINT) from error


@dataclass
class _Item:
    """A node as drawn: a trace node in a cluster, an ellipsis, or a stub."""

    node: TraceNode | None
    cluster: tuple[str, ...]
    step: int | None = None  # the time step the node serves, if any
    text: str | None = None  # the label of an ellipsis or a stub
    ref: bool = False  # a stub standing for `node`, which is drawn elsewhere
    output: TraceNode | None = None  # with merge_ops, the value an op node also shows
    gathers: bool = False  # the stub for the edges a node gathers from many places


@dataclass
class _Edge:
    count: int = 1  # how many edges of the graph this drawn edge stands for
    recurrent: str | None = None  # "t-1" or "t+1" on the folded recurrent edge
    constraint: bool = True  # False: the edge does not order the layout's ranks
    invisible: bool = False  # only there to order the layout


def draw_graph(
    *roots: Node,
    params: Any = None,
    show_values: bool = True,
    show_grads: bool = True,
    show_shapes: bool = True,
    direction: str = "forward",
    rolled: bool = False,
    max_steps: int | None = None,
    cut_shared: bool = True,
    merge_ops: bool | None = None,
    rankdir: str = "TB",
    graph_attr: Mapping[str, str] | None = None,
) -> Drawing:
    """Draw the graph that computed `roots` (Tensors or Scalars) as a `graphviz.Digraph`.

    Values show their name (dotted parameter names from `params`, a Module or a dict name ->
    Tensor; else `.name`), shape and dtype, a value summary and, after backward, a gradient
    summary; ops show the Function's name. Values created inside a module's call or a
    `scope(...)` block are grouped in nested clusters, time steps of recurrent modules in
    clusters `t=0`, `t=1`, ... laid out one after the other.

    - `show_values`, `show_grads`, `show_shapes`: what value nodes show.
    - `direction="backward"`: only what gradients flow through, each arrow pointing from a
      value to the inputs its gradient goes to, ops named `<Op>Backward`.
    - `rolled=True`: one time step of each recurrent module, badged with the number of steps,
      with the recurrent edge from the step to itself (the folded RNN).
    - `max_steps=k`: the first and last k steps of each recurrent module, one ellipsis node for
      the rest.
    - `cut_shared=True`: a value read in many places (a weight used by every step) is drawn
      once, with a small reference where it is used, and a node that gathers from many places
      (the stack of all outputs) gets a small stub in each; no edge spans the whole drawing,
      which keeps `dot` fast on long sequences.
    - `merge_ops`: draw each op and the value it computed as one node (None: only in drawings
      of more than `LARGE_ABOVE` ops, which halves what `dot` lays out).
    - `rankdir`, `graph_attr`: Graphviz's layout direction and any other graph attributes.

    >>> g = draw_graph(loss, params=model)
    >>> g.render("graph", format="svg")
    'graph.svg'
    """
    if direction not in ("forward", "backward"):
        raise ValueError(f"draw_graph: direction must be 'forward' or 'backward', got {direction!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)
                                  or max_steps < 1):
        raise ValueError(f"draw_graph: max_steps must be a positive int or None, got {max_steps!r}")
    traced = trace(*roots, params=params)
    backward = direction == "backward"
    groups = step_groups(traced)
    step_of = {node_id: t for group in groups for node_id, t in group.step_of.items()}
    items = {
        node.id: _Item(node, node.cluster, step=step_of.get(node.id))
        for node in traced.nodes
        if node.requires_grad or not backward
    }
    edges: dict[tuple[str, str], _Edge] = {
        (e.src, e.dst): _Edge() for e in traced.edges if e.src in items and e.dst in items
    }
    cluster_labels: dict[tuple[str, ...], str] = {}
    forward_in_time = _order_in_time(groups, edges)
    if rolled:
        edges = _fold(traced, groups, items, edges, cluster_labels)
    elif max_steps is not None:
        edges = _elide(groups, items, edges, max_steps)
    if cut_shared:
        edges = _cut_shared(traced, items, edges)
    large = _count_ops(items) > LARGE_ABOVE
    if merge_ops or (merge_ops is None and large):
        edges = _merge_ops(items, edges)
    layout = {"nslimit": LARGE_NSLIMIT} if large else {}
    _stack_steps(groups, forward_in_time, items, edges)
    style = _Style(show_values, show_grads, show_shapes, backward, set(traced.roots))
    drawing = _emit(items, edges, cluster_labels, style, rankdir, {**layout, **(graph_attr or {})})
    drawing.trace = traced
    return drawing


def _order_in_time(groups: list[StepGroup], edges: dict[tuple[str, str], _Edge]) -> list[bool]:
    """Let the edges between steps that follow a module's direction in time order the layout,
    and free the others (a BiRNN's backward chain): the steps then follow one another instead
    of being pulled two ways. Returns, per group, whether that direction is forward in time."""
    directions = []
    for group in groups:
        between = [(key, group.step_of[key[0]] < group.step_of[key[1]]) for key in edges
                   if key[0] in group.step_of and key[1] in group.step_of
                   and group.step_of[key[0]] != group.step_of[key[1]]]
        ahead = sum(1 for _, forward in between if forward)
        usual = 2 * ahead >= len(between)
        for key, forward in between:
            if forward != usual:
                edges[key].constraint = False
        directions.append(usual)
    return directions


def _stack_steps(groups: list[StepGroup], forward_in_time: list[bool], items: dict[str, _Item],
                 edges: dict[tuple[str, str], _Edge]) -> None:
    """Lay each module's steps out one after the other: invisible edges from the last nodes of
    a step (or the ellipsis) to the first nodes of the next. Without them a step's nodes that
    do not depend on the previous step start beside it, and the drawing becomes a staircase."""
    step_of_item: dict[str, tuple[tuple[str, ...], int]] = {}
    for node_id, item in items.items():
        for depth, label in enumerate(item.cluster):
            match = STEP_LABEL.match(label)
            if match:
                step_of_item[node_id] = (item.cluster[:depth], int(match.group(1)))
                break
    members: dict[tuple[tuple[str, ...], int], list[str]] = {}
    for node_id, where in step_of_item.items():
        members.setdefault(where, []).append(node_id)
    within = [(src, dst) for src, dst in edges
              if src in step_of_item and step_of_item[src] == step_of_item.get(dst)]
    linked_in = {dst for _, dst in within}
    linked_out = {src for src, _ in within}
    ellipses = {(item.cluster, item.step): node_id for node_id, item in items.items()
                if item.node is None and item.step is not None}
    for group, forward in zip(groups, forward_in_time):
        blocks: list[tuple[list[str], list[str]]] = []  # (first nodes, last nodes) per step
        for t in group.times if forward else reversed(group.times):
            step = members.get((group.path, t))
            if step:
                blocks.append(([i for i in step if i not in linked_in],
                               [i for i in step if i not in linked_out]))
            elif (group.path, t) in ellipses:
                blocks.append(([ellipses[(group.path, t)]], [ellipses[(group.path, t)]]))
        for (_, lasts), (firsts, _) in itertools.pairwise(blocks):
            for src in lasts:
                for dst in firsts:
                    edges.setdefault((src, dst), _Edge(invisible=True))
        # What gathers the steps' outputs comes after the last step.
        gatherers = [i for i, item in items.items() if item.gathers and item.cluster == group.path]
        for src in blocks[-1][1] if blocks else ():
            for dst in gatherers:
                edges.setdefault((src, dst), _Edge(invisible=True))


def _fold(
    traced: Trace,
    groups: list[StepGroup],
    items: dict[str, _Item],
    edges: dict[tuple[str, str], _Edge],
    cluster_labels: dict[tuple[str, ...], str],
) -> dict[tuple[str, str], _Edge]:
    """Keep one step per recurrent module; every other step's nodes become their counterparts."""
    target: dict[str, str | None] = {}
    kept_step: dict[str, tuple[StepGroup, int]] = {}
    for group in groups:
        keep = group.representative()
        cluster_labels[(*group.path, f"t={keep}")] = f"t  (\u00d7 {len(group.members)} steps)"
        for node_id in group.members[keep]:
            kept_step[node_id] = (group, keep)
        for t, ids in group.members.items():
            if t == keep:
                continue
            for node_id in ids:
                counterpart = group.counterpart(node_id, keep)
                if counterpart is not None:
                    target[node_id] = counterpart
                elif traced[node_id].step is not None:
                    target[node_id] = None
    # A node of an irregular step (the first one reads no previous state) that feeds the same
    # node outside the steps as a kept node does (the stack of outputs) stands for it.
    kept_feeding: dict[str, list[str]] = {}
    for src, dst in edges:
        if src in kept_step and dst not in kept_step and dst not in target:
            kept_feeding.setdefault(dst, []).append(src)
    for src, dst in edges:
        if src in target and target[src] is None and len(kept_feeding.get(dst, ())) == 1:
            target[src] = kept_feeding[dst][0]
    folded: dict[tuple[str, str], _Edge] = {}
    for (src, dst), edge in edges.items():
        new_src, new_dst = target.get(src, src), target.get(dst, dst)
        if new_src is None or new_dst is None or new_src not in items or new_dst not in items:
            continue
        recurrent = None
        if new_src in kept_step and new_dst in kept_step:
            group = kept_step[new_dst][0]
            t_src, t_dst = group.step_of.get(src), group.step_of.get(dst)
            if t_src is not None and t_dst is not None and t_src != t_dst:
                recurrent = "t-1" if t_src < t_dst else "t+1"
            edge = replace(edge, count=0)  # inside the step: the step's badge gives the count
        key = (new_src, new_dst)
        if key in folded:
            folded[key].count += edge.count
            folded[key].recurrent = folded[key].recurrent or recurrent
        else:
            folded[key] = _Edge(edge.count, recurrent, constraint=edge.constraint and not recurrent)
    _drop(items, target, edges, folded)
    return folded


def _elide(
    groups: list[StepGroup],
    items: dict[str, _Item],
    edges: dict[tuple[str, str], _Edge],
    max_steps: int,
) -> dict[tuple[str, str], _Edge]:
    """Keep the first and last `max_steps` steps of each recurrent module; one node for the rest."""
    target: dict[str, str] = {}
    for number, group in enumerate(groups):
        times = group.times
        if len(times) <= 2 * max_steps:
            continue
        hidden = times[max_steps:-max_steps]
        ellipsis = f"ellipsis{number}"
        text = f"\u22ef {len(hidden)} steps (t={hidden[0]} \u2026 t={hidden[-1]}) \u22ef"
        items[ellipsis] = _Item(None, group.path, step=hidden[0], text=text)
        for t in hidden:
            for node_id in group.members[t]:
                target[node_id] = ellipsis
    elided: dict[tuple[str, str], _Edge] = {}
    for (src, dst), edge in edges.items():
        key = (target.get(src, src), target.get(dst, dst))
        if key[0] == key[1] or key[0] not in items or key[1] not in items:
            continue
        if dst in target and src not in target and items[src].step is None:
            continue  # what every hidden step reads (a weight) is drawn in the steps shown
        if key in elided:
            elided[key].count += edge.count
            elided[key].constraint = elided[key].constraint and edge.constraint
        else:
            elided[key] = _Edge(edge.count, constraint=edge.constraint)
    _drop(items, target, edges, elided)
    return elided


def _drop(items: dict[str, _Item], replaced: Mapping[str, str | None],
          before: dict[tuple[str, str], _Edge], after: dict[tuple[str, str], _Edge]) -> None:
    """Remove replaced nodes, and leaves whose every edge went to a removed node."""
    for node_id in replaced:
        items.pop(node_id, None)
    linked_before = {end for key in before for end in key}
    linked_after = {end for key in after for end in key}
    for node_id in linked_before - linked_after:
        item = items.get(node_id)
        if item is not None and item.node is not None and item.node.is_leaf:
            del items[node_id]


def _cut_shared(traced: Trace, items: dict[str, _Item], edges: dict[tuple[str, str], _Edge]
                ) -> dict[tuple[str, str], _Edge]:
    """Cut the edges of a value read in `SHARED_IN` or more other places, and of a node fed
    from as many (a place is a cluster, and the time step a node serves within it).

    A weight read by every step stays where it is, with its full label, and each step gets a
    small reference to it; each step's output gets a stub naming where it goes (`-> Stack`),
    and the node that gathers them one stub saying where from.
    """

    def place(node_id: str) -> Place:
        item = items[node_id]
        return item.cluster, item.step

    fan_out: dict[str, set[Place]] = {}
    fan_in: dict[str, set[Place]] = {}
    for src, dst in edges:
        if place(src) != place(dst):
            node = items[src].node
            if node is not None and node.kind == "value":
                fan_out.setdefault(src, set()).add(place(dst))
            if items[dst].node is not None:
                fan_in.setdefault(dst, set()).add(place(src))
    read_widely = {i for i, places in fan_out.items() if len(places) >= SHARED_IN}
    gathering = {i for i, places in fan_in.items() if len(places) >= SHARED_IN} - read_widely
    if not read_widely and not gathering:
        return edges
    stubs: dict[tuple[str, Place], str] = {}

    def stub(node_id: str, where: Place, text: str) -> str:
        key = (node_id, where)
        if key not in stubs:
            stubs[key] = f"{node_id}_{len(stubs)}"
            items[stubs[key]] = _Item(items[node_id].node, where[0], step=where[1], text=text,
                                      ref=True)
        return stubs[key]

    result: dict[tuple[str, str], _Edge] = {}
    gathered: dict[str, list[Place]] = {}
    for (src, dst), edge in edges.items():
        if src in read_widely and place(src) != place(dst):
            src = stub(src, place(dst), "\u2197 " + _reference_text(traced, src))
        if dst in gathering and place(src) != place(dst):
            gathered.setdefault(dst, []).append(place(src))
            dst = stub(dst, place(src), "\u2192 " + traced[dst].label)
        result[(src, dst)] = edge
    for node_id, places in gathered.items():
        steps = sorted({t for _, t in places if t is not None})
        if all(t is not None for _, t in places):
            where = f"t={steps[0]} \u2026 t={steps[-1]}"
        else:
            labels = sorted({cluster[-1] if cluster else "top level" for cluster, _ in places})
            where = ", ".join(labels[:3]) + (", \u2026" if len(labels) > 3 else "")
        source = f"{node_id}_from"
        items[source] = _Item(None, items[node_id].cluster, text=f"\u2198 from {where}", ref=True,
                              gathers=True)
        result[(source, node_id)] = _Edge(count=len(places))
    return result


def _reference_text(traced: Trace, node_id: str, depth: int = 3, shown: int = 2) -> str:
    """What a reference to a value says: its name, else the op that made it and the named
    values it was computed from (up to `depth` ops back), e.g. `Permute <- rnn.weight_hh_l0`."""
    node = traced[node_id]
    if node.name or node.is_leaf:
        return node.name or "input"
    (op_id,) = traced.inputs(node_id)
    names: list[str] = []
    frontier = [op_id]
    for _ in range(depth):
        values = [v for op in frontier for v in traced.inputs(op)]
        names += [traced[v].name for v in values if traced[v].name and traced[v].name not in names]
        frontier = [op for v in values if not traced[v].name for op in traced.inputs(v)]
    if not names:
        return traced[op_id].label
    more = ", \u2026" if len(names) > shown else ""
    return f"{traced[op_id].label} \u2190 {', '.join(names[:shown])}{more}"


def _count_ops(items: dict[str, _Item]) -> int:
    return sum(1 for item in items.values()
               if item.node is not None and item.node.kind == "op" and not item.ref)


def _merge_ops(items: dict[str, _Item], edges: dict[tuple[str, str], _Edge]
               ) -> dict[tuple[str, str], _Edge]:
    """Draw each op and the value it computed as one node."""
    output_of: dict[str, str] = {}
    for src, dst in edges:
        source, target = items[src], items[dst]
        if (source.node is not None and target.node is not None and not source.ref
                and not target.ref and source.node.kind == "op" and target.node.kind == "value"):
            output_of[dst] = src
    for value_id, op_id in output_of.items():
        items[op_id].output = items.pop(value_id).node
    merged: dict[tuple[str, str], _Edge] = {}
    for (src, dst), edge in edges.items():
        if output_of.get(dst) == src:
            continue
        merged[(output_of.get(src, src), output_of.get(dst, dst))] = edge
    return merged


@dataclass
class _Style:
    show_values: bool
    show_grads: bool
    show_shapes: bool
    backward: bool
    roots: set[str]

    def node_attrs(self, item: _Item) -> dict[str, str]:
        node = item.node
        if item.ref:
            lines = [html.escape(item.text or "")]
            if node is not None and node.kind == "value" and self.show_shapes:
                lines.append(_small(_shape_text(node)))
            fill = _FILL["parameter"] if node is not None and node.is_leaf and node.requires_grad \
                else _FILL["value"]
            return {"label": _html(lines), "shape": "box", "style": "rounded,filled,dashed",
                    "fillcolor": fill, "fontsize": "9", "color": _DIM_COLOR}
        if node is None:
            return {"label": item.text or "", "shape": "plaintext", "fontsize": "11"}
        if node.kind == "op":
            lines = [self._op_title(node, item.output)]
            if node.detail:
                lines.append(_small(node.detail))
            if item.output is not None:
                lines += self._value_lines(item.output)
                return {"label": _html(lines), "shape": "box", "style": "filled",
                        "fillcolor": _FILL["root" if item.output.id in self.roots else "op"]}
            return {"label": _html(lines), "shape": "ellipse", "style": "filled",
                    "fillcolor": _FILL["op"], "margin": "0.04,0.02"}
        lines = [f"<b>{html.escape(node.name)}</b>"] if node.name else []
        lines += self._value_lines(node)
        if not lines:
            lines.append(html.escape(node.label))
        if node.id in self.roots:
            kind = "root"
        elif node.is_leaf:
            kind = "parameter" if node.requires_grad else "input"
        else:
            kind = "value"
        return {"label": _html(lines), "shape": "box", "style": "rounded,filled",
                "fillcolor": _FILL[kind]}

    def _op_title(self, op: TraceNode, output: TraceNode | None) -> str:
        name = html.escape(f"{op.label}Backward" if self.backward else op.label)
        if output is not None and output.name:
            return f"<b>{html.escape(output.name)}</b> = {name}"
        return f"<b>{name}</b>"

    def _value_lines(self, value: TraceNode) -> list[str]:
        lines = []
        if self.show_shapes:
            lines.append(_small(_shape_text(value)))
        if self.show_values and value.value is not None:
            lines.append(_small(value.value))
        if self.show_grads and value.grad is not None:
            lines.append(_small(f"grad {value.grad}", _GRAD_COLOR))
        return lines

    def edge_attrs(self, edge: _Edge) -> dict[str, str]:
        if edge.invisible:
            return {"style": "invis"}
        attrs: dict[str, str] = {}
        if edge.recurrent:
            attrs.update(color=_RECURRENT_COLOR, fontcolor=_RECURRENT_COLOR, penwidth="1.6",
                         label=f"{'to' if self.backward else 'from'} {edge.recurrent}")
        elif edge.count > 1:
            attrs["label"] = f"\u00d7{edge.count}"
        if not edge.constraint:
            attrs["constraint"] = "false"
        return attrs


def _shape_text(value: TraceNode) -> str:
    return "scalar" if value.shape is None else f"{value.shape} {value.dtype}"


def _small(text: str, color: str = _DIM_COLOR) -> str:
    return f'<font point-size="9" color="{color}">{html.escape(text)}</font>'


class _Html(str):
    """An HTML-like label, written to DOT as it is."""


def _html(lines: list[str]) -> _Html:
    return _Html("<" + "<br/>".join(lines) + ">")


def _emit(
    items: dict[str, _Item],
    edges: dict[tuple[str, str], _Edge],
    cluster_labels: dict[tuple[str, ...], str],
    style: _Style,
    rankdir: str,
    graph_attr: Mapping[str, str],
) -> Drawing:
    """The DOT text, written directly: graphviz's own quoting costs more than the layout of a
    mid-sized graph. Node ids are ours (`n12`, `n12_3`, `ellipsis0`) and need no quoting."""
    first_seen: dict[str, int] = {}
    for item in items.values():
        for label in item.cluster:
            first_seen.setdefault(label, len(first_seen))

    def path_key(path: tuple[str, ...]) -> tuple[tuple[int, int, str], ...]:
        # Time steps in time order (t=2 before t=10), other clusters in order of appearance.
        key = []
        for label in path:
            match = STEP_LABEL.match(label)
            key.append((1, int(match.group(1)), label) if match else (0, first_seen[label], label))
        return tuple(key)

    body: list[str] = []
    open_paths: list[tuple[str, ...]] = [()]
    for node_id in sorted(items, key=lambda i: path_key(items[i].cluster)):
        path = items[node_id].cluster
        while path[:len(open_paths[-1])] != open_paths[-1]:
            open_paths.pop()
            body.append("\t" * len(open_paths) + "}\n")
        for depth in range(len(open_paths[-1]) + 1, len(path) + 1):
            indent = "\t" * depth
            fill = _CLUSTER_FILLS[(depth - 1) % len(_CLUSTER_FILLS)]
            label = cluster_labels.get(path[:depth], path[depth - 1])
            body.append(f"{indent}subgraph cluster_{len(body)} {{\n")
            body.append(f'{indent}\tlabel={_quote(label)} labeljust=l style="rounded,filled" '
                        f'color="#999999" fillcolor="{fill}"\n')
            open_paths.append(path[:depth])
        attributes = _attributes(style.node_attrs(items[node_id]))
        body.append("\t" * len(open_paths) + f"{node_id} [{attributes}]\n")
    while len(open_paths) > 1:
        open_paths.pop()
        body.append("\t" * len(open_paths) + "}\n")
    for (src, dst), edge in edges.items():
        if style.backward:
            src, dst = dst, src
        attrs = style.edge_attrs(edge)
        body.append(f"\t{src} -> {dst}" + (f" [{_attributes(attrs)}]\n" if attrs else "\n"))
    return Drawing(
        "tinygrad_rnn",
        graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11",
                    "nodesep": "0.2", "ranksep": "0.3", **graph_attr},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.6"},
        body=body,
    )


def _quote(text: str) -> str:
    """A DOT string: HTML-like labels as they are, anything else in double quotes."""
    if isinstance(text, _Html):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attributes(attrs: Mapping[str, str]) -> str:
    return " ".join(f"{key}={_quote(value)}" for key, value in attrs.items())
