"""Graph rewrites: exact (bit-identical to TFLM) and actually removing what they promise."""

from __future__ import annotations

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes


def _pad_conv_model(padding, kernel=3, stride=2, conv_padding="valid"):
    def build():
        inputs = keras.Input((15, 14, 4), batch_size=1)
        x = keras.layers.ZeroPadding2D(padding)(inputs)
        outputs = keras.layers.Conv2D(6, kernel, strides=stride, padding=conv_padding, activation="relu")(x)
        return keras.Model(inputs, outputs)

    return build


@pytest.mark.parametrize("padding,kernel,stride", [(((1, 1), (1, 1)), 3, 2), (((1, 2), (0, 3)), 3, 1), (((3, 3), (3, 3)), 7, 2)])
def test_pad_folded_into_conv_is_exact_and_smaller(tmp_path, padding, kernel, stride):
    model = convert_int8(_pad_conv_model(padding, kernel, stride))
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["PAD", "CONV_2D"]
    folded = compile_graph(graph)
    unfolded = compile_graph(graph, CompileOptions(fold_pad=False))
    assert [op.opcode for op in folded.graph.operators] == ["CONV_2D"]
    assert folded.arena_bytes < unfolded.arena_bytes
    compile_and_compare(model, tmp_path, trials=3)
    compile_and_compare(model, tmp_path / "unfolded", trials=2, options=CompileOptions(fold_pad=False))


def test_pad_before_same_conv_is_left_alone():
    model = convert_int8(_pad_conv_model(((1, 1), (1, 1)), conv_padding="same"))
    compiled = compile_graph(read_model_bytes(model))
    assert [op.opcode for op in compiled.graph.operators] == ["PAD", "CONV_2D"]


def test_pad_folded_into_depthwise_is_exact(tmp_path):
    def build():
        inputs = keras.Input((16, 13, 8), batch_size=1)
        x = keras.layers.ZeroPadding2D(((1, 2), (2, 1)))(inputs)
        outputs = keras.layers.DepthwiseConv2D(5, strides=2, padding="valid", activation="relu6")(x)
        return keras.Model(inputs, outputs)

    model = convert_int8(build)
    compiled = compile_graph(read_model_bytes(model))
    assert [op.opcode for op in compiled.graph.operators] == ["DEPTHWISE_CONV_2D"]
    compile_and_compare(model, tmp_path, trials=3)
