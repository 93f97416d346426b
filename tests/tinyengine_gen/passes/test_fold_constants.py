"""Constant folding: the converter's shape subgraph of an unfixed-batch model becomes
constants evaluated with the ops' numpy references; placeholder shapes are settled."""

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.passes.fold_constants import fold_constants


def _const(index, values):
    data = np.asarray(values, dtype=np.int32)
    return Tensor(index, f"c{index}", data.shape, DType.INT32, data=data)


def _shape_subgraph() -> Graph:
    """x [1, 4, 4, 3] -> SHAPE -> [0:1] -> PACK(batch, 16, 3) -> RESHAPE x; then a dynamic
    RESHAPE whose file shape is the placeholder [1, 1] (settled to [16, 3])."""
    q = Quantization((0.1,), (0,))
    tensors = (
        Tensor(0, "x", (1, 4, 4, 3), DType.INT8, q),
        Tensor(1, "shape", (4,), DType.INT32),
        _const(2, [0]),
        _const(3, [1]),
        _const(4, [1]),
        Tensor(5, "batch", (), DType.INT32),
        _const(6, 16),
        _const(7, 3),
        Tensor(8, "new_shape", (3,), DType.INT32),
        Tensor(9, "y", (1, 16, 3), DType.INT8, q),
        _const(10, [-1, 3]),
        Tensor(11, "z", (1, 1), DType.INT8, q),
    )
    ops = (
        Operator(0, "SHAPE", (0,), (1,)),
        Operator(1, "STRIDED_SLICE", (1, 2, 3, 4), (5,), {"shrinkAxisMask": 1}),
        Operator(2, "PACK", (5, 6, 7), (8,), {"axis": 0, "valuesCount": 3}),
        Operator(3, "RESHAPE", (0, 8), (9,)),
        Operator(4, "RESHAPE", (9, 10), (11,)),
    )
    return Graph(tensors, ops, (0,), (11,), source="dynamic.tflite")


def test_shape_subgraph_folds_to_constants():
    folded = fold_constants(_shape_subgraph())
    assert [op.opcode for op in folded.operators] == ["RESHAPE", "RESHAPE"]
    assert folded.tensor(1).data.tolist() == [1, 4, 4, 3]
    assert int(folded.tensor(5).data) == 1
    assert folded.tensor(8).data.tolist() == [1, 16, 3]
    assert folded.tensor(11).shape == (16, 3)  # the placeholder [1, 1] settled from [-1, 3]


def test_graph_without_constant_ops_is_returned_unchanged():
    graph = _shape_subgraph()
    graph = graph.replace(operators=graph.operators[3:4], outputs=(9,))
    graph = graph.replace(tensors=graph.tensors[:8] + (_const(8, [1, 16, 3]),) + graph.tensors[9:])
    assert fold_constants(graph) is graph
