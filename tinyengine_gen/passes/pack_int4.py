"""Packed 4-bit weights: every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED whose int8
weights all lie in [-8, 7] gets its packed twin (:mod:`tinyengine_gen.ops.int4_weights`).

Exact by construction: the values are the file's, only stored two per byte. A layer whose
weights do not fit keeps int8 weights (report.json says which and why); nothing is rounded.

Two passes, so that the arena stays what the int8 build's is: ``pack_int4`` (convolutions
and fully-connected layers) runs first among the plan passes, so that the residual fusion
and the in-place pass see the packed convolutions (which fuse with their ADD and run 1x1
layers in place as their int8 twins do); ``pack_int4_depthwise`` runs after the in-place
pass and packs the depthwise layers, in place or not (the packed plan keeps its twin's
row-ring kernel, scratch and aliases). It then keeps the packed 1x1 layers' in-place
variants only where they do not make the arena larger: the in-place pass takes every
same-size variant greedily, and the packed 1x1 layers offer one where some int8 kernels
do not, which on mcunet_vww moved the peak (96,000 B int8, 99,168 B packed before this).
"""

from __future__ import annotations

from typing import Any, TypeVar

from tinyengine_gen.ir import Graph
from tinyengine_gen.memory.lifetimes import memory_plan
from tinyengine_gen.ops.conv2d import Conv2DPlan
from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
from tinyengine_gen.ops.fully_connected import FullyConnectedPlan
from tinyengine_gen.ops.base import OpPlan, replace_plan
from tinyengine_gen.ops.features import LayerGroup, PackedWeightPlan
from tinyengine_gen.ops.int4_weights import PackedConv2DPlan, packed_variant
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Plans, plan_pass

__all__ = ["PACK_INT4", "PACK_INT4_DEPTHWISE", "in_place_pointwise_where_it_pays", "int4_summary", "with_packed_weights"]


#: a patch stage, kept through :func:`_packed_stage`
LayerGroupT = TypeVar("LayerGroupT", bound=LayerGroup)


def with_packed_weights(plans: Plans, kinds: tuple[type, ...] = (Conv2DPlan, FullyConnectedPlan)) -> Plans:
    """Each plan of one of ``kinds`` replaced by its packed twin where its weights fit 4 bits,
    also inside a patch stage (:func:`_packed_stage`)."""
    result: list[OpPlan] = []
    for plan in plans:
        if isinstance(plan, LayerGroup):
            result.append(_packed_stage(plan, kinds))
            continue
        variant, _ = packed_variant(plan) if isinstance(plan, kinds) else (None, None)
        result.append(plan if variant is None else variant)
    return tuple(result)


def _packed_stage(stage: LayerGroupT, kinds: tuple[type, ...]) -> LayerGroupT:
    """The stage with the layers it runs on each patch packed, as outside it. A packed plan
    needs no more scratch than its int8 twin (none for a convolution, the same ring for a
    depthwise layer), so the stage's own arena, planned for the int8 steps, still holds; a
    layer whose twin would need more keeps int8 weights. Every patch's plan of a layer has
    the same filter, so the emitter stores one packed copy."""

    def packed(plan: OpPlan) -> OpPlan:
        variant, _ = packed_variant(plan) if isinstance(plan, kinds) else (None, None)
        if variant is None or variant.scratch_bytes > plan.scratch_bytes:
            return plan
        return variant

    return stage.with_layers(packed)


def int4_summary(plans: Plans) -> dict[str, Any]:
    """report.json's ``pack_int4``: the ops whose weights are stored packed, and those that keep
    int8 weights with the reason (a layer in a patch stage or a fused one is not offered)."""
    packed, kept = [], []
    inner = [p for plan in plans if isinstance(plan, LayerGroup) for p in plan.stage_plans]
    for plan in [*inner, *plans]:
        if isinstance(plan, PackedWeightPlan) and plan.weight_bits == 4:
            packed.append(plan.op_index)
            continue
        _, reason = packed_variant(plan)
        if reason is not None:
            kept.append({"index": plan.op_index, "reason": reason})
    return {"packed_ops": packed, "int8_ops": kept}


def _asked(options: CompileOptions) -> bool:
    return options.pack_int4


def _pack(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return graph, with_packed_weights(plans)


def in_place_pointwise_where_it_pays(graph: Graph, plans: Plans, alignment: int = 16) -> Plans:
    """``plans`` with every packed 1x1 layer that runs in place put back out of place, if
    that planned arena is strictly smaller (else ``plans`` as they are)."""
    reverted = tuple(
        replace_plan(plan, in_place=False, aliases=()) if isinstance(plan, PackedConv2DPlan) and plan.in_place
        else plan
        for plan in plans
    )
    if all(a is b for a, b in zip(plans, reverted)):
        return plans
    arena = memory_plan(graph, plans, alignment).arena_bytes
    return reverted if memory_plan(graph, reverted, alignment).arena_bytes < arena else plans


def _pack_depthwise(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    packed = with_packed_weights(plans, (DepthwiseConv2DPlan,))
    return graph, in_place_pointwise_where_it_pays(graph, packed, options.alignment) if options.in_place else packed


PACK_INT4 = plan_pass("pack_int4", _asked, _pack)
PACK_INT4_DEPTHWISE = plan_pass("pack_int4_depthwise", _asked, _pack_depthwise)
