"""One pass type, one signature, one runner: what every exact rewrite of the compiler is.

A :class:`Pass` has a name, reads :class:`~tinyengine_gen.options.CompileOptions` to
decide whether it runs, and maps ``(graph, plans, options)`` to a new ``(graph, plans)``.
Graph passes run before op planning (``plans`` is then empty and stays so); plan passes
run on the planned ops. The two ordered lists live in :mod:`tinyengine_gen.passes.pipeline`
and :func:`run_passes` is the only loop over them: the compiler and the patch scheduler
share it, so the peaks the scheduler compares are the peaks the compiler produces.

Each run can leave a trace (:class:`PassStep`, the graph and plans before and after) that
costs two references per pass; report.json turns it into ops and arena before and after
(:func:`pass_summary`) only when a project is written, never on the NAS cost model's path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from tinyengine_gen.errors import TinyEngineError
from tinyengine_gen.ir import Graph
from tinyengine_gen.memory.lifetimes import memory_plan
from tinyengine_gen.ops.base import OpPlan, plan_operator
from tinyengine_gen.options import CompileOptions

__all__ = ["Pass", "PassStep", "Plans", "graph_pass", "plan_pass", "pass_summary", "run_passes"]

Plans = tuple[OpPlan, ...]
Transform = Callable[[Graph, Plans, CompileOptions], tuple[Graph, Plans]]


@dataclasses.dataclass(frozen=True)
class Pass:
    """A named exact rewrite; ``applies(options)`` says whether the options ask for it."""

    name: str
    applies: Callable[[CompileOptions], bool]
    transform: Transform
    #: "graph": runs before op planning; "plan": runs on planned ops
    stage: str

    def __call__(self, graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
        if self.stage == "graph" and plans:
            raise ValueError(f"graph pass {self.name} runs before planning, not on {len(plans)} planned ops")
        return self.transform(graph, plans, options)


def graph_pass(name: str, applies: Callable[[CompileOptions], bool], rewrite: Callable[[Graph], Graph]) -> Pass:
    """A pass that rewrites the graph before any op is planned."""
    return Pass(name, applies, lambda graph, plans, options: (rewrite(graph), plans), "graph")


def plan_pass(name: str, applies: Callable[[CompileOptions], bool], transform: Transform) -> Pass:
    """A pass that rewrites planned ops (and the graph with them, where ops merge)."""
    return Pass(name, applies, transform, "plan")


@dataclasses.dataclass(frozen=True, eq=False)
class PassStep:
    """What one pass that ran was given and gave back."""

    name: str
    stage: str
    graph_before: Graph
    plans_before: Plans
    graph_after: Graph
    plans_after: Plans


def run_passes(
    passes: Sequence[Pass],
    graph: Graph,
    plans: Plans,
    options: CompileOptions,
    trace: list[PassStep] | None = None,
) -> tuple[Graph, Plans]:
    """Run, in order, every pass of ``passes`` that the options ask for."""
    for step in passes:
        if not step.applies(options):
            continue
        new_graph, new_plans = step(graph, plans, options)
        if trace is not None:
            trace.append(PassStep(step.name, step.stage, graph, plans, new_graph, new_plans))
        graph, plans = new_graph, new_plans
    return graph, plans


def pass_summary(step: PassStep, alignment: int) -> dict[str, Any]:
    """report.json's entry for one pass: ops and planned arena before and after it.

    A graph pass runs before planning, so its arena is that of its graph planned layer-wise
    with every op's default kernel (before the plan passes); None where that graph cannot
    be planned on its own.
    """
    return {
        "name": step.name,
        "stage": step.stage,
        "ops_before": len(step.graph_before.operators),
        "ops_after": len(step.graph_after.operators),
        "arena_before": _arena(step.graph_before, step.plans_before, step.stage, alignment),
        "arena_after": _arena(step.graph_after, step.plans_after, step.stage, alignment),
    }


def _arena(graph: Graph, plans: Plans, stage: str, alignment: int) -> int | None:
    if stage == "graph":
        try:
            plans = tuple(plan_operator(graph, op) for op in graph.operators)
        except TinyEngineError:
            return None
    return memory_plan(graph, plans, alignment).arena_bytes
