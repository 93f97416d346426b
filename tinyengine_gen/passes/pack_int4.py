"""Packed 4-bit weights: every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED whose int8
weights all lie in [-8, 7] gets its packed twin (:mod:`tinyengine_gen.ops.int4_weights`).

Exact by construction: the values are the file's, only stored two per byte. A layer whose
weights do not fit keeps int8 weights (report.json says which and why); nothing is rounded.

It runs first among the plan passes, so that residual fusion, in-place kernels and lean
scratch (which know only the int8 plans) leave the packed layers alone: a packed depthwise
layer does not run in place, and a packed pointwise convolution is not fused with its ADD.
The arena can therefore be larger than the int8 build's; the Flash is what shrinks.
"""

from __future__ import annotations

from typing import Any

from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.int4_weights import packed_variant
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Plans, plan_pass

__all__ = ["PACK_INT4", "int4_summary", "with_packed_weights"]


def with_packed_weights(plans: Plans) -> Plans:
    """Each plan replaced by its packed twin where its weights fit 4 bits."""
    result = []
    for plan in plans:
        variant, _ = packed_variant(plan)
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


PACK_INT4 = plan_pass("pack_int4", _asked, _pack)
