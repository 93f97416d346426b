"""Which tensors need storage, when, and where: from op plans to one planned arena.

Views (RESHAPE and friends) and in-place kernels share their input's storage; every other
non-constant tensor and every op's scratch buffer gets a lifetime in steps, and the memory
planner turns those lifetimes into offsets. A variable tensor (the state of an SVDF or
LSTM, kept from one invoke to the next) lives over the whole schedule, so no other buffer
ever reuses its bytes. Shared by the compiler, the memory passes, the
patch-stage scheduler and the offline plan exported to TFLite Micro.

The plan passes lay out many variants of one schedule and the NAS cost model runs them
for thousands of configs a second, so recent layouts (by the identity of their immutable
plans) and the lifetimes and group requests of the schedule laid out last are memoised in
the active :class:`~tinyengine_gen.memory.layout_cache.LayoutCache`, an object its owner
passes in (a compile, or the NAS cost model), never in module state.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Sequence

from tinyengine_gen.ir import Graph
from tinyengine_gen.memory.layout_cache import LayoutCache, active_cache
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.memory.planner import BufferRequest, MemoryPlan, align_up, live_peak, plan_memory

__all__ = [
    "alias_owners",
    "arena_if_below",
    "buffer_requests",
    "layout_memory",
    "find_root",
    "live_peak_after_joins",
    "memory_plan",
    "tensor_sizes",
]


def layout_memory(
    graph: Graph, plans: tuple[OpPlan, ...], alignment: int = 16
) -> tuple[MemoryPlan, dict[int, int], dict[int, int]]:
    """(memory plan, tensor index -> arena offset, op index -> scratch offset)."""
    memory, request_tensors, scratch_requests = _planned(active_cache(), graph, plans, alignment)
    tensor_offsets = {t: memory.offsets[r] for r, tensors in request_tensors.items() for t in tensors}
    scratch_offsets = {op_index: memory.offsets[r] for op_index, r in scratch_requests.items()}
    return memory, tensor_offsets, scratch_offsets


def memory_plan(graph: Graph, plans: Sequence[OpPlan], alignment: int = 16) -> MemoryPlan:
    """The planned arena of ``plans`` (what :func:`layout_memory` places), without the offset maps."""
    return _planned(active_cache(), graph, plans, alignment)[0]


def arena_if_below(graph: Graph, plans: Sequence[OpPlan], alignment: int, limit: int) -> int | None:
    """The arena of ``plans`` if it can be smaller than ``limit`` bytes, else None.

    No placement beats the bytes live at the busiest step, so a candidate whose bound
    already reaches ``limit`` is rejected without running the placement: the memory passes
    try several variants per graph, and the NAS cost model runs them for every config.
    """
    cache = active_cache()
    layouts, key, hit = _memoised_layout(cache, graph, plans, alignment)
    if hit is not None:
        arena = hit[0].arena_bytes
        return arena if arena < limit else None
    requests = _requests_of(cache, graph, plans)
    if align_up(live_peak(requests[0]), alignment) >= limit:
        return None
    arena = _place(cache, layouts, key, plans, alignment, requests)[0].arena_bytes
    return arena if arena < limit else None


def live_peak_after_joins(
    graph: Graph, plans: Sequence[OpPlan], joins: Sequence[tuple[int, OpPlan]], alignment: int = 16
) -> int:
    """The live-bytes peak of ``plans`` with the op at each ``step`` of ``joins`` replaced by
    ``variant``, a variant that adds aliases (joins its output's storage to its input's) and
    may change its scratch, and changes nothing else.

    Computed from the layout of ``plans`` (memoised) by merging its groups: a joint group
    takes the largest member's size over the union of their lifetimes. This is exactly the
    bound :func:`arena_if_below` would find for the varied schedule, without building its
    requests, so the in-place pass rejects most of its trials for the price of a sweep.
    """
    memory, request_tensors, _ = _planned(active_cache(), graph, plans, alignment)
    requests = memory.requests
    group_of = {t: r for r, tensors in request_tensors.items() for t in tensors}
    live = memory.live_by_step
    delta = [0] * (len(live) + 1)
    parent: dict[int, int] = {}
    for step, variant in joins:
        for out, inp in variant.aliases:
            root, other = find_root(parent, group_of[inp]), find_root(parent, group_of[out])
            if other != root:
                parent[other] = root
        change = variant.scratch_bytes - plans[step].scratch_bytes
        delta[step] += change
        delta[step + 1] -= change
    joint: dict[int, list[int]] = {}
    for r in parent:
        joint.setdefault(find_root(parent, r), []).append(r)
    for root, members in joint.items():
        members.append(root)
        for r in members:
            delta[requests[r].first_use] -= requests[r].size
            delta[requests[r].last_use + 1] += requests[r].size
        size = max(requests[r].size for r in members)
        delta[min(requests[r].first_use for r in members)] += size
        delta[max(requests[r].last_use for r in members) + 1] -= size
    return max(map(operator.add, live, itertools.accumulate(delta[: len(live)])), default=0)


def _memoised_layout(
    cache: LayoutCache, graph: Graph, plans: Sequence[OpPlan], alignment: int
) -> tuple[dict[tuple, tuple], tuple, tuple | None]:
    """(the recent layouts of ``graph``, the key of ``plans`` in them, the layout there or
    None). Keyed by alignment and plan identities; the layouts are gone with the graph."""
    layouts = cache.layouts.get(graph)
    if layouts is None:
        with cache.lock:
            layouts = cache.layouts.setdefault(graph, {})
    key = (alignment, *map(id, plans))
    hit = layouts.get(key)
    return layouts, key, None if hit is None else hit[1]


def _planned(cache: LayoutCache, graph: Graph, plans: Sequence[OpPlan], alignment: int):
    """(memory plan, request -> tensors, op index -> scratch request), memoised by identity."""
    layouts, key, hit = _memoised_layout(cache, graph, plans, alignment)
    if hit is not None:
        return hit
    return _place(cache, layouts, key, plans, alignment, _requests_of(cache, graph, plans))


def _requests_of(cache: LayoutCache, graph: Graph, plans: Sequence[OpPlan]):
    return buffer_requests(graph, plans, alias_owners(plans), cache)


def _place(
    cache: LayoutCache, layouts: dict[tuple, tuple], key: tuple, plans: Sequence[OpPlan], alignment: int, requests
):
    """Place ``requests`` and remember the layout in ``layouts`` under ``key``. The entry
    keeps the plans alive, so the ids in its key cannot be reused while it is there."""
    request_list, request_tensors, scratch_requests = requests
    result = (plan_memory(request_list, alignment), request_tensors, scratch_requests)
    with cache.lock:
        if len(layouts) >= cache.LAYOUTS_PER_GRAPH:
            del layouts[next(iter(layouts))]
        layouts[key] = (tuple(plans), result)
    return result


def alias_owners(plans: Sequence[OpPlan]) -> dict[int, int]:
    """Map each aliased tensor to the tensor whose storage it shares (union-find root; an
    alias ``(out, inp)`` puts ``out``'s group under ``inp``'s root)."""
    parent: dict[int, int] = {}  # non-roots only
    for plan in plans:
        for out, inp in plan.aliases:
            # (inline for the usual case: both ends are roots or point at one)
            root = parent.get(inp, inp)
            if root in parent:
                root = find_root(parent, root)
            out_root = parent.get(out, out)
            if out_root in parent:
                out_root = find_root(parent, out_root)
            if out_root != root:
                parent[out_root] = root
    return {t: find_root(parent, up) if up in parent else up for t, up in parent.items()}


def find_root(parent: dict[int, int], t: int) -> int:
    """Union-find root of ``t`` (``parent`` holds non-roots only), pointing the path at it."""
    root = parent.get(t)
    if root is None:
        return t
    up = parent.get(root)
    if up is None:
        return root
    path = [t]
    while up is not None:
        path.append(root)
        root, up = up, parent.get(up)
    for node in path:
        parent[node] = root
    return root


def buffer_requests(graph: Graph, plans: Sequence[OpPlan], owners: dict[int, int], cache: LayoutCache | None = None):
    """One request per storage group (a tensor and its views) and per op scratch buffer.

    ``owners`` maps a tensor to the tensor whose storage it shares; pass ``{}`` for a layout
    in which every tensor has its own storage (what TFLite Micro executes). A group lives
    from the first step that touches any of its tensors to the last; graph inputs are live
    from step 0 and graph outputs until the last step. Requests come in the order of their
    group's owner tensor, then the scratch buffers in step order.
    Returns (requests, request index -> tensors, op index -> scratch request index).
    """
    lifetimes = _lifetimes(cache or active_cache(), graph, plans)
    if owners:
        members: dict[int, list[int]] = {}
        for t in lifetimes.tensors:  # ascending, so each group's list comes out sorted
            members.setdefault(owners.get(t, t), []).append(t)
        group_owners = sorted(members)
        groups = [members[owner] for owner in group_owners]
    else:
        group_owners = lifetimes.tensors
        groups = [[t] for t in group_owners]
    requests = [lifetimes.request(graph, owner, group) for owner, group in zip(group_owners, groups)]
    request_tensors = dict(enumerate(groups))
    scratch_requests: dict[int, int] = {}
    for step, plan in enumerate(plans):
        request = lifetimes.scratch_request(step, plan)
        if request is not None:
            scratch_requests[plan.op_index] = len(requests)
            requests.append(request)
    return requests, request_tensors, scratch_requests


class _Lifetimes:
    """When each tensor that needs storage is first and last touched under one op schedule,
    and the request of each storage group asked for so far: with the lifetimes fixed, a
    group's request depends on its members only, and the memory passes lay out many
    variants of one schedule (in place or not, lean or not) that share most groups."""

    __slots__ = ("io", "first", "last", "tensors", "requests", "scratch", "_graph_tensors", "_sizes")

    def __init__(self, graph: Graph, plans: Sequence[OpPlan], io: list, facts: "_GraphFacts") -> None:
        activations = facts.activations
        first: dict[int, int] = {index: 0 for index in graph.inputs}
        last: dict[int, int] = dict(first)
        for step, (inputs, outputs) in enumerate(io):
            for t in inputs + outputs:
                if t in activations:
                    if t not in first:
                        first[t] = step
                    last[t] = step
        end = max(len(plans) - 1, 0)
        for index in graph.outputs:
            first.setdefault(index, end)
            last[index] = end
        for index in facts.variables:  # state kept between invokes: never shares its bytes
            first[index], last[index] = 0, end
        self.io, self.first, self.last = io, first, last
        # the facts' tables, not the facts object, which holds this one (no reference cycle)
        self._graph_tensors, self._sizes = facts.tensors, facts.sizes
        self.tensors = sorted(first)
        self.requests: dict[object, BufferRequest] = {}
        self.scratch: list[tuple[OpPlan, BufferRequest | None] | None] = [None] * len(plans)

    def scratch_request(self, step: int, plan: OpPlan) -> BufferRequest | None:
        """The request of ``plan``'s scratch buffer at ``step`` (None without one), kept per
        step with the plan it was made for: the variants laid out share most plan objects."""
        entry = self.scratch[step]
        if entry is None or entry[0] is not plan:
            size = plan.scratch_bytes
            request = BufferRequest(f"scratch:op{plan.op_index}", size, step, step) if size > 0 else None
            entry = self.scratch[step] = (plan, request)
        return entry[1]

    def request(self, graph: Graph, owner: int, group: list[int]) -> BufferRequest:
        """The request of the storage group ``group`` (sorted tensors) whose storage ``owner`` owns."""
        if len(group) == 1:  # (most groups: one tensor)
            request = self.requests.get(owner)
            if request is None:
                t = group[0]
                name = f"t{owner}:{self._graph_tensors[t].name}"
                size = _size(graph, self._sizes, t)
                request = self.requests[owner] = BufferRequest(name, size, self.first[t], self.last[t])
            return request
        key = (owner, *group)
        request = self.requests.get(key)
        if request is None:
            tensors, first, last = self._graph_tensors, self.first, self.last
            request = self.requests[key] = BufferRequest(
                f"t{owner}:" + "+".join(tensors[t].name for t in group),
                max(_size(graph, self._sizes, t) for t in group),
                min(first[t] for t in group),
                max(last[t] for t in group),
            )
        return request


def _lifetimes(cache: LayoutCache, graph: Graph, plans: Sequence[OpPlan]) -> _Lifetimes:
    """The lifetimes of ``plans`` on ``graph``, reused while the ops read and write the same tensors."""
    facts = _facts(cache, graph)
    io = [(plan.inputs, plan.outputs) for plan in plans]
    lifetimes = facts.lifetimes
    if lifetimes is None or lifetimes.io != io:
        lifetimes = facts.lifetimes = _Lifetimes(graph, plans, io, facts)
    return lifetimes


class _GraphFacts:
    """Facts about a graph's tensors the layout asks for on every call: which need storage,
    their sizes, and the lifetimes of the schedule laid out last. They depend on the
    tensors only, so graphs that share their tensor tuple (a graph and its fused rewrite)
    share them."""

    __slots__ = ("tensors", "activations", "variables", "sizes", "lifetimes")

    def __init__(self, graph: Graph) -> None:
        self.tensors = graph.tensors
        self.activations = frozenset(t.index for t in graph.tensors if t.data is None)
        self.variables = tuple(sorted(t.index for t in graph.tensors if t.is_variable))
        self.sizes: dict[int, int] = {}
        self.lifetimes: _Lifetimes | None = None


def tensor_sizes(graph: Graph) -> Callable[[int], int]:
    """Bytes of a tensor of ``graph`` by index, memoised per graph. Bound once per graph:
    the in-place pass asks for thousands of sizes per graph."""
    return functools.partial(_size, graph, _facts(active_cache(), graph).sizes)


def _size(graph: Graph, sizes: dict[int, int], t: int) -> int:
    """Bytes of tensor ``t``, memoised in ``sizes``."""
    size = sizes.get(t)
    if size is None:
        size = sizes[t] = graph.tensors[t].nbytes
    return size


def _facts(cache: LayoutCache, graph: Graph) -> _GraphFacts:
    facts = cache.facts.get(graph)
    if facts is None:
        last = cache.last_facts
        facts = last if last is not None and last.tensors is graph.tensors else _GraphFacts(graph)
        cache.facts[graph] = cache.last_facts = facts
    return facts
