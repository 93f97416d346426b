"""Whole graphs rather than single ops: several outputs, float I/O, branches, SE blocks.

Each is compiled to C and must equal TFLite Micro bit for bit, with the compiler's own
options (int8 input API, PAD folding, in-place kernels) on and off.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.memory.planner import find_overlaps
from tinyengine_gen.frontend.reader import read_model_bytes

ALL_OFF = CompileOptions(fold_pad=False, in_place=False)


def _two_outputs():
    inputs = keras.Input((16, 16, 3), batch_size=1)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(inputs)
    head_a = keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(x))
    head_b = keras.layers.Conv2D(2, 1, activation="sigmoid")(x)
    return keras.Model(inputs, [head_a, head_b])


def _mobilenet_block():
    inputs = keras.Input((20, 20, 8), batch_size=1)
    x = keras.layers.Conv2D(24, 1, activation="relu6")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.Conv2D(8, 1)(x)
    x = keras.layers.Add()([inputs, x])
    x = keras.layers.ZeroPadding2D(1)(x)
    x = keras.layers.DepthwiseConv2D(5, strides=2, padding="valid", activation="relu6")(x)
    return keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(x))))


def _branches_and_concat():
    inputs = keras.Input((12, 12, 4), batch_size=1)
    a = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    b = keras.layers.MaxPooling2D(2, strides=1, padding="same")(inputs)
    c = keras.layers.AveragePooling2D(3, strides=1, padding="same")(a)
    x = keras.layers.Concatenate()([a, b, c])
    x = keras.layers.UpSampling2D(2)(keras.layers.Conv2D(5, 1, strides=2)(x))
    return keras.Model(inputs, x)


def _squeeze_excitation():
    inputs = keras.Input((10, 10, 16), batch_size=1)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(inputs)
    s = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = keras.layers.Conv2D(4, 1, activation="relu")(s)
    s = keras.layers.Conv2D(16, 1, activation="sigmoid")(s)
    return keras.Model(inputs, keras.layers.Multiply()([x, s]))


GRAPHS = {
    "two_outputs": _two_outputs,
    "mobilenet_block": _mobilenet_block,
    "branches_and_concat": _branches_and_concat,
    "squeeze_excitation": _squeeze_excitation,
}


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def graph_model(request):
    return request.param, convert_int8(GRAPHS[request.param], int8_io=request.param != "mobilenet_block")


def test_graph_bit_exact_with_default_options(tmp_path, graph_model):
    _, model = graph_model
    compile_and_compare(model, tmp_path, trials=4)


def test_graph_bit_exact_with_every_optimisation_off(tmp_path, graph_model):
    _, model = graph_model
    compile_and_compare(model, tmp_path, trials=2, options=ALL_OFF)


def test_optimisations_never_raise_the_arena_and_plans_never_overlap(graph_model):
    _, model = graph_model
    graph = read_model_bytes(model)
    optimised, plain = compile_graph(graph), compile_graph(graph, ALL_OFF)
    assert optimised.arena_bytes <= plain.arena_bytes
    assert find_overlaps(optimised.memory) == [] and find_overlaps(plain.memory) == []


def test_several_outputs_come_back_in_model_order(tmp_path):
    model = convert_int8(_two_outputs)
    comparison = compile_and_compare(model, tmp_path, trials=2)
    shapes = [info["shape"] for info in comparison.host.output_details]
    assert sorted(shapes) == sorted([[1, 4], [1, 8, 8, 2]])


def test_float_io_model_with_int8_api_is_exact_and_smaller(tmp_path):
    model = convert_int8(_mobilenet_block, int8_io=False)
    graph = read_model_bytes(model)
    assert graph.tensor(graph.inputs[0]).dtype.value == "float32"
    # Without residual fusion: with the float API the block's ADD may write over the
    # QUANTIZE output (internal), with the int8 API not over the caller's input, by 32 B here.
    float_api = compile_graph(graph, CompileOptions(fuse_residual_add=False))
    int8_api = compile_graph(graph, CompileOptions(int8_input=True, int8_output=True, fuse_residual_add=False))
    assert int8_api.graph.tensor(int8_api.graph.inputs[0]).dtype.value == "int8"
    assert int8_api.arena_bytes <= float_api.arena_bytes
    # The float image (4 bytes a value) no longer needs SRAM beside its int8 copy.
    assert int8_api.memory.live_bytes(0) < float_api.memory.live_bytes(0)
    comparison = compile_and_compare(model, tmp_path, trials=3, options=CompileOptions(int8_input=True, int8_output=True))
    assert "float_api" in comparison.host.report["inputs"][0]
    outputs = comparison.host.run([np.zeros((1, 20, 20, 8), np.float32)])
    assert outputs[0].dtype == np.float32


def test_in_place_depthwise_is_used_and_exact(tmp_path):
    model = convert_int8(_squeeze_excitation)
    compiled = compile_graph(read_model_bytes(model), CompileOptions())
    depthwise = [p for p in compiled.plans if type(p).__name__ == "DepthwiseConv2DPlan"]
    # The depthwise input is the graph input, which belongs to the caller: never overwritten.
    assert depthwise and not depthwise[0].in_place
    block = convert_int8(_mobilenet_block)
    compiled = compile_graph(read_model_bytes(block))
    in_place = [p for p in compiled.plans if getattr(p, "in_place", False)]
    assert in_place, "the expand -> depthwise pattern should run in place"
    compile_and_compare(block, tmp_path, trials=3)
