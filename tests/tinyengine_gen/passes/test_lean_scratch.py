"""lean_scratch: the lower-scratch kernel variant where scratch sets the peak, never a larger arena.

Bit-exactness of the lean (shallow-core) kernels against TFLM is tested on converted
models in tests/tinyengine_gen/ops/test_conv2d.py and test_conv2d_inplace.py.
"""

from __future__ import annotations

import pytest

from tests.tinyengine_gen.passes.ir_graphs import GraphBuilder
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.errors import InvalidOptionsError
from tinyengine_gen.memory.lifetimes import memory_plan
from tinyengine_gen.passes.lean_scratch import LEAN_SCRATCH, with_lean_scratch

FAST = CompileOptions(prefer="speed")


def _deep_conv(channels=64, size=8):
    b = GraphBuilder()
    x = b.tensor((1, size, size, channels))
    return b.build([x], [b.conv(x, channels, 3)])


def _conv_then_big_map():
    """The peak is a wide 1x1 output, not the 3x3 layer's scratch: nothing to gain there."""
    b = GraphBuilder()
    x = b.tensor((1, 8, 8, 16))
    y = b.conv(x, 16, 3)
    return b.build([x], [b.conv(y, 256, 1)])


def test_a_conv_whose_scratch_sets_the_peak_moves_to_the_lean_kernel():
    graph = _deep_conv()
    fast = compile_graph(graph, FAST)
    lean = compile_graph(graph)
    assert fast.plans[0].kernel.name == "te_conv2d_kxk_s8" and lean.plans[0].kernel.name == "te_conv2d_kxk_shallow_s8"
    assert lean.plans[0].scratch_bytes < fast.plans[0].scratch_bytes
    assert lean.arena_bytes < fast.arena_bytes


def test_ops_off_the_peak_keep_their_fast_kernel():
    graph = _conv_then_big_map()
    fast = compile_graph(graph, FAST)
    lean = compile_graph(graph)
    assert lean.plans[0].kernel.name == fast.plans[0].kernel.name == "te_conv2d_kxk_s8"
    assert lean.arena_bytes == fast.arena_bytes


def test_never_a_larger_arena_than_its_input():
    for graph in (_deep_conv(), _deep_conv(16, 2), _conv_then_big_map()):
        plans = compile_graph(graph, FAST).plans
        result = with_lean_scratch(graph, plans)
        assert memory_plan(graph, result).arena_bytes <= memory_plan(graph, plans).arena_bytes


def test_runs_only_when_the_options_ask():
    assert LEAN_SCRATCH.applies(CompileOptions()) and not LEAN_SCRATCH.applies(FAST)


def test_prefer_is_memory_by_default_and_refuses_other_words():
    assert CompileOptions().prefer == "memory"
    with pytest.raises(InvalidOptionsError, match=r"prefer='size': use one of memory, speed"):
        CompileOptions(prefer="size")


def _depthwise_beside_its_input():
    """A depthwise layer whose input a later layer reads: it cannot run in place, so its row
    ring (scratch) sits on top of input + output at the peak (the 1x1 layers after it are narrow).
    A 3x3 layer 12 wide: te_depthwise_rows.h's ring (te_depthwise_plane.h's smaller plane would
    take a 5x5 one off the peak)."""
    b = GraphBuilder()
    x = b.tensor((1, 12, 12, 64))
    return b.build([x], [b.add(b.conv(b.depthwise(x, 3), 4), b.conv(x, 4))])


def test_a_depthwise_ring_at_the_peak_gives_way_to_the_generic_kernel():
    graph = _depthwise_beside_its_input()
    fast, lean = compile_graph(graph, FAST), compile_graph(graph)
    assert fast.plans[0].uses_row_ring and fast.plans[0].scratch_bytes > 0 and not fast.plans[0].in_place
    assert not lean.plans[0].uses_row_ring and lean.plans[0].scratch_bytes == 0
    assert lean.plans[0].kernel_sources[0] == "te_depthwise_conv2d.c"
    assert lean.arena_bytes < fast.arena_bytes
