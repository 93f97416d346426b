"""The memory planner: a pure function, checked for overlaps on random lifetimes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyengine_gen.memory.planner import BufferRequest, find_overlaps, plan_memory


@st.composite
def requests(draw):
    count = draw(st.integers(1, 24))
    result = []
    for i in range(count):
        first = draw(st.integers(0, 20))
        last = draw(st.integers(first, 22))
        result.append(BufferRequest(f"b{i}", draw(st.integers(0, 5000)), first, last))
    return result


@settings(max_examples=300, deadline=None)
@given(requests())
def test_no_two_live_buffers_share_bytes(reqs):
    plan = plan_memory(reqs, alignment=16)
    assert find_overlaps(plan) == []
    assert plan.arena_bytes >= plan.lower_bound


@settings(max_examples=100, deadline=None)
@given(requests())
def test_plan_is_deterministic(reqs):
    assert plan_memory(reqs).offsets == plan_memory(list(reqs)).offsets


def test_chain_reuses_memory():
    # a -> b -> c: c can reuse a's bytes, so the arena holds one 1000-byte buffer plus b.
    reqs = [BufferRequest("a", 1000, 0, 1), BufferRequest("b", 500, 1, 2), BufferRequest("c", 1000, 2, 3)]
    plan = plan_memory(reqs, alignment=16)
    assert plan.arena_bytes == 1520  # a and c at 0, b at 1008 (16-byte aligned), end 1508 rounded up
    assert find_overlaps(plan) == []


def test_overlap_checker_catches_a_bad_plan():
    from tinyengine_gen.memory.planner import MemoryPlan

    reqs = (BufferRequest("a", 100, 0, 1), BufferRequest("b", 100, 1, 2))
    bad = MemoryPlan(reqs, (0, 64), 176, 16)
    assert find_overlaps(bad) == [("a", "b")]


def test_dump_lists_every_buffer():
    reqs = [BufferRequest("first", 64, 0, 0), BufferRequest("second", 32, 1, 1)]
    text = plan_memory(reqs).dump()
    assert "first" in text and "second" in text and "arena 64 B" in text


@settings(max_examples=200, deadline=None)
@given(requests())
def test_lower_bound_is_the_largest_live_sum(reqs):
    plan = plan_memory(reqs)
    steps = range(min(r.first_use for r in reqs), max(r.last_use for r in reqs) + 1)
    assert plan.lower_bound == max(plan.live_bytes(s) for s in steps)


def test_invalid_requests_are_refused_with_their_name():
    for size, first, last in ((-1, 0, 0), (8, -1, 0), (8, 3, 2)):
        with pytest.raises(ValueError, match="'bad'"):
            BufferRequest("bad", size, first, last)
