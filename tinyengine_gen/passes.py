"""Graph rewrites that run before planning, each exact (the outputs do not change by a bit).

- ``fold_pad``: an explicit PAD (or PADV2 with the zero point as pad value) feeding a
  convolution or depthwise convolution becomes that layer's own padding. The padded tensor
  then never exists. Exact because a tap on a pad value contributes
  (zero_point + input_offset) * w = 0, which is what skipping the tap contributes.
- ``strip_input_quantize`` / ``strip_output_dequantize`` (the int8 API options): a QUANTIZE
  right after a float graph input, or a DEQUANTIZE right before a float graph output, is
  removed so the graph's input or output is the int8 tensor; the caller quantises with the
  scale and zero point in model.h. This keeps a float input (4 bytes a value) out of SRAM.

- ``fold_input_transpose``: a TRANSPOSE (perm 0, 2, 3, 1) of an NCHW graph input read only
  by convolutions is removed, and those convolutions index the NCHW input directly
  (``inputLayout``), so the NHWC copy of the image never exists.

Operators keep their original ``index`` (the position in the file) so that messages and
reports still name the operator the user sees in the .tflite file.
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.schema import schema

__all__ = ["fold_pad", "fold_input_transpose", "strip_input_quantize", "strip_output_dequantize", "PAD_CONSUMERS"]

#: Operators whose planners accept ``options["explicitPadding"] = (top, bottom, left, right)``.
PAD_CONSUMERS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _replace_operator(op: Operator, **changes) -> Operator:
    return Operator(
        index=op.index,
        opcode=changes.get("opcode", op.opcode),
        inputs=changes.get("inputs", op.inputs),
        outputs=changes.get("outputs", op.outputs),
        options=changes.get("options", op.options),
    )


def _foldable_pad(graph: Graph, pad: Operator) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) if ``pad`` pads only H and W of a 4-D tensor with its zero point."""
    if pad.opcode not in ("PAD", "PADV2") or len(pad.inputs) < 2:
        return None
    source, paddings_tensor, result = graph.tensor(pad.inputs[0]), graph.tensor(pad.inputs[1]), graph.tensor(pad.outputs[0])
    if paddings_tensor.data is None or len(source.shape) != 4 or source.dtype != DType.INT8:
        return None
    if source.quant is None or result.quant is None or source.quant != result.quant:
        return None
    paddings = np.asarray(paddings_tensor.data).reshape(-1, 2)
    if paddings.shape != (4, 2) or paddings[0].any() or paddings[3].any() or (paddings < 0).any():
        return None
    if pad.opcode == "PADV2" and len(pad.inputs) > 2 and pad.inputs[2] >= 0:
        value = graph.tensor(pad.inputs[2]).data
        if value is None or int(np.asarray(value).reshape(-1)[0]) != result.quant.zero_point:
            return None
    return int(paddings[1, 0]), int(paddings[1, 1]), int(paddings[2, 0]), int(paddings[2, 1])


def fold_pad(graph: Graph) -> Graph:
    if not any(op.opcode in ("PAD", "PADV2") for op in graph.operators):
        return graph  # nothing to fold; the NAS cost model compiles thousands of PAD-free graphs
    consumers = graph.consumers()
    producers = {out: op for op in graph.operators for out in op.outputs}
    removed: set[int] = set()
    replaced: dict[int, Operator] = {}
    for op in graph.operators:
        if op.opcode not in PAD_CONSUMERS or "explicitPadding" in op.options:
            continue
        if int(op.options.get("padding", -1)) != schema.Padding.VALID:
            continue  # the layer pads by itself too; keep the PAD rather than combine the two
        pad = producers.get(op.inputs[0])
        if pad is None or consumers.get(pad.outputs[0]) != [op.index] or pad.outputs[0] in graph.outputs:
            continue
        amounts = _foldable_pad(graph, pad)
        if amounts is None:
            continue
        options = dict(op.options)
        options["explicitPadding"] = amounts
        replaced[op.index] = _replace_operator(op, inputs=(pad.inputs[0],) + op.inputs[1:], options=options)
        removed.add(pad.index)
    if not removed:
        return graph
    operators = tuple(replaced.get(op.index, op) for op in graph.operators if op.index not in removed)
    return graph.replace(operators=operators)


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
    return _without(graph, removed, inputs=tuple(inputs))


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
    return _without(graph, removed, outputs=tuple(outputs))


def _without(graph: Graph, removed: set[int], **changes) -> Graph:
    if not removed:
        return graph
    operators = tuple(op for op in graph.operators if op.index not in removed)
    return graph.replace(operators=operators, **changes)


def fold_input_transpose(graph: Graph) -> Graph:
    if not any(op.opcode == "TRANSPOSE" for op in graph.operators):
        return graph
    consumers = graph.consumers()
    by_index = {op.index: op for op in graph.operators}
    removed: set[int] = set()
    replaced: dict[int, Operator] = {}
    for op in graph.operators:
        if op.opcode != "TRANSPOSE" or op.inputs[0] not in graph.inputs or op.outputs[0] in graph.outputs:
            continue
        perm = graph.tensor(op.inputs[1]).data if len(op.inputs) > 1 else None
        if perm is None or np.asarray(perm).reshape(-1).tolist() != [0, 2, 3, 1]:
            continue
        users = [by_index[i] for i in consumers.get(op.outputs[0], [])]
        if not users or any(u.opcode != "CONV_2D" or u.inputs[0] != op.outputs[0] for u in users):
            continue
        for user in users:
            options = dict(user.options, inputLayout="NCHW")
            replaced[user.index] = _replace_operator(user, inputs=(op.inputs[0],) + user.inputs[1:], options=options)
        removed.add(op.index)
    if not removed:
        return graph
    operators = tuple(replaced.get(op.index, op) for op in graph.operators if op.index not in removed)
    return graph.replace(operators=operators)
