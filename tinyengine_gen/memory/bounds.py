"""Bytes the arena must hold while each op runs, whatever the plan passes decide.

The patch scheduler prices candidate schedules by running the plan passes and the memory
planner on each (milliseconds), and the NAS cost model asks for thousands of such
decisions; most candidates lose to a peak that lies after the patch stage, in ops that
run layer-wise in every schedule. :func:`live_lower_bounds` bounds that part without
running anything: per op, the bytes of the tensors that must be live at once while it runs.

It holds for every outcome of the plan passes, because it assumes the most they can do:

- residual fusion may remove a map that only one ADD reads: such a map is not counted;
- an in-place kernel may write its outputs over an input that no later op reads and that
  is not the caller's (a graph input or output): at that op they count as the largest of
  them. Tensors of one storage group are live together only there (a group's members
  follow one another) or where one is a view of the other (counted once); tensors of
  different groups that are live at the same step never share bytes;
- a kernel with a lean variant may need no scratch, an in-place variant its own scratch,
  a fused ADD none: per op, the least of (its tensors apart + the least scratch of its
  variants that write apart) and (its tensors sharing + the least scratch of its in-place
  variants and their lean ones); no scratch where it may be fused (nor with
  ``count_scratch=False``, for passes such as int4 packing that swap kernels too).

Tests check the bound against the compiled arena on sampled sub-networks.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinyengine_gen.ir import Graph
from tinyengine_gen.memory.layout_cache import active_cache
from tinyengine_gen.memory.lifetimes import find_root
from tinyengine_gen.ops.base import OpPlan, has_in_place_variant, has_lean_variant

__all__ = ["live_lower_bounds", "lower_bounds_ceiling"]


def live_lower_bounds(
    graph: Graph, plans: Sequence[OpPlan], opcodes: Sequence[str], *, count_scratch: bool = True
) -> list[int]:
    """For each step of ``plans`` (``opcodes[step]`` its operator's opcode): a lower bound on
    the bytes live while it runs, in any layout the plan passes and the memory planner make
    of this schedule or of any schedule that runs that step's op layer-wise with the same
    readers and writers of its live tensors. The last answer per graph is kept in the active
    :class:`~tinyengine_gen.memory.layout_cache.LayoutCache` (plans are immutable)."""
    cache = active_cache()
    held = cache.bounds.get(graph)
    if held is not None and held[1] == count_scratch and len(held[0]) == len(plans) and all(
        a is b for a, b in zip(held[0], plans)
    ):
        return held[2]
    result = _live_lower_bounds(graph, plans, opcodes, count_scratch)
    with cache.lock:
        cache.bounds[graph] = (tuple(plans), count_scratch, result)
    return result


def lower_bounds_ceiling(graph: Graph, plans: Sequence[OpPlan]) -> int:
    """A number no step's :func:`live_lower_bounds` exceeds, in one pass over the tensors:
    every non-constant tensor live at once, plus the largest scratch of any plan. A caller
    whose budget is at least this learns nothing from the bounds and need not compute them
    (the NAS cost model under a roomy SRAM budget: the bounds are a quarter of its time)."""
    activations = sum(t.nbytes for t in graph.tensors if t.data is None)
    return activations + max((plan.scratch_bytes for plan in plans), default=0)


def _live_lower_bounds(graph: Graph, plans: Sequence[OpPlan], opcodes: Sequence[str], count_scratch: bool) -> list[int]:
    steps = len(plans)
    caller = set(graph.inputs) | set(graph.outputs)
    first: dict[int, int] = {t: 0 for t in graph.inputs}
    last: dict[int, int] = dict(first)
    readers: dict[int, list[int]] = {}
    for step, plan in enumerate(plans):
        for t in plan.inputs:
            if t >= 0 and graph.tensors[t].data is None:
                readers.setdefault(t, []).append(step)
                first.setdefault(t, step)
                last[t] = step
        for t in plan.outputs:
            first.setdefault(t, step)
            last[t] = max(last.get(t, step), step)
    for t in graph.outputs:
        first.setdefault(t, max(steps - 1, 0))
        last[t] = max(steps - 1, 0)
    # maps residual fusion may remove: read once, by an ADD, and not the caller's
    fusable = {t for t, steps_reading in readers.items() if len(steps_reading) == 1
               and opcodes[steps_reading[0]] == "ADD" and t not in caller}
    # views share their input's storage for good: one group, counted once
    views: dict[int, int] = {}
    for plan in plans:
        for out, inp in plan.aliases:
            a, b = find_root(views, inp), find_root(views, out)
            if a != b:
                views[b] = a
    # per step, per group: the largest live member (a sweep over the lifetimes)
    live: list[dict[int, int]] = [{} for _ in range(steps)]
    for t, start in first.items():
        if t in fusable:
            continue
        size = graph.tensors[t].nbytes
        root = find_root(views, t)
        for step in range(start, last[t] + 1):
            held = live[step]
            if held.get(root, -1) < size:
                held[root] = size
    # an op may write its outputs over an input that dies there (in place): those share, and
    # the op then needs the scratch of its in-place variants; written apart, that of its others
    totals = []
    for step, plan in enumerate(plans):
        held = live[step]
        apart = sum(held.values())
        dying = {find_root(views, t) for t in plan.inputs
                 if last.get(t) == step and t not in caller and t not in fusable}
        written = {find_root(views, t) for t in plan.outputs if t not in fusable}
        shared = (dying | written) & held.keys()
        fused = any(t in fusable for t in (*plan.inputs, *plan.outputs))
        scratch_apart, scratch_shared = (0, 0) if fused or not count_scratch else _least_scratch(plan)
        total = apart + scratch_apart
        if dying & shared and written & shared and len(shared) > 1:
            together = apart - sum(held[root] for root in shared) + max(held[root] for root in shared)
            total = min(total, together + scratch_shared)
        totals.append(total)
    return totals


def _least_scratch(plan: OpPlan) -> tuple[int, int]:
    """The least scratch the passes can leave ``plan`` with, written apart from its input and
    written over it (in place): 0 where a lean kernel may run it, and in place where no
    in-place variant says otherwise (a fused or view op)."""
    apart = 0 if has_lean_variant(plan) else plan.scratch_bytes
    variant = plan.in_place_variant() if has_in_place_variant(plan) else None
    if variant is None:
        return apart, 0
    shared = variant.scratch_bytes
    if shared and has_lean_variant(variant):
        lean = variant.lean_variant()
        if lean is not None:
            shared = min(shared, lean.scratch_bytes)
    return apart, shared
