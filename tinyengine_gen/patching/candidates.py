"""The candidates of an ``auto`` patch search, with their extra MACs, in one pass per axis.

``auto`` considers every split point and every grid of ``AUTO_GRIDS``; most candidates
recompute far more than the MAC bound allows (a deep split's receptive field covers most
of the image), and building each one's stage to find that out is what made the search
slow. Here every candidate is checked and priced without building anything:

* the checks of :func:`~tinyengine_gen.patching.stage.outline_patch_stage` run once per
  split, incrementally (the first op that cannot run on patches ends every deeper split;
  a tensor leaks out of the stage when a later op reads it);
* a stage's MACs factor per axis (see :func:`~tinyengine_gen.patching.stage.stage_macs`),
  and the backward pass that maps a split's bands to each tensor's intervals runs for all
  splits and all grids at once, as arrays of intervals (rows: splits; columns: bands).

The result is exactly what checking and building every candidate in order would give
(``tests/tinyengine_gen/patching`` compare the two): which candidates exist, the extra
MACs of each, and the last candidate it refuses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from tinyengine_gen.ir import DType, Graph
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.patching.adapters import adapter_for, required_adapter
from tinyengine_gen.patching.regions import cuts
from tinyengine_gen.patching.stage import (
    StageError,
    StageOutline,
    build_outlined_stage,
    outline_patch_stage,
    stage_entry,
)

__all__ = ["Candidate", "CandidateSet", "auto_candidates"]

#: the empty interval of a union (min/max leave the other side unchanged)
_EMPTY_START, _EMPTY_STOP = 1 << 40, -(1 << 40)


@dataclasses.dataclass(frozen=True)
class Candidate:
    outline: StageOutline
    grid: tuple[int, int]
    order: int  # position in the search's split-major, grid-minor order (ties go to the first)
    macs: int  # the stage's MACs, recomputed halos included
    #: the largest buffer of one stage op's output for one patch (the stage arena holds at least that)
    largest_buffer: int


@dataclasses.dataclass(frozen=True)
class CandidateSet:
    #: candidates whose stage can be built, in search order
    candidates: tuple[Candidate, ...]
    #: the last (split, grid) the search refuses (its checks raise), None if none
    last_refused: tuple[int, tuple[int, int]] | None

    def last_reason(self, graph: Graph, plans: Sequence[OpPlan]) -> str:
        """Why the last refused candidate is refused: its checks' own message ("" if none is)."""
        if self.last_refused is None:
            return ""
        split, grid = self.last_refused
        try:
            build_outlined_stage(graph, plans, outline_patch_stage(graph, plans, split, grid), grid)
        except StageError as exc:
            return str(exc)
        raise AssertionError(f"split {split}, grid {grid} was refused but builds")  # pragma: no cover


def auto_candidates(graph: Graph, plans: Sequence[OpPlan], grids: Sequence[tuple[int, int]]) -> CandidateSet:
    """Every (split, grid) a search over all splits and ``grids`` (ascending) can build, priced.

    A refused split refuses every grid (a grid that does not fit refuses the larger ones),
    so a split has at most one refusal, at its first failing grid."""
    refusals: dict[int, tuple[int, int]] = {}
    try:
        source, entry, nchw, first_spatial = stage_entry(graph, plans)
    except StageError:
        return CandidateSet((), (len(plans) - 1, grids[0]) if len(plans) > 1 else None)
    splits = _valid_splits(graph, plans, first_spatial, refusals, grids[0])
    fitting: list[tuple[int, tuple[int, int]]] = []
    for split in splits:
        _, height, width, _ = graph.tensor(plans[split - 1].outputs[0]).shape
        for grid in grids:
            if grid[0] > height or grid[1] > width:
                refusals[split] = grid
                break
            fitting.append((split, grid))
    candidates = []
    if fitting:
        macs, largest, nothing_fed = _stage_macs(graph, plans, first_spatial, splits, grids)
        row = {split: number for number, split in enumerate(splits)}
        for order, (split, grid) in enumerate(fitting):
            if split in nothing_fed:
                refusals.setdefault(split, grid)
                continue
            outline = StageOutline(source, entry, nchw, tuple(plans[first_spatial:split]), split, plans[split - 1].outputs[0])
            column = grids.index(grid)
            candidates.append(
                Candidate(outline, grid, order, int(macs[row[split], column]), int(largest[row[split], column]))
            )
    last = max(refusals) if refusals else None
    return CandidateSet(tuple(candidates), (last, refusals[last]) if last is not None else None)


def _valid_splits(
    graph: Graph, plans: Sequence[OpPlan], first_spatial: int, refusals: dict[int, tuple[int, int]], grid: tuple[int, int]
) -> list[int]:
    """Splits whose outline checks pass (the grid aside); the others go to ``refusals``."""
    last_reader: dict[int, int] = {}
    for position, plan in enumerate(plans):
        for tensor in plan.inputs:
            last_reader[tensor] = position
    outputs = set(graph.outputs)
    valid: list[int] = []
    produced: list[int] = []
    for split in range(1, len(plans)):
        plan = plans[split - 1]
        produced.append(plan.outputs[0])
        if split - 1 >= first_spatial and not _runs_on_patches(graph, plan):
            refusals[len(plans) - 1] = grid  # every deeper split fails on this op
            return valid
        split_tensor = plan.outputs[0]
        if split <= first_spatial or any(
            t != split_tensor and (t in outputs or last_reader.get(t, -1) >= split) for t in produced
        ):
            refusals[split] = grid
            continue
        valid.append(split)
    return valid


