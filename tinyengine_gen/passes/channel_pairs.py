"""Faster depthwise layers for more Flash: the row ring as two taps per multiply-accumulate.

te_depthwise_pairs.h computes two output pixels x two channels per step from a tap table
the compiler stores in Flash as int16 pairs (2.7-4.6x the int8 filter). A layer takes it
(:meth:`DepthwiseConv2DPlan.channel_pairs_variant`) where the kernel applies and saves
enough instructions per extra byte; peak SRAM does not change (same ring). The trade is
Flash for speed, so it runs with ``CompileOptions.prefer == "speed"`` (``--prefer=speed``)
only; the default build keeps te_depthwise_rows.h and its Flash. Layers inside a patch
stage keep te_depthwise_rows.h.
"""

from __future__ import annotations

from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Plans, plan_pass

__all__ = ["CHANNEL_PAIRS", "with_channel_pairs"]


def with_channel_pairs(plans: tuple[OpPlan, ...]) -> tuple[OpPlan, ...]:
    """``plans`` with every depthwise layer that pays for it on te_depthwise_pairs.h."""
    chosen = []
    for plan in plans:
        variant = plan.channel_pairs_variant() if type(plan) is DepthwiseConv2DPlan else None
        chosen.append(plan if variant is None else variant)
    return tuple(chosen)


def _asked(options: CompileOptions) -> bool:
    return options.prefer == "speed"


def _pairs(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return graph, with_channel_pairs(plans)


CHANNEL_PAIRS = plan_pass("channel_pairs", _asked, _pairs)
