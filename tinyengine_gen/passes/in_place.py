"""In-place kernels: an op writes its output over an input whose storage is dead afterwards.

The greedy rewrite switches every op that offers an ``in_place_variant`` and may use it
(its input's storage group is read by no later op, holds no other input of the op and
belongs to no caller); variants whose output and input differ in size are then kept only
where the planned arena does not grow (:func:`_without_costly_resizing`).
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.base import OpPlan, has_in_place_variant
from tinyengine_gen.memory.planner import align_up
from tinyengine_gen.memory.lifetimes import alias_owners, arena_if_below, find_root, live_peak_after_joins, memory_plan, tensor_sizes
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Plans, plan_pass

__all__ = ["IN_PLACE", "MAX_RESIZING_TRIALS", "with_in_place_kernels"]


def with_in_place_kernels(graph: Graph, plans: tuple[OpPlan, ...], alignment: int = 16) -> tuple[OpPlan, ...]:
    """Switch plans to their in-place variant where the input's storage is dead afterwards.

    The input's whole storage group (the tensor and its views) must be read by no later op,
    must not hold any other input of the op, and must not be a graph input or output, whose
    bytes belong to the caller. A variant whose output and input differ in size is kept only
    where it does not make the planned arena larger (see :func:`_without_costly_resizing`).
    """
    if not any(has_in_place_variant(plan) for plan in plans):
        return plans
    result = list(plans)
    groups = _StorageGroups(plans, caller_owned=set(graph.inputs) | set(graph.outputs))
    for step, plan in enumerate(plans):
        variant = plan.in_place_variant() if has_in_place_variant(plan) else None
        if variant is None:
            continue
        inputs = plan.inputs
        owner = groups.root(inputs[0])
        if groups.caller_owned(owner) or groups.last_read(owner) > step:
            continue
        if groups.holds_any(owner, inputs[1:]):
            continue  # overwriting it would clobber another input
        result[step] = variant
        for out, _ in variant.aliases:  # the output joins the input's storage group
            groups.join(out, owner)
    return _without_costly_resizing(graph, plans, tuple(result), alignment)


#: How many size-changing in-place variants are tried one by one after the all/none choice.
MAX_RESIZING_TRIALS = 4


def _without_costly_resizing(
    graph: Graph, plans: tuple[OpPlan, ...], chosen: tuple[OpPlan, ...], alignment: int
) -> tuple[OpPlan, ...]:
    """Keep in-place variants whose output and input differ in size only where they pay.

    Sharing storage gives both tensors a buffer of the larger size over both lifetimes (a
    pointwise projection written over its wide input keeps that width while the narrow
    output waits for a residual ADD), which can cost more than the copy it saves. The layout
    with all of them and the one with none are compared, then the variants at the busiest
    steps are toggled one at a time and kept where the arena gets strictly smaller. Any
    subset of the variants is valid: leaving one out only splits a storage group.
    """
    size = tensor_sizes(graph)
    resizing = []
    for step, (plan, variant) in enumerate(zip(plans, chosen)):
        if plan is not variant:
            for out, inp in variant.aliases:
                if size(out) != size(inp):
                    resizing.append(step)
                    break
    if not resizing:
        return chosen

    without = list(chosen)
    for step in resizing:
        without[step] = plans[step]
    # None wins ties. It usually wins outright, so it is planned first and "all" only where
    # its bound leaves it a chance.
    memory = memory_plan(graph, without, alignment)
    result = without
    if _may_beat(graph, without, [(step, chosen[step]) for step in resizing], alignment, memory.arena_bytes):
        if arena_if_below(graph, chosen, alignment, memory.arena_bytes) is not None:
            result, memory = list(chosen), memory_plan(graph, chosen, alignment)
    arena = memory.arena_bytes
    # Then toggle, one at a time, the few variants at steps within 10 % of the peak: those are
    # the ones that can move it. Bounded so that pricing thousands of NAS configs stays cheap.
    near_peak = [step for step in resizing if memory.live_bytes(step) * 10 >= arena * 9]
    busiest = sorted(near_peak, key=lambda step: -memory.live_bytes(step))[:MAX_RESIZING_TRIALS]
    for step in busiest:
        joins = result[step] is plans[step]
        if joins and not _may_beat(graph, result, [(step, chosen[step])], alignment, arena):
            continue
        candidate = list(result)
        candidate[step] = chosen[step] if joins else plans[step]
        candidate_arena = arena_if_below(graph, candidate, alignment, arena)
        if candidate_arena is not None:
            result, arena = candidate, candidate_arena
    return tuple(result)


def _may_beat(graph: Graph, plans: list[OpPlan], joins: list[tuple[int, OpPlan]], alignment: int, arena: int) -> bool:
    """Whether ``plans`` with ``joins`` applied could fit in fewer than ``arena`` bytes: the
    bound :func:`arena_if_below` checks first, from the layout of ``plans`` alone."""
    return align_up(live_peak_after_joins(graph, plans, joins, alignment), alignment) < arena


class _StorageGroups:
    """Storage groups (a tensor, its views and what was written over it) as a union-find,
    with what the in-place rewrite asks of a group kept at its root: the last step that
    reads any member, and whether the caller owns a member (a graph input or output)."""

    def __init__(self, plans: Sequence[OpPlan], caller_owned: set[int]) -> None:
        self._parent = alias_owners(plans)  # the views' groups: each aliased tensor -> its root
        self._last_read: dict[int, int] = {}
        for step, plan in enumerate(plans):
            for t in plan.inputs:
                self._last_read[t] = step
        self._caller_owned = set(caller_owned)
        for t, root in self._parent.items():
            self._last_read[root] = max(self._last_read.get(root, -1), self._last_read.pop(t, -1))
            if t in self._caller_owned:
                self._caller_owned.add(root)

    def root(self, t: int) -> int:
        return find_root(self._parent, t)

    def last_read(self, root: int) -> int:
        return self._last_read.get(root, -1)

    def holds_any(self, root: int, tensors: Sequence[int]) -> bool:
        """Whether the group whose root is ``root`` holds any of ``tensors``."""
        parent = self._parent
        for t in tensors:  # (a tensor outside every group is its own root)
            if t == root or (t in parent and find_root(parent, t) == root):
                return True
        return False

    def caller_owned(self, root: int) -> bool:
        return root in self._caller_owned

    def join(self, t: int, root: int) -> None:
        """Put ``t``'s group into the group whose root is ``root``."""
        other = self.root(t)
        if other == root:
            return
        self._parent[other] = root
        self._last_read[root] = max(self._last_read.get(root, -1), self._last_read.pop(other, -1))
        if other in self._caller_owned:
            self._caller_owned.add(root)


def _asked(options: CompileOptions) -> bool:
    return options.in_place


def _in_place(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return graph, with_in_place_kernels(graph, plans, options.alignment)


IN_PLACE = plan_pass("in_place", _asked, _in_place)
