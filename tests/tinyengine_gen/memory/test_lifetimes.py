"""Storage groups, buffer requests and the layout memo, against plain reference versions.

The fast paths (lifetimes and group requests reused across variants of one schedule,
layouts memoised by identity, union-find with path compression) must give exactly what
the straightforward algorithms give, or the arena and the NAS cost model would drift.
"""

from __future__ import annotations

import dataclasses
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.model_factory import convert_int8, keras
from tinyengine_gen.memory import lifetimes
from tinyengine_gen.memory.layout_cache import LayoutCache
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.memory.planner import BufferRequest, plan_memory
from tinyengine_gen.frontend.reader import read_model_bytes


def _reference_owners(plans) -> dict[int, int]:
    parent: dict[int, int] = {}

    def root(t: int) -> int:
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    for plan in plans:
        for out, inp in plan.aliases:
            parent[root(out)] = root(inp)
    return {t: root(t) for t in parent}


def _reference_requests(graph, plans, owners):
    """The plain algorithm: touch every tensor at every step, group by owner, name and size each group."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    members: dict[int, set[int]] = {}

    def touch(t: int, step: int) -> None:
        owner = owners.get(t, t)
        members.setdefault(owner, set()).add(t)
        first[owner] = min(first.get(owner, step), step)
        last[owner] = max(last.get(owner, step), step)

    for t in graph.inputs:
        touch(t, 0)
    for step, plan in enumerate(plans):
        for t in plan.inputs + plan.outputs:
            if graph.tensor(t).data is None:
                touch(t, step)
    for t in graph.outputs:
        touch(t, max(len(plans) - 1, 0))
    requests, request_tensors = [], {}
    for owner in sorted(members):
        group = sorted(members[owner])
        name = "+".join(graph.tensor(t).name for t in group)
        request_tensors[len(requests)] = group
        requests.append(
            BufferRequest(f"t{owner}:{name}", max(graph.tensor(t).nbytes for t in group), first[owner], last[owner])
        )
    scratch = {}
    for step, plan in enumerate(plans):
        if plan.scratch_bytes > 0:
            scratch[plan.op_index] = len(requests)
            requests.append(BufferRequest(f"scratch:op{plan.op_index}", plan.scratch_bytes, step, step))
    return requests, request_tensors, scratch


def _blocks():
    inputs = keras.Input((12, 12, 8), batch_size=1)
    x = inputs
    for expand in (3, 6):
        y = keras.layers.Conv2D(8 * expand, 1, activation="relu6")(x)
        y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
        y = keras.layers.Conv2D(8, 1)(y)
        x = keras.layers.Add()([x, y])
    x = keras.layers.Conv2D(16, 1, activation="relu6")(x)
    x = keras.layers.Reshape((12 * 12 * 16,))(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


@pytest.fixture(scope="module")
def compiled():
    graph = read_model_bytes(convert_int8(_blocks), "blocks.tflite")
    return compile_graph(graph, CompileOptions(int8_input=True))


def _plain_plans(compiled):
    """The compiled plans with every in-place variant undone (views stay)."""
    return tuple(dataclasses.replace(p, in_place=False) if getattr(p, "in_place", False) else p for p in compiled.plans)


def test_requests_equal_the_plain_algorithm_for_every_mix_of_variants(compiled):
    graph, final = compiled.graph, compiled.plans
    plain = _plain_plans(compiled)
    varied = [s for s, (a, b) in enumerate(zip(plain, final)) if a is not b]
    assert varied, "the model should exercise in-place variants"
    rng = random.Random(0)
    mixes = [set(), set(varied)] + [set(rng.sample(varied, k)) for k in range(1, len(varied)) for _ in range(3)]
    for mix in mixes:  # one schedule, many variants: the cached lifetimes and requests are reused
        plans = tuple(final[s] if s in mix else plain[s] for s in range(len(plain)))
        owners = lifetimes.alias_owners(plans)
        assert owners == _reference_owners(plans)
        for given_owners in (owners, {}):
            ours = lifetimes.buffer_requests(graph, plans, given_owners)
            assert ours == _reference_requests(graph, plans, given_owners)


def test_layout_memo_is_by_identity_and_matches_a_fresh_plan(compiled):
    graph, plans = compiled.graph, compiled.plans
    with LayoutCache().active():
        memory = lifetimes.memory_plan(graph, plans, 16)
        assert lifetimes.memory_plan(graph, list(plans), 16) is memory  # same plan objects: same layout
        fresh = plan_memory(_reference_requests(graph, plans, _reference_owners(plans))[0], 16)
        assert (memory.offsets, memory.arena_bytes) == (fresh.offsets, fresh.arena_bytes)
        plain = _plain_plans(compiled)
        assert lifetimes.memory_plan(graph, plain, 16) is not memory


def test_outside_an_active_cache_nothing_is_kept_between_calls(compiled):
    graph, plans = compiled.graph, compiled.plans
    first = lifetimes.memory_plan(graph, plans, 16)
    second = lifetimes.memory_plan(graph, plans, 16)
    assert second is not first and (second.offsets, second.arena_bytes) == (first.offsets, first.arena_bytes)


def test_the_default_compile_keeps_nothing_and_a_given_cache_is_the_one_used(compiled):
    graph = compiled.source_graph
    ambient, owned = LayoutCache(), LayoutCache()
    with ambient.active():
        plain = compile_graph(graph)  # a cache of its own, dropped with the call
        shared = compile_graph(graph, layout_cache=owned)
    assert len(ambient.layouts) == 0 and len(ambient.facts) == 0
    assert shared.graph in owned.layouts
    assert (shared.arena_bytes, shared.tensor_offsets) == (plain.arena_bytes, plain.tensor_offsets)


def test_arena_if_below_answers_exactly_around_the_arena(compiled):
    graph = compiled.graph
    plain = _plain_plans(compiled)
    arena = plan_memory(_reference_requests(graph, plain, _reference_owners(plain))[0], 16).arena_bytes
    cache = LayoutCache()
    with cache.active():
        for limit in (arena - 16, arena, arena + 1, 2 * arena):
            cache.forget(graph)  # answer from the bound and the planner, not the memo
            expected = arena if arena < limit else None
            assert lifetimes.arena_if_below(graph, plain, 16, limit) == expected


class _Aliasing:
    def __init__(self, aliases):
        self.aliases = tuple(aliases)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=40), st.integers(1, 5))
def test_alias_owners_equals_the_plain_union_find(pairs, chunk):
    plans = [_Aliasing(pairs[i : i + chunk]) for i in range(0, len(pairs), chunk)]
    ours = lifetimes.alias_owners(plans)
    reference = _reference_owners(plans)
    for t in set(itertools.chain.from_iterable(pairs)):
        assert ours.get(t, t) == reference.get(t, t)


def test_a_long_in_place_chain_shares_its_first_tensor():
    chain = [_Aliasing([(t + 1, t)]) for t in range(20000)]  # (root walks without compression: minutes)
    owners = lifetimes.alias_owners(chain)
    assert owners[20000] == 0 and len(owners) == 20000


def test_live_peak_after_joins_is_the_peak_of_the_varied_schedule(compiled):
    from tinyengine_gen.memory.planner import live_peak

    graph, final = compiled.graph, compiled.plans
    plain = _plain_plans(compiled)
    varied = [s for s, (a, b) in enumerate(zip(plain, final)) if a is not b]
    rng = random.Random(1)
    for base_mix in (set(), set(rng.sample(varied, len(varied) // 2))):
        base = tuple(final[s] if s in base_mix else plain[s] for s in range(len(plain)))
        free = [s for s in varied if s not in base_mix]
        for k in range(1, len(free) + 1):
            joins = sorted(rng.sample(free, k))
            varied_plans = tuple(final[s] if s in joins else p for s, p in enumerate(base))
            expected = live_peak(_reference_requests(graph, varied_plans, _reference_owners(varied_plans))[0])
            assert lifetimes.live_peak_after_joins(graph, base, [(s, final[s]) for s in joins], 16) == expected
