"""The int8 API options: drop a QUANTIZE after a float input, a DEQUANTIZE before a float output.

A QUANTIZE right after a float graph input, or a DEQUANTIZE right before a float graph
output, is removed so the graph's input or output is the int8 tensor; the caller
quantises with the scale and zero point in model.h. This keeps a float input (4 bytes a
value) out of SRAM. Exact: the caller does what the removed operator did.
"""

from __future__ import annotations

from tinyengine_gen.ir import DType, Graph
from tinyengine_gen.passes.graph_edit import without_operators
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import graph_pass

__all__ = ["STRIP_INPUT_QUANTIZE", "STRIP_OUTPUT_DEQUANTIZE", "strip_input_quantize", "strip_output_dequantize"]


def strip_input_quantize(graph: Graph) -> Graph:
    """Make the int8 output of a QUANTIZE that reads a float graph input the graph input."""
    consumers = graph.consumers()
    by_index = {op.index: op for op in graph.operators}
    removed: set[int] = set()
    inputs = list(graph.inputs)
    for position, index in enumerate(graph.inputs):
        users = consumers.get(index, [])
        if graph.tensor(index).dtype != DType.FLOAT32 or len(users) != 1 or index in graph.outputs:
            continue
        op = by_index[users[0]]
        if op.opcode == "QUANTIZE" and graph.tensor(op.outputs[0]).dtype == DType.INT8:
            inputs[position] = op.outputs[0]
            removed.add(op.index)
    return without_operators(graph, removed, inputs=tuple(inputs))


def strip_output_dequantize(graph: Graph) -> Graph:
    """Make the int8 input of a DEQUANTIZE that produces a float graph output the graph output."""
    consumers = graph.consumers()
    producers = {out: op for op in graph.operators for out in op.outputs}
    removed: set[int] = set()
    outputs = list(graph.outputs)
    for position, index in enumerate(graph.outputs):
        op = producers.get(index)
        if op is None or op.opcode != "DEQUANTIZE" or graph.tensor(op.inputs[0]).dtype != DType.INT8:
            continue
        if op.inputs[0] in graph.outputs or consumers.get(index):
            continue
        outputs[position] = op.inputs[0]
        removed.add(op.index)
    return without_operators(graph, removed, outputs=tuple(outputs))


def _int8_input(options: CompileOptions) -> bool:
    return options.int8_input


def _int8_output(options: CompileOptions) -> bool:
    return options.int8_output


STRIP_INPUT_QUANTIZE = graph_pass("strip_input_quantize", _int8_input, strip_input_quantize)
STRIP_OUTPUT_DEQUANTIZE = graph_pass("strip_output_dequantize", _int8_output, strip_output_dequantize)
