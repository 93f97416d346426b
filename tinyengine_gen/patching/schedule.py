"""Choosing a patch schedule: which split point and grid, or none.

``auto`` tries every split point where a patch stage can end and grids from 2x2 to 8x8,
prices each one with the real memory planner (the same arrangement the generated C will
declare) and its extra MACs, and keeps the lowest peak whose extra MACs stay within the
bound. It never keeps a schedule whose peak is not strictly lower than layer-wise
execution; it says so instead.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.memory.bounds import live_lower_bounds
from tinyengine_gen.memory.lifetimes import memory_plan
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import PassStep, run_passes
from tinyengine_gen.passes.pipeline import PLAN_PASSES
from tinyengine_gen.patching.candidates import auto_candidates
from tinyengine_gen.patching.stage import (
    PatchStagePlan,
    StageError,
    StageOutline,
    build_outlined_stage,
    outline_patch_stage,
    stage_entry,
    stage_macs,
    stage_operator,
)

__all__ = [
    "PatchDecision",
    "StageBuilder",
    "parse_grid",
    "decide_patch_schedule",
    "stage_peak_lower_bound",
    "auto_peak_lower_bound",
    "with_stage",
]

#: Builds the stage of a checked outline; a caller pricing thousands of similar graphs (the NAS
#: cost model) may pass one that reuses stages, as long as it returns what ``build_outlined_stage`` would.
StageBuilder = Callable[[Graph, Sequence[OpPlan], StageOutline, tuple[int, int], int], PatchStagePlan]

AUTO_GRIDS = tuple((n, n) for n in range(2, 9))


@dataclasses.dataclass(frozen=True, eq=False)
class PatchDecision:
    stage: PatchStagePlan | None
    layer_wise_peak_bytes: int
    peak_bytes: int
    mac_overhead: float  # extra MACs of the stage / MACs of the layer-wise network
    message: str
    candidates: int = 0
    #: the layer-wise graph and plans after the plan passes, and the passes' steps (what the
    #: compiler would compute again when it keeps layer-wise execution)
    layer_wise_passes: tuple[Graph, tuple[OpPlan, ...], tuple[PassStep, ...]] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    def to_json(self, graph: Graph) -> dict[str, Any]:
        result: dict[str, Any] = {
            "schedule": "patch-based" if self.stage else "layer-wise",
            "layer_wise_peak_bytes": self.layer_wise_peak_bytes,
            "patch_peak_bytes": self.peak_bytes if self.stage else None,
            "mac_overhead": self.mac_overhead,
            "message": self.message,
            "candidates_evaluated": self.candidates,
        }
        if self.stage is not None:
            result["grid"] = list(self.stage.grid)
            result["split_op"] = self.stage.stage_plans[-1].op_index
            result["stage_ops"] = [p.op_index for p in self.stage.stage_plans]
        return result


def parse_grid(text: str) -> tuple[int, int]:
    rows, _, columns = text.lower().partition("x")
    try:
        grid = (int(rows), int(columns))
    except ValueError:
        raise ValueError(f"patch grid '{text}' is not of the form NxN (e.g. 4x4)") from None
    if min(grid) < 1:
        raise ValueError(f"patch grid '{text}' must be positive")
    return grid


def with_stage(graph: Graph, plans: Sequence[OpPlan], stage: PatchStagePlan) -> tuple[Graph, tuple[OpPlan, ...]]:
    """The graph and plans with the stage standing in for the ops it runs."""
    count = len(stage.stage_plans)
    operators = (stage_operator(graph, stage),) + tuple(graph.operators[count:])
    return graph.replace(operators=operators), (stage,) + tuple(plans[count:])


def _peak(graph: Graph, plans: Sequence[OpPlan], options: CompileOptions) -> int:
    """The arena the compiler will plan: after the same plan passes it runs, with the same options."""
    graph, plans = run_passes(PLAN_PASSES, graph, tuple(plans), options)
    return memory_plan(graph, plans, options.alignment).arena_bytes


def _layer_wise(graph: Graph, plans: Sequence[OpPlan], options: CompileOptions):
    """(arena, (graph, plans, pass steps) after the plan passes) of layer-wise execution."""
    steps: list[PassStep] = []
    graph, plans = run_passes(PLAN_PASSES, graph, tuple(plans), options, steps)
    return memory_plan(graph, plans, options.alignment).arena_bytes, (graph, plans, tuple(steps))


def decide_patch_schedule(
    graph: Graph,
    plans: Sequence[OpPlan],
    options: CompileOptions,
    *,
    grid: tuple[int, int] | None,
    build_stage: StageBuilder = build_outlined_stage,
    peak_limit: int | None = None,
) -> PatchDecision:
    """``grid`` (parsed from ``options.patch``) / ``options.patch_split`` None means search; a
    given pair is built as asked (or refused), even where layer-wise would need less (the
    message says so); a search never returns such a one. Peaks are priced after the plan
    passes ``options`` asks for, run by the compiler's own runner. A search prices each
    candidate's extra MACs first (no build) and builds and plans only those within the bound
    that can still beat the best peak: the same decision as building and planning every
    candidate, at a fraction of the cost.

    ``peak_limit`` (a search only) is for a caller that needs the decision only where its peak
    is at most that many bytes (the NAS cost model under an SRAM budget): candidates that
    cannot beat both it and layer-wise are not built. Where the decided peak is at most
    ``peak_limit`` the decision is the one without it; above it, the peak is only known to
    be above it (and a kept-layer-wise message names no losing schedule)."""
    split_op, max_overhead = options.patch_split, options.patch_max_overhead
    layer_wise, passes = _layer_wise(graph, plans, options)
    total_macs = max(sum(p.macs for p in plans), 1)
    positions = {op.index: position for position, op in enumerate(graph.operators)}
    if split_op is not None and split_op not in positions:
        raise StageError(f"--patch_split={split_op} names no operator of the compiled graph")
    if grid is None and split_op is None and peak_limit is not None and _no_split_within(
        graph, plans, options, min(peak_limit, layer_wise - 1)
    ):
        return PatchDecision(
            None, layer_wise, layer_wise, 0.0,
            f"kept layer-wise: no patch schedule can need less than {min(peak_limit + 1, layer_wise)} B",
            layer_wise_passes=passes,
        )
    if grid is None and split_op is None:
        best, evaluated, why = _search(
            graph, plans, max_overhead, total_macs, layer_wise, options, build_stage, peak_limit
        )
    else:
        best, evaluated, why = _given(graph, plans, grid, positions[split_op] + 1 if split_op is not None else None,
                                      max_overhead, total_macs, layer_wise, options, build_stage)
    if best is None:
        why = why or f"no schedule within {max_overhead:.0%} extra MACs"
        return PatchDecision(
            None, layer_wise, layer_wise, 0.0, f"kept layer-wise: {why}", evaluated, layer_wise_passes=passes
        )
    explicit = grid is not None and split_op is not None
    if best.peak_bytes >= layer_wise and not explicit:
        return PatchDecision(
            None,
            layer_wise,
            layer_wise,
            0.0,
            f"kept layer-wise: the best patch schedule ({best.stage.grid[0]}x{best.stage.grid[1]} after op "
            f"{best.stage.stage_plans[-1].op_index}) would need {best.peak_bytes} B, not less than {layer_wise} B",
            evaluated,
            layer_wise_passes=passes,
        )
    stage = best.stage
    message = (
        f"patch-based: {stage.grid[0]}x{stage.grid[1]} patches through op {stage.stage_plans[-1].op_index}, "
        f"peak {best.peak_bytes} B vs {layer_wise} B layer-wise ({best.peak_bytes / layer_wise:.2f}x), "
        f"{best.mac_overhead:+.1%} MACs"
    )
    if best.peak_bytes >= layer_wise:
        message += " (as asked; layer-wise would need less)"
    return dataclasses.replace(best, message=message, candidates=evaluated)


def _given(graph, plans, grid, given_split, max_overhead, total_macs, layer_wise, options, build_stage):
    """A grid, a split or both given: build each candidate in order (or refuse the given pair)."""
    alignment = options.alignment
    splits = [given_split] if given_split is not None else range(1, len(plans))
    grids = [grid] if grid is not None else AUTO_GRIDS
    best: PatchDecision | None = None
    evaluated = 0
    reasons: list[str] = []
    for split in splits:
        layer_wise_macs = sum(p.macs for p in plans[:split])
        for candidate_grid in grids:
            try:
                outline = outline_patch_stage(graph, plans, split, candidate_grid)
                if grid is None:
                    overhead = (stage_macs(graph, outline, candidate_grid) - layer_wise_macs) / total_macs
                    if overhead > max_overhead:
                        evaluated += 1
                        continue
                stage = build_stage(graph, plans, outline, candidate_grid, alignment)
            except StageError as exc:
                reasons.append(str(exc))
                if given_split is not None and grid is not None:
                    raise
                break  # a split that cannot be patched fails for every grid
            evaluated += 1
            overhead = (stage.macs - stage.layer_wise_macs) / total_macs
            staged_graph, staged_plans = with_stage(graph, plans, stage)
            peak = _peak(staged_graph, staged_plans, options)
            if best is None or (peak, overhead) < (best.peak_bytes, best.mac_overhead):
                best = PatchDecision(stage, layer_wise, peak, overhead, "", evaluated)
    return best, evaluated, reasons[-1] if reasons else ""


def _search(graph, plans, max_overhead, total_macs, layer_wise, options, build_stage, peak_limit=None):
    """``auto``: the lowest (peak, extra MACs) over every split and grid within the MAC bound.

    Candidates are priced by MACs without building (:mod:`.candidates`); those within the
    bound are built and planned in order of a lower bound on their peak (the model input,
    the split map and the stage's own arena, which holds at least its largest patch buffer,
    are live together while the stage runs; and the ops after the split, which run layer-wise,
    hold at least :func:`~tinyengine_gen.memory.bounds.live_lower_bounds`) until the bound
    exceeds the best peak found: later ones cannot beat it. Ties go to the first
    in split-major, grid-minor order, as a plain loop over every candidate would decide.
    With ``peak_limit``, a candidate whose bound is at least layer-wise or above the limit
    is not built either: it can neither be kept nor fit (see :func:`decide_patch_schedule`).
    """
    found = auto_candidates(graph, plans, AUTO_GRIDS)
    prefix_macs = list(itertools.accumulate((p.macs for p in plans), initial=0))
    ends = graph.tensor(found.candidates[0].outline.source).nbytes if found.candidates else 0
    tail = _tail_bounds(graph, plans, options) if found.candidates else []
    within = []
    for candidate in found.candidates:
        if (candidate.macs - prefix_macs[candidate.outline.split]) / total_macs > max_overhead:
            continue
        split_bytes = graph.tensor(candidate.outline.split_tensor).nbytes
        bound = max(ends + split_bytes + candidate.largest_buffer, tail[candidate.outline.split])
        within.append((bound, candidate.order, candidate))
    best: PatchDecision | None = None
    best_key = None

    def useless(bound: int) -> bool:
        """No schedule with at least ``bound`` bytes can change the decision."""
        if best is not None and bound > best.peak_bytes:
            return True
        return peak_limit is not None and (bound >= layer_wise or bound > peak_limit)

    for rough_bound, order, candidate in sorted(within, key=lambda item: item[:2]):
        if useless(rough_bound):
            break
        stage = build_stage(graph, plans, candidate.outline, candidate.grid, options.alignment)
        if useless(stage_peak_lower_bound(graph, stage)):
            continue
        overhead = (stage.macs - stage.layer_wise_macs) / total_macs
        staged_graph, staged_plans = with_stage(graph, plans, stage)
        peak = _peak(staged_graph, staged_plans, options)
        if best_key is None or (peak, overhead, order) < best_key:
            best, best_key = PatchDecision(stage, layer_wise, peak, overhead, ""), (peak, overhead, order)
    return best, len(found.candidates), found.last_reason(graph, plans) if best is None else ""


def _tail_bounds(graph: Graph, plans: Sequence[OpPlan], options: CompileOptions) -> list[int]:
    """``[s]``: bytes any schedule holds at least while the ops from step ``s`` on run
    layer-wise (0 past the last step)."""
    opcodes = [op.opcode for op in graph.operators]
    per_step = live_lower_bounds(graph, plans, opcodes, count_scratch=not options.pack_int4)
    tail = [0] * (len(plans) + 1)
    for step in range(len(plans) - 1, -1, -1):
        tail[step] = max(per_step[step], tail[step + 1])
    return tail


def _no_split_within(graph: Graph, plans: Sequence[OpPlan], options: CompileOptions, ceiling: int) -> bool:
    """Whether every patch stage, whatever its split and grid, needs more than ``ceiling`` bytes."""
    return _patch_lower_bound(graph, plans, _tail_bounds(graph, plans, options), ceiling + 1) > ceiling


def _patch_lower_bound(graph: Graph, plans: Sequence[OpPlan], tail: Sequence[int], enough: int) -> int:
    """The least bound over every split (the model input and the split map together, and the
    steps after it), or ``enough`` if that is less (no need to look further)."""
    try:
        source = stage_entry(graph, plans)[0]
    except StageError:
        return enough
    source_bytes = graph.tensor(source).nbytes
    best = enough
    for split in range(1, len(plans)):
        if tail[split] >= best:
            continue
        split_bytes = max((graph.tensor(t).nbytes for t in plans[split - 1].outputs), default=0)
        best = min(best, max(source_bytes + split_bytes, tail[split]))
    return best


def auto_peak_lower_bound(graph: Graph, plans: Sequence[OpPlan], options: CompileOptions) -> int:
    """Bytes the peak of ``--patch=auto`` (or of layer-wise execution) needs at least, without
    planning anything: layer-wise holds at least the busiest step's bound; a patch stage
    ending at any step holds the model input and the split map together, and the steps
    after it their own bounds. A caller with an SRAM budget below this need not compile."""
    tail = _tail_bounds(graph, plans, options)
    return _patch_lower_bound(graph, plans, tail, tail[0])


def stage_peak_lower_bound(graph: Graph, stage: PatchStagePlan) -> int:
    """Bytes the arena needs at least while ``stage`` runs: its input, its split map and its own arena."""
    return graph.tensor(stage.inputs[0]).nbytes + graph.tensor(stage.outputs[0]).nbytes + stage.scratch_bytes
