"""A float unary operator between DEQUANTIZE and QUANTIZE becomes one int8 table lookup.

The converter leaves some activations in float32 even in a fully int8 model: a Keras
``Activation("elu")`` converts to ``DEQUANTIZE -> ELU (float32) -> QUANTIZE``, and TFLite
Micro runs the three. The int8 output is then a function of the int8 input byte alone, so
the chain folds into the operator's int8 form planned with TFLM's float arithmetic (the
``floatPath`` option; see :func:`tinyengine_gen.ops.elu.elu_float_path_transform`): the
table of 256 bytes replaces two float32 tensors and the float kernels, with the same
output bytes. The float tensors must be read only by the chain and not be graph outputs.
"""

from __future__ import annotations

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.passes.base import graph_pass
from tinyengine_gen.passes.graph_edit import replace_operator, with_operators_replaced

__all__ = ["FLOAT_PATH", "FOLD_FLOAT_UNARY", "FOLDABLE", "fold_float_unary"]

#: The option a folded operator carries: plan it with TFLM's float32 arithmetic.
FLOAT_PATH = "floatPath"
#: Float unary operators whose int8 twin can plan TFLM's float path.
FOLDABLE = frozenset({"ELU"})


def _per_tensor_int8(graph: Graph, index: int) -> bool:
    tensor = graph.tensor(index)
    return tensor.dtype == DType.INT8 and tensor.quant is not None and not tensor.quant.per_channel


def _chain(graph: Graph, op: Operator, by_index: dict[int, Operator], consumers: dict[int, list[int]]):
    """(DEQUANTIZE, QUANTIZE) around float ``op``, or None where the pattern does not hold."""
    if op.opcode not in FOLDABLE or len(op.inputs) != 1 or len(op.outputs) != 1:
        return None
    source, result = op.inputs[0], op.outputs[0]
    producers = [p for p in graph.operators if source in p.outputs]
    readers = consumers.get(result, [])
    if len(producers) != 1 or len(readers) != 1 or len(consumers.get(source, [])) != 1:
        return None
    dequantize, quantize = producers[0], by_index[readers[0]]
    if dequantize.opcode != "DEQUANTIZE" or quantize.opcode != "QUANTIZE":
        return None
    if {source, result} & set(graph.outputs) or graph.tensor(source).dtype != DType.FLOAT32:
        return None
    if not (_per_tensor_int8(graph, dequantize.inputs[0]) and _per_tensor_int8(graph, quantize.outputs[0])):
        return None
    return dequantize, quantize


def fold_float_unary(graph: Graph) -> Graph:
    if not any(op.opcode in FOLDABLE for op in graph.operators):
        return graph
    consumers = graph.consumers()
    by_index = {op.index: op for op in graph.operators}
    replaced: dict[int, Operator] = {}
    removed: set[int] = set()
    for op in graph.operators:
        chain = _chain(graph, op, by_index, consumers)
        if chain is None:
            continue
        dequantize, quantize = chain
        options = {**op.options, FLOAT_PATH: True}
        replaced[op.index] = replace_operator(op, inputs=dequantize.inputs[:1], outputs=quantize.outputs, options=options)
        removed.update((dequantize.index, quantize.index))
    return with_operators_replaced(graph, replaced, removed)


#: Always runs (exact), after constant folding.
FOLD_FLOAT_UNARY = graph_pass("fold_float_unary", lambda options: True, fold_float_unary)
