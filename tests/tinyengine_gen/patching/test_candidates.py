"""The fast ``auto`` patch search against building every candidate: same candidates, MACs, decision."""

from __future__ import annotations

import pytest

from tests.model_factory import convert_int8, keras
from tests.shared_assets import shared_model
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.passes.base import run_passes
from tinyengine_gen.passes.pipeline import GRAPH_PASSES
from tinyengine_gen.ops.base import plan_operator
from tinyengine_gen.patching import schedule
from tinyengine_gen.patching.candidates import auto_candidates
from tinyengine_gen.patching.schedule import AUTO_GRIDS, decide_patch_schedule, stage_peak_lower_bound, with_stage
from tinyengine_gen.patching.stage import StageError, build_patch_stage, outline_patch_stage, stage_macs
from tinyengine_gen.frontend.reader import read_model, read_model_bytes

AUTO = CompileOptions(patch="auto")


def apply_passes(graph, options):
    """The graph passes the compiler runs before planning."""
    return run_passes(GRAPH_PASSES, graph, (), options)[0]


def _residual_network():
    """Early high-resolution blocks with residual ADDs inside the stage, 5x5 and strided windows, a non-square input."""
    inputs = keras.Input((40, 36, 3), batch_size=1)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(inputs)
    for kernel in (3, 5):
        y = keras.layers.Conv2D(24, 1, activation="relu6")(x)
        y = keras.layers.DepthwiseConv2D(kernel, padding="same", activation="relu6")(y)
        x = keras.layers.Add()([x, keras.layers.Conv2D(8, 1)(y)])
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)
    x = keras.layers.Conv2D(16, 1, activation="relu6")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


@pytest.fixture(scope="module")
def planned():
    graph = apply_passes(read_model_bytes(convert_int8(_residual_network)), CompileOptions(patch="auto"))
    return graph, tuple(plan_operator(graph, op) for op in graph.operators)


def _buildable(graph, plans):
    """Every (split, grid) the plain search builds, with its stage."""
    stages = {}
    for split in range(1, len(plans)):
        for grid in AUTO_GRIDS:
            try:
                stages[(split, grid)] = build_patch_stage(graph, plans, split, grid)
            except StageError:
                break
    return stages


def test_candidates_are_the_buildable_stages_with_their_macs_and_buffers(planned):
    graph, plans = planned
    stages = _buildable(graph, plans)
    found = auto_candidates(graph, plans, AUTO_GRIDS)
    assert {(c.outline.split, c.grid) for c in found.candidates} == set(stages)
    assert len(stages) > 20
    for candidate in found.candidates:
        stage = stages[(candidate.outline.split, candidate.grid)]
        assert candidate.macs == stage.macs == stage_macs(graph, candidate.outline, candidate.grid)
        assert candidate.largest_buffer <= stage.scratch_bytes
        staged = with_stage(graph, plans, stage)
        assert stage_peak_lower_bound(graph, stage) <= schedule._peak(*staged, AUTO)
    assert found.last_reason(graph, plans)  # the deepest splits are refused (the MEAN cannot run on patches)


def test_stage_macs_matches_the_build_on_non_square_grids(planned):
    graph, plans = planned
    splits = sorted({c.outline.split for c in auto_candidates(graph, plans, AUTO_GRIDS).candidates})
    for split in splits:
        for grid in ((3, 2), (1, 4), (5, 1)):
            outline = outline_patch_stage(graph, plans, split, grid)
            assert stage_macs(graph, outline, grid) == build_patch_stage(graph, plans, split, grid).macs, (split, grid)


@pytest.mark.parametrize("max_overhead", [0.0, 0.05, 0.2, 1.0, 10.0])
def test_auto_decides_as_building_every_candidate(planned, max_overhead):
    graph, plans = planned
    total = sum(p.macs for p in plans)
    options = CompileOptions(patch="auto", patch_max_overhead=max_overhead)
    layer_wise = schedule._peak(graph, plans, options)
    fast = decide_patch_schedule(graph, plans, options, grid=None)
    best, evaluated, why = schedule._given(graph, plans, None, None, max_overhead, total, layer_wise, options,
                                           schedule.build_outlined_stage)
    assert fast.candidates == evaluated
    if best is None or best.peak_bytes >= layer_wise:
        assert fast.stage is None
    else:
        assert (fast.stage.grid, fast.stage.stage_plans[-1].op_index) == (best.stage.grid, best.stage.stage_plans[-1].op_index)
        assert (fast.peak_bytes, fast.mac_overhead) == (best.peak_bytes, best.mac_overhead)
    if best is None:
        assert fast.message == f"kept layer-wise: {why or f'no schedule within {max_overhead:.0%} extra MACs'}"


@pytest.mark.parametrize("name", ["mcunet_vww.tflite", pytest.param("mbv2_224_int8.tflite", marks=pytest.mark.slow)])
def test_auto_on_shared_models_decides_as_building_every_candidate(name):
    graph = apply_passes(read_model(shared_model(name)), CompileOptions(int8_input=True, patch="auto"))
    plans = tuple(plan_operator(graph, op) for op in graph.operators)
    options = CompileOptions(int8_input=True, patch="auto")
    total, layer_wise = sum(p.macs for p in plans), schedule._peak(graph, plans, options)
    fast = decide_patch_schedule(graph, plans, options, grid=None)
    best, evaluated, _ = schedule._given(graph, plans, None, None, 0.2, total, layer_wise, options,
                                         schedule.build_outlined_stage)
    assert (fast.peak_bytes, fast.mac_overhead, fast.candidates) == (best.peak_bytes, best.mac_overhead, evaluated)
    assert fast.stage.grid == best.stage.grid and fast.stage.op_index == best.stage.op_index
    assert compile_graph(read_model(shared_model(name)), CompileOptions(int8_input=True, patch="auto")).arena_bytes == fast.peak_bytes
