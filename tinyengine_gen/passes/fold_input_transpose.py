"""Let the first convolutions read an NCHW graph input directly (exact).

A TRANSPOSE (perm 0, 2, 3, 1) of an NCHW graph input read only by convolutions is
removed, and those convolutions index the NCHW input directly (``inputLayout``), so the
NHWC copy of the image never exists.
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.passes.graph_edit import replace_operator, with_operators_replaced
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import graph_pass

__all__ = ["FOLD_INPUT_TRANSPOSE", "fold_input_transpose"]


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
            replaced[user.index] = replace_operator(user, inputs=(op.inputs[0],) + user.inputs[1:], options=options)
        removed.add(op.index)
    return with_operators_replaced(graph, replaced, removed)


def _asked(options: CompileOptions) -> bool:
    """Off under patching: a patch stage folds that TRANSPOSE into its own input crops instead."""
    return options.fold_input_transpose and options.patch == "off"


FOLD_INPUT_TRANSPOSE = graph_pass("fold_input_transpose", _asked, fold_input_transpose)
