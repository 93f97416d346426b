"""Small helpers the graph rewrites share: copy an operator with changes, drop operators.

Operators keep their original ``index`` (the position in the file) so that messages and
reports still name the operator the user sees in the .tflite file.
"""

from __future__ import annotations

from tinyengine_gen.ir import Graph, Operator

__all__ = ["replace_operator", "with_operators_replaced", "without_operators"]


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