def _runs_on_patches(graph: Graph, plan: OpPlan) -> bool:
    if adapter_for(plan) is None or len(plan.outputs) != 1:
        return False
    tensor = graph.tensor(plan.outputs[0])
    return tensor.dtype == DType.INT8 and len(tensor.shape) == 4


def _stage_macs(
    graph: Graph, plans: Sequence[OpPlan], first_spatial: int, splits: list[int], grids: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """MACs[split row, grid] of every stage, its largest per-patch output buffer, and the
    splits where an op inside feeds nothing."""
    rows = _band_sums(graph, plans, first_spatial, splits, grids, 0)
    columns = rows if _square(graph, plans, first_spatial, splits, grids) else _band_sums(
        graph, plans, first_spatial, splits, grids, 1
    )
    macs = np.zeros((len(splits), len(grids)), dtype=np.int64)
    largest = np.zeros_like(macs)
    nothing_fed: set[int] = set()
    split_array = np.array(splits)
    for position in range(first_spatial, splits[-1]):
        plan = plans[position]
        rows_sum, rows_max, rows_fed = rows[position]
        columns_sum, columns_max, _ = columns[position]
        _, height, width, channels = graph.tensor(plan.outputs[0]).shape
        active = split_array > position
        macs[active] += (plan.macs // (height * width)) * rows_sum * columns_sum
        largest[active] = np.maximum(largest[active], rows_max * columns_max * channels)
        nothing_fed.update(int(s) for s in split_array[active][~rows_fed])
    return macs, largest, nothing_fed


def _square(graph, plans, first_spatial, splits, grids) -> bool:
    """Whether rows and columns go through the same intervals (square maps, grids and windows)."""
    if any(rows != columns for rows, columns in grids):
        return False
    for plan in plans[first_spatial : splits[-1]]:
        _, height, width, _ = graph.tensor(plan.outputs[0]).shape
        window = required_adapter(plan).window(plan)
        if height != width or (
            window is not None
            and any(len(set(pair)) != 1 for pair in (window.kernel, window.stride, window.dilation, window.padding, window.input_size))
        ):
            return False
    return True


def _band_sums(graph, plans, first_spatial, splits, grids, axis):
    """Per stage op: the summed interval lengths of its output per (active split, grid), and
    whether each active split needs that output at all (backwards, all splits at once)."""
    grid_sizes = [grid[axis] for grid in grids]
    offsets = np.cumsum([0] + grid_sizes[:-1])
    split_rows = np.array(splits)
    required: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    result = {}
    for position in range(splits[-1] - 1, first_spatial - 1, -1):
        plan = plans[position]
        out = plan.outputs[0]
        active = split_rows > position
        count = int(active.sum())
        starts, stops = required.get(out, (None, None))
        if starts is None:
            starts = np.full((len(splits), sum(grid_sizes)), _EMPTY_START, dtype=np.int64)
            stops = np.full_like(starts, _EMPTY_STOP)
        starts, stops = starts.copy(), stops.copy()
        if position + 1 in splits:  # this op's output is a split tensor: that split's bands
            row = splits.index(position + 1)
            size = graph.tensor(out).shape[1 + axis]
            bands = [(c[i], c[i + 1]) for g in grid_sizes for c in [cuts(size, g)] for i in range(g)]
            starts[row] = [a for a, _ in bands]
            stops[row] = [b for _, b in bands]
        s, e = starts[active], stops[active]
        fed = s[:, 0] <= e[:, 0] if count else np.zeros(0, dtype=bool)
        lengths = np.maximum(e - s, 0)
        result[position] = (np.add.reduceat(lengths, offsets, axis=1), np.maximum.reduceat(lengths, offsets, axis=1), fed)
        window = required_adapter(plan).window(plan)
        if window is not None:
            s, e = _input_interval(window, axis, s, e)
        for tensor in plan.inputs:
            if graph.tensor(tensor).is_constant:
                continue
            held_s, held_e = required.get(tensor, (None, None))
            if held_s is None:
                held_s = np.full_like(starts, _EMPTY_START)
                held_e = np.full_like(starts, _EMPTY_STOP)
            held_s, held_e = held_s.copy(), held_e.copy()
            held_s[active] = np.minimum(s, held_s[active])
            held_e[active] = np.maximum(e, held_e[active])
            required[tensor] = (held_s, held_e)
    return result


def _input_interval(window, axis: int, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Window.input_interval` on arrays (empty intervals stay empty)."""
    empty = start > stop
    reach = (window.kernel[axis] - 1) * window.dilation[axis] + 1
    first = start * window.stride[axis] - window.padding[axis]
    last = (stop - 1) * window.stride[axis] - window.padding[axis] + reach
    size = window.input_size[axis]
    start_row = np.minimum(np.maximum(0, first), size)
    stop_row = np.maximum(start_row, np.minimum(size, last))
    return np.where(empty, _EMPTY_START, start_row), np.where(empty, _EMPTY_STOP, stop_row)
