"""Choosing a patch schedule: which split point and grid, or none.

``auto`` tries every split point where a patch stage can end and grids from 2x2 to 8x8,
prices each one with the real memory planner (the same arrangement the generated C will
declare) and its extra MACs, and keeps the lowest peak whose extra MACs stay within the
bound. It never keeps a schedule whose peak is not strictly lower than layer-wise
execution; it says so instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.memory.lifetimes import memory_plan
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import run_passes
from tinyengine_gen.passes.pipeline import PLAN_PASSES
from tinyengine_gen.patching.stage import PatchStagePlan, StageError, build_patch_stage, stage_operator

__all__ = ["PatchDecision", "parse_grid", "decide_patch_schedule", "with_stage"]

AUTO_GRIDS = tuple((n, n) for n in range(2, 9))


@dataclasses.dataclass(frozen=True, eq=False)
class PatchDecision:
    stage: PatchStagePlan | None
    layer_wise_peak_bytes: int
    peak_bytes: int
    mac_overhead: float  # extra MACs of the stage / MACs of the layer-wise network
    message: str
    candidates: int = 0

    def to_json(self, graph: Graph) -> dict:
        result = {
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


def decide_patch_schedule(
    graph: Graph,
    plans: Sequence[OpPlan],
    options: CompileOptions,
    *,
    grid: tuple[int, int] | None,
) -> PatchDecision:
    """``grid`` (parsed from ``options.patch``) / ``options.patch_split`` None means search; a
    given pair is built as asked (or refused), even where layer-wise would need less (the
    message says so); a search never returns such a one. Peaks are priced after the plan
    passes ``options`` asks for, run by the compiler's own runner."""
    split_op, max_overhead, alignment = options.patch_split, options.patch_max_overhead, options.alignment
    layer_wise = _peak(graph, plans, options)
    total_macs = max(sum(p.macs for p in plans), 1)
    positions = {op.index: position for position, op in enumerate(graph.operators)}
    if split_op is not None and split_op not in positions:
        raise StageError(f"--patch_split={split_op} names no operator of the compiled graph")
    splits = [positions[split_op] + 1] if split_op is not None else range(1, len(plans))
    grids = [grid] if grid is not None else AUTO_GRIDS
    best: PatchDecision | None = None
    evaluated = 0
    reasons: list[str] = []
    for split in splits:
        for candidate_grid in grids:
            try:
                stage = build_patch_stage(graph, plans, split, candidate_grid, alignment)
            except StageError as exc:
                reasons.append(str(exc))
                if split_op is not None and grid is not None:
                    raise
                break  # a split that cannot be patched fails for every grid
            evaluated += 1
            overhead = (stage.macs - stage.layer_wise_macs) / total_macs
            if grid is None and overhead > max_overhead:
                continue
            staged_graph, staged_plans = with_stage(graph, plans, stage)
            peak = _peak(staged_graph, staged_plans, options)
            if best is None or (peak, overhead) < (best.peak_bytes, best.mac_overhead):
                best = PatchDecision(stage, layer_wise, peak, overhead, "", evaluated)
    if best is None:
        why = reasons[-1] if reasons else f"no schedule within {max_overhead:.0%} extra MACs"
        return PatchDecision(None, layer_wise, layer_wise, 0.0, f"kept layer-wise: {why}", evaluated)
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
