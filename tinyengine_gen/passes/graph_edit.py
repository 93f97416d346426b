"""Small helpers the graph rewrites share: copy an operator with changes, drop operators.

Operators keep their original ``index`` (the position in the file) so that messages and
reports still name the operator the user sees in the .tflite file.
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor

__all__ = ["AppendedTensors", "replace_operator", "with_operators_replaced", "without_operators"]


class AppendedTensors:
    """A graph's tensors with new ones appended: the constants and activations a rewrite adds
    (constants are stored read-only, as the reader stores them)."""

    def __init__(self, graph: Graph) -> None:
        self.tensors = list(graph.tensors)

    def add(self, name: str, shape, dtype: DType, quant: Quantization | None = None, data=None) -> int:
        if data is not None:
            data = np.ascontiguousarray(data)
            data.setflags(write=False)
        index = len(self.tensors)
        self.tensors.append(Tensor(index, name, tuple(int(d) for d in shape), dtype, quant, data))
        return index


def replace_operator(op: Operator, **changes) -> Operator:
    return Operator(
        index=op.index,
        opcode=changes.get("opcode", op.opcode),
        inputs=changes.get("inputs", op.inputs),
        outputs=changes.get("outputs", op.outputs),
        options=changes.get("options", op.options),
    )


def without_operators(graph: Graph, removed: set[int], **changes) -> Graph:
    if not removed:
        return graph
    operators = tuple(op for op in graph.operators if op.index not in removed)
    return graph.replace(operators=operators, **changes)


def with_operators_replaced(graph: Graph, replaced: dict[int, Operator], removed: set[int]) -> Graph:
    """``graph`` with the operators in ``replaced`` (by index) swapped in and those in ``removed`` dropped."""
    if not removed:
        return graph
    operators = tuple(replaced.get(op.index, op) for op in graph.operators if op.index not in removed)
    return graph.replace(operators=operators)
