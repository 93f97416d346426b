"""Smaller scratch where scratch sets the peak: swap a kernel for its lean variant.

Some layers can run on two exact kernels that trade speed for scratch (a 3x3 convolution
on the deep core widens four receptive fields to int16; the shallow core keeps them int8,
half the bytes). The faster one is planned first; this pass then looks at the ops live at
the peak of live bytes and swaps in ``lean_variant()`` one op at a time, as long as the
planned arena does not grow (two ops tied at the peak need both swaps before it shrinks).
Swaps after the last strict improvement are dropped, so the result is never larger than
the input's arena and ops off the peak keep their fast kernel. It runs with
``CompileOptions.prefer == "memory"`` (the default, ``--prefer=memory``); ``speed`` skips it.
"""

from __future__ import annotations

from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.memory.lifetimes import arena_if_below, memory_plan
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Plans, plan_pass

__all__ = ["LEAN_SCRATCH", "with_lean_scratch"]


def with_lean_scratch(graph: Graph, plans: tuple[OpPlan, ...], alignment: int = 16) -> tuple[OpPlan, ...]:
    """``plans`` with lean variants at the peak steps while each one lowers the arena."""
    if not any(hasattr(plan, "lean_variant") and plan.scratch_bytes for plan in plans):
        return plans
    memory = memory_plan(graph, plans, alignment)
    best = (plans, memory.arena_bytes)
    tried: set[int] = set()
    while True:
        live = [memory.live_bytes(step) for step in range(len(plans))]
        peak = max(live, default=0)
        steps = [
            s
            for s, plan in enumerate(plans)
            if live[s] == peak and s not in tried and hasattr(plan, "lean_variant") and plan.scratch_bytes
        ]
        if not steps:
            return best[0]
        step = steps[0]
        tried.add(step)
        variant = plans[step].lean_variant()  # type: ignore[attr-defined]
        if variant is None or variant.scratch_bytes >= plans[step].scratch_bytes:
            continue
        candidate = plans[:step] + (variant,) + plans[step + 1 :]
        if arena_if_below(graph, candidate, alignment, memory.arena_bytes + 1) is not None:
            plans, memory = candidate, memory_plan(graph, candidate, alignment)
            if memory.arena_bytes < best[1]:
                best = (plans, memory.arena_bytes)


def _asked(options: CompileOptions) -> bool:
    return options.prefer == "memory"


def _lean(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return graph, with_lean_scratch(graph, plans, options.alignment)


LEAN_SCRATCH = plan_pass("lean_scratch", _asked, _lean)
