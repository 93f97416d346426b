"""The pass pipeline: one order, one runner for the compiler and the patch scheduler, and
report.json's account of what each pass did."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.tinyengine_gen.passes.ir_graphs import GraphBuilder
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.ir import DType
from tinyengine_gen.passes.base import graph_pass, run_passes
from tinyengine_gen.passes.pipeline import GRAPH_PASSES, PLAN_PASSES


def _residual_net(float_io=False):
    """A strided stem, an inverted residual block and a tail: every pass finds work here."""
    b = GraphBuilder()
    x = b.tensor((1, 48, 48, 3), DType.FLOAT32, None) if float_io else b.tensor((1, 48, 48, 3))
    stem_in = b.quantize(x) if float_io else x
    stem = b.conv(b.pad(stem_in, 0, 1, 0, 1), 16, 3, 2, "VALID")
    block = b.conv(b.depthwise(stem), 16, 1)
    y = b.conv(b.depthwise(b.conv(b.add(stem, block), 32, 3, 2), 3, 2), 8, 1)
    return b.build([x], [b.dequantize(y) if float_io else y])


def test_the_order_is_written_once():
    assert [p.name for p in GRAPH_PASSES] == [
        "fold_constants", "fold_dilated", "fold_float_unary", "split_grouped_conv", "drop_dead_depthwise_channels", "drop_dead_channels", "strip_input_quantize", "strip_output_dequantize", "fold_pad",
        "fold_input_transpose",
    ]
    assert [p.name for p in PLAN_PASSES] == [
        "pack_int4", "fuse_residual_add", "in_place", "pack_int4_depthwise", "lean_scratch", "channel_pairs"
    ]
    assert {p.stage for p in GRAPH_PASSES} == {"graph"} and {p.stage for p in PLAN_PASSES} == {"plan"}


@pytest.mark.parametrize(
    "options",
    [CompileOptions(), CompileOptions(int8_input=True, int8_output=True), CompileOptions(fold_pad=False, in_place=False)],
)
def test_the_compiler_runs_exactly_the_passes_the_options_ask_for(options):
    compiled = compile_graph(_residual_net(float_io=True), options)
    expected = [p.name for p in GRAPH_PASSES + PLAN_PASSES if p.applies(options)]
    assert [step.name for step in compiled.passes] == expected
    for earlier, later in zip(compiled.passes, compiled.passes[1:]):
        if earlier.stage == later.stage:
            assert later.graph_before is earlier.graph_after


def test_a_graph_pass_refuses_planned_ops():
    compiled = compile_graph(_residual_net())
    identity = graph_pass("identity", lambda options: True, lambda graph: graph)
    with pytest.raises(ValueError, match="graph pass identity runs before planning"):
        run_passes([identity], compiled.graph, compiled.plans, CompileOptions())


def test_report_json_says_what_each_pass_did():
    project = generate(_residual_net(float_io=True), CompileOptions(int8_input=True))
    passes = json.loads(project.files["report.json"])["passes"]
    by_name = {entry["name"]: entry for entry in passes}
    assert [entry["name"] for entry in passes] == ["fold_constants", "fold_dilated", "fold_float_unary", "split_grouped_conv", "drop_dead_depthwise_channels", "drop_dead_channels", "strip_input_quantize", "fold_pad", "fold_input_transpose", "fuse_residual_add", "in_place", "lean_scratch"]
    assert by_name["strip_input_quantize"]["ops_after"] == by_name["strip_input_quantize"]["ops_before"] - 1
    assert by_name["fold_pad"]["ops_after"] == by_name["fold_pad"]["ops_before"] - 1
    assert by_name["strip_input_quantize"]["arena_after"] < by_name["strip_input_quantize"]["arena_before"]
    assert by_name["in_place"]["arena_after"] < by_name["in_place"]["arena_before"]
    for earlier, later in zip(passes, passes[1:]):
        if earlier["stage"] == later["stage"]:
            assert (later["ops_before"], later["arena_before"]) == (earlier["ops_after"], earlier["arena_after"])
    assert by_name["fuse_residual_add"]["ops_after"] == by_name["fuse_residual_add"]["ops_before"] - 1
    assert passes[-1]["arena_after"] == project.report["arena_bytes"]
    assert passes[-1]["ops_after"] == len(project.report["ops"])


@pytest.mark.parametrize(
    "options",
    [
        CompileOptions(patch="auto"),
        CompileOptions(patch="auto", fuse_residual_add=False, prefer="speed"),
        CompileOptions(patch="auto", in_place=False),
    ],
)
def test_the_patch_scheduler_prices_with_the_compilers_own_passes_and_options(options):
    graph = _residual_net()
    patched = compile_graph(graph, options)
    layer_wise = compile_graph(graph, dataclasses.replace(options, patch="off"))
    decision = patched.patch_decision
    assert decision.stage is not None
    assert decision.layer_wise_peak_bytes == layer_wise.arena_bytes
    assert decision.peak_bytes == patched.arena_bytes
