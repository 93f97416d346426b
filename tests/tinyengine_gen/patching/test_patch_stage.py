"""Patch-based execution: bit-exact with TFLite Micro, never worse than layer-wise."""

from __future__ import annotations

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tests.shared_assets import shared_model
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.errors import UnsupportedModelError
from tinyengine_gen.frontend.reader import read_model, read_model_bytes


def _early_heavy_network():
    """High-resolution first layers, as MCUNetV2 targets: conv s2, dw, expand, dw s2, ..."""
    inputs = keras.Input((48, 48, 3), batch_size=1)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu6")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.Conv2D(8, 1)(x)
    x = keras.layers.Conv2D(48, 1, activation="relu6")(x)
    x = keras.layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="valid", activation="relu6")(x)
    x = keras.layers.Conv2D(16, 1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


@pytest.fixture(scope="module")
def early_heavy():
    return convert_int8(_early_heavy_network)


@pytest.mark.parametrize("grid,split_position", [("2x2", 1), ("3x3", 5), ("4x4", 4), ("2x3", 2)])
def test_fixed_schedules_are_bit_exact(tmp_path, early_heavy, grid, split_position):
    graph = read_model_bytes(early_heavy)
    compiled = compile_graph(graph)
    split_op = compiled.graph.operators[split_position].index
    options = CompileOptions(patch=grid, patch_split=split_op)
    comparison = compile_and_compare(early_heavy, tmp_path, trials=3, options=options)
    assert comparison.project.report["patch"]["schedule"] == "patch-based"
    assert comparison.project.report["patch"]["grid"] == [int(v) for v in grid.split("x")]


def test_auto_lowers_the_peak_and_stays_exact(tmp_path, early_heavy):
    comparison = compile_and_compare(early_heavy, tmp_path, trials=3, options=CompileOptions(patch="auto"))
    patch = comparison.project.report["patch"]
    assert patch["schedule"] == "patch-based"
    assert patch["patch_peak_bytes"] < patch["layer_wise_peak_bytes"]
    assert comparison.project.report["peak_sram_bytes"] == patch["patch_peak_bytes"]
    assert 0 <= patch["mac_overhead"] <= 0.2


def test_auto_keeps_layer_wise_when_patching_cannot_help(tmp_path):
    def flat():
        inputs = keras.Input((8, 8, 4), batch_size=1)
        x = keras.layers.Conv2D(4, 1)(inputs)
        return keras.Model(inputs, keras.layers.Conv2D(64, 1)(x))

    model = convert_int8(flat)
    compiled = compile_graph(read_model_bytes(model), CompileOptions(patch="auto"))
    assert compiled.patch_decision.stage is None
    assert compiled.patch_decision.message.startswith("kept layer-wise")
    assert compiled.arena_bytes == compiled.patch_decision.layer_wise_peak_bytes


def test_bad_grid_is_a_clear_error(early_heavy):
    with pytest.raises(UnsupportedModelError, match="NxN"):
        compile_graph(read_model_bytes(early_heavy), CompileOptions(patch="four"))


def test_split_on_a_missing_op_is_a_clear_error(early_heavy):
    with pytest.raises(UnsupportedModelError, match="names no operator"):
        compile_graph(read_model_bytes(early_heavy), CompileOptions(patch="2x2", patch_split=999))


@pytest.mark.parametrize("name,fraction", [("mcunet_vww.tflite", 1 / 2), ("mbv2_224_int8.tflite", 1 / 4)])
def test_auto_on_shared_models_cuts_the_peak_and_is_exact(tmp_path, name, fraction):
    path = shared_model(name)
    options = CompileOptions(patch="auto", int8_input=True)
    comparison = compile_and_compare(path.read_bytes(), tmp_path, trials=3, options=options, reference_trials=0)
    patch = comparison.project.report["patch"]
    assert patch["schedule"] == "patch-based"
    assert patch["patch_peak_bytes"] <= fraction * patch["layer_wise_peak_bytes"]
    assert patch["mac_overhead"] <= 0.2


@pytest.mark.parametrize(
    "name",
    [
        "mcunet_vww.tflite",
        "mlperf_vww_96_int8.tflite",
        "mlperf_kws_ref_int8.tflite",
        "mlperf_resnet8_int8.tflite",
        "mbv2_224_int8.tflite",
    ],
)
def test_auto_never_reports_a_higher_peak_than_layer_wise(name):
    graph = read_model(shared_model(name))
    for int8_input in (False, True):
        layer_wise = compile_graph(graph, CompileOptions(int8_input=int8_input))
        auto = compile_graph(graph, CompileOptions(int8_input=int8_input, patch="auto"))
        assert auto.arena_bytes <= layer_wise.arena_bytes
        assert auto.patch_decision.layer_wise_peak_bytes == layer_wise.arena_bytes
