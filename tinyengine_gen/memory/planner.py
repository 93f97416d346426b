"""Static memory planning: buffer lifetimes -> offsets in one arena.

This is a pure function of the buffer requests, so the NAS cost model can call it on a
graph built from an architecture config and get exactly the arena the generated C will
declare. The algorithm is TFLite Micro's greedy idea done at compile time, tried under
several orders: place buffers one by one, each at the lowest offset where it overlaps no
already-placed buffer whose lifetime intersects its own, and keep the order that gives the
smallest arena. This is not guaranteed to be optimal; in practice it usually reaches the
lower bound (the largest sum of simultaneously live buffers), which the plan also reports
so that any gap is visible.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["BufferRequest", "MemoryPlan", "PLACEMENT_ORDERS", "plan_memory", "find_overlaps", "align_up", "live_peak", "live_bytes_by_step"]


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


class _BufferRequestFields(NamedTuple):
    name: str
    size: int
    first_use: int
    last_use: int


class BufferRequest(_BufferRequestFields):
    """A buffer of ``size`` bytes live from step ``first_use`` to ``last_use`` inclusive (steps count from 0).

    An immutable named tuple rather than a dataclass: every layout makes one per buffer,
    and the NAS cost model makes thousands of layouts a second.
    """

    __slots__ = ()

    def __new__(cls, name: str, size: int, first_use: int, last_use: int) -> "BufferRequest":
        if size < 0 or first_use < 0 or last_use < first_use:
            raise ValueError(f"invalid buffer request {name!r}: {size} B, steps {first_use}..{last_use}")
        return tuple.__new__(cls, (name, size, first_use, last_use))

    def overlaps_in_time(self, other: "BufferRequest") -> bool:
        return self.first_use <= other.last_use and other.first_use <= self.last_use


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    requests: tuple[BufferRequest, ...]
    offsets: tuple[int, ...]
    arena_bytes: int
    alignment: int

    def live_bytes(self, step: int) -> int:
        """Bytes of buffers live at ``step`` (what the op at that step touches or must keep)."""
        live = self.live_by_step
        return live[step] if 0 <= step < len(live) else 0

    @functools.cached_property
    def live_by_step(self) -> tuple[int, ...]:
        """Bytes live at each step, from 0 to the last step any buffer is used."""
        return live_bytes_by_step(self.requests)

    @functools.cached_property
    def lower_bound(self) -> int:
        """No placement can use less than the largest sum of simultaneously live buffers."""
        return max(self.live_by_step, default=0)

    def dump(self) -> str:
        """A text table of the plan, one buffer a line, for debugging and reports."""
        lines = [f"arena {self.arena_bytes} B (lower bound {self.lower_bound} B), alignment {self.alignment}"]
        order = sorted(range(len(self.requests)), key=lambda i: (self.offsets[i], self.requests[i].first_use))
        for i in order:
            r = self.requests[i]
            lines.append(
                f"  [{self.offsets[i]:>9}, {self.offsets[i] + r.size:>9})  {r.size:>9} B  "
                f"steps {r.first_use:>4}..{r.last_use:<4} {r.name}"
            )
        return "\n".join(lines)


def _largest_first(names, sizes, firsts, lasts):
    return [-size for size in sizes], firsts, names


def _longest_lived_first(names, sizes, firsts, lasts):
    return [first - last for first, last in zip(firsts, lasts)], [-size for size in sizes], names


def _largest_area_first(names, sizes, firsts, lasts):
    return [-size * (last - first + 1) for size, first, last in zip(sizes, firsts, lasts)], firsts, names


def _earliest_first(names, sizes, firsts, lasts):
    return firsts, [-size for size in sizes], names


#: Placement orders tried by :func:`plan_memory`, first to last. Each gives the columns of
#: the requests' sort key (most significant first) from their names, sizes, first and last
#: uses; the request's index breaks the remaining ties.
PLACEMENT_ORDERS = {
    "largest first": _largest_first,
    "longest lived first": _longest_lived_first,
    "largest area first": _largest_area_first,
    "earliest first": _earliest_first,
}


def live_bytes_by_step(requests: Sequence[BufferRequest]) -> tuple[int, ...]:
    """Bytes live at each step from 0 to the last use of any request (a difference array)."""
    steps = max((r.last_use for r in requests), default=-1) + 1
    delta = [0] * (steps + 1)
    for _, size, first_use, last_use in requests:
        delta[first_use] += size
        delta[last_use + 1] -= size
    return tuple(itertools.accumulate(delta[:steps]))


def live_peak(requests: Sequence[BufferRequest]) -> int:
    """The largest sum of sizes live at one step."""
    return max(live_bytes_by_step(requests), default=0)


def _first_fit(sizes: list[int], aligned_sizes: list[int], order: list[int], neighbours: list[list[int]]) -> list[int]:
    """Each buffer in ``order`` at the lowest aligned offset clear of its placed neighbours.

    Offsets are aligned, so a placed buffer's aligned end is its offset plus its aligned size.
    Placed neighbours are scanned by offset (the order among equal offsets cannot change
    the result: once one of them is not skipped, none is).
    """
    offsets = [-1] * len(sizes)  # -1: not placed yet
    ends = [0] * len(sizes)
    by_offset = offsets.__getitem__
    for i in order:
        placed = [j for j in neighbours[i] if offsets[j] >= 0]
        candidate = 0
        if placed:
            size = sizes[i]
            if len(placed) > 1:
                placed.sort(key=by_offset)
            for j in placed:
                if candidate + size <= offsets[j]:
                    break
                if ends[j] > candidate:
                    candidate = ends[j]
        offsets[i] = candidate
        ends[i] = candidate + aligned_sizes[i]
    return offsets


def _time_neighbours(sizes: list[int], firsts: list[int], lasts: list[int]) -> list[list[int]]:
    """For each buffer, the non-empty buffers whose lifetimes intersect its own.

    A sweep over start times: most buffers of a network live a few steps, so each one
    meets only a handful of others and this stays near-linear.
    """
    order = sorted(range(len(sizes)), key=firsts.__getitem__)
    neighbours: list[list[int]] = [[] for _ in sizes]
    count = len(order)
    for position, i in enumerate(order):
        end, mine = lasts[i], neighbours[i]
        nonempty = sizes[i] > 0
        for later in range(position + 1, count):
            j = order[later]
            if firsts[j] > end:
                break
            if sizes[j] > 0:
                mine.append(j)
            if nonempty:
                neighbours[j].append(i)
    return neighbours


def plan_memory(requests: Sequence[BufferRequest], alignment: int = 16) -> MemoryPlan:
    """First-fit placement under several orders (largest first, longest lived first, …);
    the smallest arena wins, ties going to the earlier order. Deterministic."""
    best: tuple[int, list[int]] | None = None
    live = live_bytes_by_step(requests)
    bound = align_up(max(live, default=0), alignment)
    names, sizes, firsts, lasts = (list(column) for column in zip(*requests)) if requests else ([], [], [], [])
    aligned_sizes = [align_up(size, alignment) for size in sizes]
    neighbours = _time_neighbours(sizes, firsts, lasts)
    for keys in PLACEMENT_ORDERS.values():
        order = [key[-1] for key in sorted(zip(*keys(names, sizes, firsts, lasts), range(len(sizes))))]
        offsets = _first_fit(sizes, aligned_sizes, order, neighbours)
        arena = align_up(max(map(operator.add, offsets, sizes), default=0), alignment)
        if best is None or arena < best[0]:
            best = (arena, offsets)
        if arena <= bound:
            break  # cannot do better than the bound
    assert best is not None or not requests
    arena, offsets = best if best else (0, [])
    plan = MemoryPlan(tuple(requests), tuple(offsets), arena, alignment)
    plan.__dict__["live_by_step"] = live  # the cached property, already computed
    return plan


def find_overlaps(plan: MemoryPlan) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same time and share bytes (must be empty)."""
    problems = []
    requests, offsets = plan.requests, plan.offsets
    for i in range(len(requests)):
        for j in range(i + 1, len(requests)):
            a, b = requests[i], requests[j]
            if a.size == 0 or b.size == 0 or not a.overlaps_in_time(b):
                continue
            if offsets[i] < offsets[j] + b.size and offsets[j] < offsets[i] + a.size:
                problems.append((a.name, b.name))
    for i, r in enumerate(requests):
        if offsets[i] % plan.alignment or offsets[i] + r.size > plan.arena_bytes:
            problems.append((r.name, "arena bounds/alignment"))
    return problems
