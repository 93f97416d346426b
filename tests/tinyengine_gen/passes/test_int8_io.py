"""strip_input_quantize / strip_output_dequantize: the int8 API options on IR graphs.

Bit-exactness of the compiled C with these options against TFLM is tested on converted
models in tests/tinyengine_gen/test_graphs.py.
"""

from __future__ import annotations

from tests.tinyengine_gen.passes.ir_graphs import GraphBuilder
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.ir import DType
from tinyengine_gen.passes.int8_io import (
    STRIP_INPUT_QUANTIZE,
    STRIP_OUTPUT_DEQUANTIZE,
    strip_input_quantize,
    strip_output_dequantize,
)


def _float_io(second_reader=False):
    b = GraphBuilder()
    x = b.tensor((1, 6, 6, 3), DType.FLOAT32, None)
    q = b.quantize(x)
    y = b.conv(q, 4)
    outputs = [b.dequantize(y)]
    if second_reader:
        outputs.append(b.dequantize(b.quantize(x)))
    return b.build([x], outputs), q, y


def test_strip_input_quantize_makes_the_int8_tensor_the_graph_input():
    graph, q, _ = _float_io()
    stripped = strip_input_quantize(graph)
    assert stripped.inputs == (q,)
    assert [op.opcode for op in stripped.operators] == ["CONV_2D", "DEQUANTIZE"]


def test_strip_output_dequantize_makes_the_int8_tensor_the_graph_output():
    graph, _, y = _float_io()
    stripped = strip_output_dequantize(graph)
    assert stripped.outputs == (y,)
    assert [op.opcode for op in stripped.operators] == ["QUANTIZE", "CONV_2D"]


def test_a_float_input_read_twice_keeps_its_quantize():
    graph, _, _ = _float_io(second_reader=True)
    assert strip_input_quantize(graph) is graph


def test_the_int8_api_passes_run_only_when_asked_and_shrink_the_arena():
    assert not STRIP_INPUT_QUANTIZE.applies(CompileOptions()) and STRIP_INPUT_QUANTIZE.applies(CompileOptions(int8_input=True))
    assert not STRIP_OUTPUT_DEQUANTIZE.applies(CompileOptions()) and STRIP_OUTPUT_DEQUANTIZE.applies(CompileOptions(int8_output=True))
    graph, _, _ = _float_io()
    plain = compile_graph(graph)
    int8 = compile_graph(graph, CompileOptions(int8_input=True, int8_output=True))
    assert [op.opcode for op in int8.graph.operators] == ["CONV_2D"]
    assert int8.arena_bytes < plain.arena_bytes  # the float image never occupies SRAM
