"""fold_pad: exact (bit-identical to TFLM) and actually removing the PAD it promises to."""

from __future__ import annotations

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.passes.fold_pad import FOLD_PAD, fold_pad
from tests.tinyengine_gen.passes.ir_graphs import GraphBuilder


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


def _pad_then_conv(value=None, padding="VALID", conv_reads_pad_only=True):
    b = GraphBuilder()
    x = b.tensor((1, 9, 9, 4))
    padded = b.pad(x, 1, 2, 0, 1, value)
    y = b.conv(padded, 6, 3, 1, padding)
    outputs = [y] if conv_reads_pad_only else [y, b.conv(padded, 2, 1)]
    return b.build([x], outputs)


def test_fold_pad_moves_the_amounts_into_the_conv_and_drops_the_pad():
    graph = _pad_then_conv()
    folded = fold_pad(graph)
    assert [op.opcode for op in folded.operators] == ["CONV_2D"]
    conv = folded.operators[0]
    assert conv.options["explicitPadding"] == (1, 2, 0, 1)
    assert conv.inputs[0] == graph.inputs[0]
    assert conv.index == 1  # operators keep their index in the file


def test_fold_pad_takes_a_padv2_only_with_the_zero_point_as_value():
    assert [op.opcode for op in fold_pad(_pad_then_conv(value=0)).operators] == ["CONV_2D"]
    assert [op.opcode for op in fold_pad(_pad_then_conv(value=5)).operators] == ["PADV2", "CONV_2D"]


def test_fold_pad_leaves_a_pad_before_a_same_conv_or_with_a_second_reader():
    for graph in (_pad_then_conv(padding="SAME"), _pad_then_conv(conv_reads_pad_only=False)):
        assert fold_pad(graph) is graph


def test_fold_pad_runs_only_when_the_options_ask():
    assert FOLD_PAD.applies(CompileOptions()) and not FOLD_PAD.applies(CompileOptions(fold_pad=False))
    graph = _pad_then_conv()
    assert [op.opcode for op in compile_graph(graph, CompileOptions(fold_pad=False)).graph.operators] == ["PAD", "CONV_2D"]
