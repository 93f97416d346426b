"""Packed 4-bit weights: every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED whose int8
weights all lie in [-8, 7] gets its packed twin (:mod:`tinyengine_gen.ops.int4_weights`).

Exact by construction: the values are the file's, only stored two per byte. A layer whose
weights do not fit keeps int8 weights (report.json says which and why); nothing is rounded.

Two passes, so that the arena stays what the int8 build's is where it matters most:
``pack_int4`` (convolutions and fully-connected layers) runs first among the plan passes, so
a packed convolution is not fused with its residual ADD (the fused kernel reads int8
weights; the arena can grow there); ``pack_int4_depthwise`` runs after the in-place pass and
packs only the depthwise layers that did not go in place (MCUNet's in-place depthwise
saves more SRAM than packing their few k*k*C weights saves Flash).
"""

from __future__ import annotations

from typing import Any

from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.conv2d import Conv2DPlan
from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
from tinyengine_gen.ops.fully_connected import FullyConnectedPlan
from tinyengine_gen.ops.int4_weights import packed_variant
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Plans, plan_pass

__all__ = ["PACK_INT4", "PACK_INT4_DEPTHWISE", "int4_summary", "with_packed_weights"]


def with_packed_weights(plans: Plans, kinds: tuple[type, ...] = (Conv2DPlan, FullyConnectedPlan)) -> Plans:
    """Each plan of one of ``kinds`` replaced by its packed twin where its weights fit 4 bits."""
    result = []
    for plan in plans:
        variant, _ = packed_variant(plan) if isinstance(plan, kinds) else (None, None)
        result.append(plan if variant is None else variant)
    return tuple(result)


def int4_summary(plans: Plans) -> dict[str, Any]:
    """report.json's ``pack_int4``: the ops whose weights are stored packed, and those that keep
    int8 weights with the reason (a layer in a patch stage or a fused one is not offered)."""
    packed, kept = [], []
    for plan in plans:
        if getattr(plan, "weight_bits", 8) == 4:
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


def _pack_depthwise(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return graph, with_packed_weights(plans, (DepthwiseConv2DPlan,))


PACK_INT4 = plan_pass("pack_int4", _asked, _pack)
PACK_INT4_DEPTHWISE = plan_pass("pack_int4_depthwise", _asked, _pack_depthwise)
