"""Time steps of recurrent modules in a trace: which nodes belong to which step, and which
node of one step plays the same part in another (used to fold and to elide steps)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .trace import STEP_LABEL, Trace, TraceNode


@dataclass
class StepGroup:
    """The steps of one recurrent module: the scope path `path` whose children are `t=...`.

    `members[t]` are the ids of the nodes of step t in trace order: those created inside the
    step's scope and those outside any step that serve only that step (the input slice x_t
    taken before the loop, the output of step t joined after it). `role[id]` says which
    part a node plays, equal for corresponding nodes of steps with the same structure.
    """

    path: tuple[str, ...]
    members: dict[int, list[str]] = field(default_factory=dict)
    role: dict[str, tuple[int, int]] = field(default_factory=dict)
    loose_role: dict[str, tuple[int, int]] = field(default_factory=dict)
    step_of: dict[str, int] = field(default_factory=dict)

    @property
    def times(self) -> list[int]:
        return sorted(self.members)

    def representative(self) -> int:
        """A step with the most common structure, not the first one when another fits, so that
        it receives the recurrent edge from its neighbour."""
        shapes = {t: Counter(self.role[i] for i in ids) for t, ids in self.members.items()}
        keys = {t: tuple(sorted(c.items())) for t, c in shapes.items()}
        common, _ = Counter(keys.values()).most_common(1)[0]
        fitting = [t for t in self.times if keys[t] == common]
        return fitting[1] if len(fitting) > 1 else fitting[0]

    def counterpart(self, node_id: str, step: int) -> str | None:
        """The node of `step` that plays the part `node_id` plays in its own step.

        Steps at the ends of a sequence often differ a little (the first one reads the initial
        state); a node without an exact counterpart gets the one of the same kind and shape.
        """
        for roles in (self.role, self.loose_role):
            role = roles.get(node_id)
            for other in self.members.get(step, ()):
                if roles[other] == role:
                    return other
        return None


def _step_path(node: TraceNode) -> tuple[tuple[str, ...], int] | None:
    """(group path, t) from the outermost `t=` label of the node's cluster."""
    for depth, label in enumerate(node.cluster):
        match = STEP_LABEL.match(label)
        if match:
            return node.cluster[:depth], int(match.group(1))
    return None


def step_groups(trace: Trace) -> list[StepGroup]:
    """The recurrent modules of a trace and the nodes of each of their steps."""
    home: dict[str, tuple[tuple[str, ...], int]] = {}
    for node in trace.nodes:
        found = _step_path(node)
        if found is not None:
            home[node.id] = found
    # Attach nodes outside every step that serve one step only: first those the recurrent
    # module computes from one step's values (its output joined after the loop), then those
    # feeding one step alone (the input slice x_t taken before the loop).
    attached = dict(home)
    for node in trace.nodes:
        if node.id in attached:
            continue
        owners = {attached[i] for i in trace.inputs(node.id) if i in attached}
        if len(owners) == 1:
            owner = owners.pop()
            if node.cluster[:len(owner[0])] == owner[0]:
                attached[node.id] = owner
    for node in reversed(trace.nodes):
        consumers = trace.consumers(node.id)
        if node.id in attached or not consumers:
            continue
        owners = {attached.get(c) for c in consumers}
        if len(owners) == 1 and None not in owners:
            attached[node.id] = owners.pop()
    groups: dict[tuple[str, ...], StepGroup] = {}
    for node in trace.nodes:
        found = attached.get(node.id)
        if found is None:
            continue
        path, t = found
        group = groups.setdefault(path, StepGroup(path))
        group.members.setdefault(t, []).append(node.id)
        group.step_of[node.id] = t
    for group in groups.values():
        _assign_roles(trace, group)
    return list(groups.values())


def _assign_roles(trace: Trace, group: StepGroup) -> None:
    """Give each member a structural key: what it is and, recursively, what its inputs are.

    Inputs from another step count only by shape, so the key of a step does not depend on
    its neighbours; a repeated key within a step is told apart by occurrence. The loose key
    also takes a leaf that needs no grad (the initial state h_0, a slice x_t) as such an input.
    """
    keys: dict[str, int] = {}
    loose_keys: dict[str, int] = {}
    for node in trace.nodes:
        t = group.step_of.get(node.id)
        if t is None:
            continue
        own = (node.kind, node.label if node.kind == "op" else node.shape, node.dtype, node.is_leaf)
        parts: list[object] = [own]
        loose: list[object] = [own]
        for source in trace.inputs(node.id):
            source_node = trace[source]
            if group.step_of.get(source) == t:
                parts.append(keys[source])
                free_input = source_node.is_leaf and not source_node.requires_grad
                loose.append(("input", source_node.shape) if free_input else loose_keys[source])
            elif source in group.step_of:
                parts.append(("input", source_node.shape))
                loose.append(("input", source_node.shape))
            else:
                parts.append(("outside", source_node.name or source))
                loose.append(("outside", source_node.name or source))
        keys[node.id] = hash(tuple(parts))
        loose_keys[node.id] = hash(tuple(loose))
    for roles, by_node in ((group.role, keys), (group.loose_role, loose_keys)):
        for ids in group.members.values():
            seen: Counter[int] = Counter()
            for node_id in ids:
                key = by_node[node_id]
                roles[node_id] = (key, seen[key])
                seen[key] += 1
