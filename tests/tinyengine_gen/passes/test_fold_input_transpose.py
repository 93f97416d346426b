"""fold_input_transpose: an NCHW graph input read by convolutions through a TRANSPOSE.

Bit-exactness of the NCHW convolution against TFLM is tested on converted models in
tests/tinyengine_gen/ops/test_conv2d.py (test_conv2d_nchw_*).
"""

from __future__ import annotations

from tests.tinyengine_gen.passes.ir_graphs import GraphBuilder
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.passes.fold_input_transpose import FOLD_INPUT_TRANSPOSE, fold_input_transpose


def _nchw_conv(perm=(0, 2, 3, 1), second_reader=None):
    b = GraphBuilder()
    x = b.tensor((1, 3, 8, 8))
    nhwc = b.transpose(x, perm)
    outputs = [b.conv(nhwc, 4, 3)]
    if second_reader == "depthwise":
        outputs.append(b.depthwise(nhwc))
    return b.build([x], outputs)


def test_the_transpose_goes_and_the_conv_reads_nchw():
    graph = _nchw_conv()
    folded = fold_input_transpose(graph)
    assert [op.opcode for op in folded.operators] == ["CONV_2D"]
    conv = folded.operators[0]
    assert conv.inputs[0] == graph.inputs[0] and conv.options["inputLayout"] == "NCHW"


def test_another_permutation_or_a_non_conv_reader_keeps_the_transpose():
    for graph in (_nchw_conv(perm=(0, 1, 3, 2)), _nchw_conv(second_reader="depthwise")):
        assert fold_input_transpose(graph) is graph


def test_off_under_patching_where_the_stage_folds_it_instead():
    assert FOLD_INPUT_TRANSPOSE.applies(CompileOptions())
    assert not FOLD_INPUT_TRANSPOSE.applies(CompileOptions(fold_input_transpose=False))
    assert not FOLD_INPUT_TRANSPOSE.applies(CompileOptions(patch="auto"))
    compiled = compile_graph(_nchw_conv())
    assert [op.opcode for op in compiled.graph.operators] == ["CONV_2D"]
    kept = compile_graph(_nchw_conv(), CompileOptions(fold_input_transpose=False))
    assert [op.opcode for op in kept.graph.operators] == ["TRANSPOSE", "CONV_2D"]
