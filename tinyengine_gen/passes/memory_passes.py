"""The exact memory rewrites applied to planned ops, in their fixed order.

Residual fusion first (it removes tensors and decides which buffers an ADD may write
over), then in-place kernels, then lean scratch at the peak (which needs the final
lifetimes). Shared by the compiler and the patch scheduler, so that the peaks the
scheduler compares are the peaks the compiler will produce.
"""

from __future__ import annotations

from tinyengine_gen.passes.fusion import fuse_residual_adds
from tinyengine_gen.ir import Graph
from tinyengine_gen.passes.lean_scratch import with_lean_scratch
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.passes.in_place import with_in_place_kernels

__all__ = ["apply_memory_passes"]


def apply_memory_passes(
    graph: Graph,
    plans: tuple[OpPlan, ...],
    *,
    fuse_residual_add: bool,
    in_place: bool,
    lean_scratch: bool,
    alignment: int,
) -> tuple[Graph, tuple[OpPlan, ...]]:
    if fuse_residual_add:
        graph, plans = fuse_residual_adds(graph, plans, alignment)
    if in_place:
        plans = with_in_place_kernels(graph, plans, alignment)
    if lean_scratch:
        plans = with_lean_scratch(graph, plans, alignment)
    return graph, plans
