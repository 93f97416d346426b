"""channel_pairs: depthwise layers on te_depthwise_pairs.h under --prefer=speed only, same arena.

Bit-exactness of te_depthwise_pairs.h against TFLM is tested on converted models in
tests/tinyengine_gen/ops/test_depthwise_conv2d.py (portable build) and
tests/tinyengine_gen/firmware/test_dsp_kernels.py (QEMU, both builds).
"""

from __future__ import annotations

from tests.tinyengine_gen.passes.ir_graphs import GraphBuilder
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.memory.lifetimes import memory_plan
from tinyengine_gen.ops.base import replace_plan
from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
from tinyengine_gen.passes.channel_pairs import with_channel_pairs

SPEED = CompileOptions(prefer="speed")


def _depthwise_chain(channels: int = 16, size: int = 24):
    """A 3x3 stride-1, a 3x3 stride-2 (no faster on pairs) and a 5x5 stride-1 depthwise layer."""
    b = GraphBuilder()
    x = b.tensor((1, size, size, channels))
    y = b.conv(x, channels, 1)  # (a depthwise layer on the graph input runs without its ring)
    y = b.depthwise(y, 3)
    y = b.depthwise(y, 3, stride=2)
    y = b.depthwise(y, 5)
    return b.build([x], [b.conv(y, 4, 1)])


def _depthwise(plans):
    return [plan for plan in plans if isinstance(plan, DepthwiseConv2DPlan)]


def test_only_prefer_speed_puts_the_layers_that_pay_on_channel_pairs():
    graph = _depthwise_chain()
    default, speed = compile_graph(graph), compile_graph(graph, SPEED)
    assert not any(plan.uses_channel_pairs for plan in _depthwise(default.plans))
    pairs = [plan.uses_channel_pairs for plan in _depthwise(speed.plans)]
    assert pairs == [True, False, True]
    assert "te_depthwise_pairs.h" in {name for plan in speed.plans for name in plan.kernel_sources}
    assert "channel_pairs" in [step.name for step in speed.passes]
    assert "channel_pairs" not in [step.name for step in default.passes]


def test_channel_pairs_keep_the_arena():
    speed = compile_graph(_depthwise_chain(), SPEED)
    without = tuple(
        replace_plan(plan, channel_pairs=False) if isinstance(plan, DepthwiseConv2DPlan) else plan for plan in speed.plans
    )
    assert without != speed.plans
    assert memory_plan(speed.graph, without).arena_bytes == speed.arena_bytes


def test_layers_that_cannot_take_channel_pairs_keep_their_plan():
    plans = compile_graph(_depthwise_chain(channels=15)).plans  # an odd channel count: no pairs
    assert with_channel_pairs(plans) == plans
    even = compile_graph(_depthwise_chain()).plans
    chosen = with_channel_pairs(even)
    assert [a is b for a, b in zip(chosen, even)] == [not isinstance(p, DepthwiseConv2DPlan) or p.stride[1] == 2 for p in even]


def test_a_small_layer_does_not_pay_for_its_table():
    graph = _depthwise_chain(channels=16, size=4)
    assert not any(plan.uses_channel_pairs for plan in _depthwise(compile_graph(graph, SPEED).plans))
