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

The converter writes placeholder shapes (``[1, 1]``) for tensors a dynamic RESHAPE
produces; TFLite works them out at run time. Once the new-shape input is a constant,
:func:`settle_shapes` does that work once: a RESHAPE's output takes the shape its constant
new-shape input gives it, and a FULLY_CONNECTED's output the rows its input then has.
A shape is only replaced where the file's one cannot be right (its element count differs).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from tinyengine_gen.ir import Graph, Operator, Tensor
from tinyengine_gen.ops.base import OpPlan, plan_operator
from tinyengine_gen.passes.base import graph_pass

__all__ = ["FOLD_CONSTANTS", "fold_constants", "settle_shapes", "SHAPE_ONLY_OPCODES"]

#: Operators whose result depends on their input's shape, not on its values.
SHAPE_ONLY_OPCODES = frozenset({"SHAPE"})


def _foldable(graph: Graph, tensors: list[Tensor], op: Operator) -> bool:
    """Whether every input is constant (or only its shape matters) and the caller does not
    read the outputs. Asked of every op of every config the NAS prices: the test that
    fails for almost all of them (a non-constant input) comes first."""
    present = [index for index in op.inputs if index >= 0]
    if not present or not op.outputs:
        return False
    if op.opcode not in SHAPE_ONLY_OPCODES and any(tensors[index].data is None for index in present):
        return False
    return not any(index in graph.outputs for index in op.outputs)


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
    return settle_shapes(graph.replace(tensors=tuple(tensors), operators=tuple(kept)))


def _reshape_shape(tensors: list[Tensor], op: Operator) -> tuple[int, ...] | None:
    if len(op.inputs) < 2 or op.inputs[1] < 0 or tensors[op.inputs[1]].data is None:
        return None
    wanted = [int(v) for v in np.asarray(tensors[op.inputs[1]].data).reshape(-1)]
    elements = tensors[op.inputs[0]].num_elements
    known = math.prod(d for d in wanted if d != -1)
    if wanted.count(-1) > 1 or known == 0:
        return None
    shape = tuple(elements // known if d == -1 else d for d in wanted)
    return shape if math.prod(shape) == elements else None


def _fully_connected_shape(tensors: list[Tensor], op: Operator) -> tuple[int, ...] | None:
    x, w = tensors[op.inputs[0]], tensors[op.inputs[1]]
    if op.options.get("keepNumDims") or len(w.shape) != 2 or not w.shape[1] or x.num_elements % w.shape[1]:
        return None
    return (x.num_elements // w.shape[1], w.shape[0])


_SHAPE_RULES: dict[str, Callable[[list[Tensor], Operator], tuple[int, ...] | None]] = {
    "RESHAPE": _reshape_shape,
    "FULLY_CONNECTED": _fully_connected_shape,
}


def settle_shapes(graph: Graph) -> Graph:
    """Replace placeholder output shapes that the now-constant shape inputs determine."""
    tensors = list(graph.tensors)
    changed = False
    for op in graph.operators:
        rule = _SHAPE_RULES.get(op.opcode)
        shape = rule(tensors, op) if rule else None
        out = tensors[op.outputs[0]]
        if shape is not None and math.prod(shape) != out.num_elements and not out.is_constant:
            tensors[out.index] = dataclasses.replace(out, shape=shape)
            changed = True
    return graph.replace(tensors=tuple(tensors)) if changed else graph


#: Always runs, first: the later passes and the planners then see constants.
FOLD_CONSTANTS = graph_pass("fold_constants", lambda options: True, fold_constants)
