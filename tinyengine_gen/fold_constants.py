"""Constant folding: operators whose inputs are all known at compile time become constants.

A model converted with its batch dimension left unfixed carries small shape subgraphs
(``SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE``, ``GATHER -> REDUCE_PROD -> CONCATENATION``)
that recompute, at every invocation, shapes the file already fixes. This pass evaluates
each such operator once, with the numpy reference of its own plan (the code TFLite
Micro's kernels are checked against), and turns its outputs into constant tensors. Later
operators then see constant shape inputs, and the model compiles without re-exporting it
at batch size 1. It is exact by construction: the value is what the op would compute.

An operator is folded when every input is a constant, or when it is SHAPE (its value
depends only on its input's static shape). Graph outputs are never folded (a compiled
model's outputs live in the arena). Operators keep their original index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from tinyengine_gen.ir import Graph, Operator, Tensor
from tinyengine_gen.ops.base import OpPlan, plan_operator

__all__ = ["fold_constants", "SHAPE_ONLY_OPCODES"]

#: Operators whose result depends on their input's shape, not on its values.
SHAPE_ONLY_OPCODES = frozenset({"SHAPE"})


def _foldable(graph: Graph, tensors: list[Tensor], op: Operator) -> bool:
    if any(index in graph.outputs for index in op.outputs) or not op.outputs:
        return False
    present = [index for index in op.inputs if index >= 0]
    if op.opcode in SHAPE_ONLY_OPCODES:
        return bool(present)
    return bool(present) and all(tensors[index].data is not None for index in present)


def fold_constants(graph: Graph, plan_op: Callable[[Graph, Operator], OpPlan] = plan_operator) -> Graph:
    """``graph`` with every foldable operator replaced by constant output tensors."""
    tensors = list(graph.tensors)
    kept: list[Operator] = []
    for op in graph.operators:
        if not _foldable(graph, tensors, op):
            kept.append(op)
            continue
        current = graph.replace(tensors=tuple(tensors))
        plan = plan_op(current, op)
        values = {
            index: tensors[index].data
            if tensors[index].data is not None
            else np.zeros(tensors[index].shape, tensors[index].dtype.numpy)
            for index in op.inputs
            if index >= 0
        }
        for index, value in plan.reference(values).items():
            tensor = tensors[index]
            data = np.array(value, dtype=tensor.dtype.numpy).reshape(tensor.shape)
            data.setflags(write=False)
            tensors[index] = dataclasses.replace(tensor, data=data)
    if len(kept) == len(graph.operators):
        return graph
    return graph.replace(tensors=tuple(tensors), operators=tuple(kept))
