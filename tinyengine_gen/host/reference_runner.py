"""Run a compiled model op by op with the numpy references of its kernels.

It is the oracle the C kernels are developed against and the per-layer view that the
debugging tools use: it returns every intermediate tensor, not only the outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyengine_gen.compiler import CompiledModel

__all__ = ["run_reference"]


def run_reference(
    compiled: CompiledModel, inputs: Sequence[np.ndarray], state: dict[int, np.ndarray] | None = None
) -> dict[int, np.ndarray]:
    """All tensor values (graph inputs, constants used, every op output) by tensor index.

    Variable tensors (SVDF / LSTM state) start at their zero point, or at their value in
    ``state``; an op that updates one returns its new value among its outputs, and it is
    written back to ``state``, so that passing the same dict to consecutive calls runs
    consecutive invokes, as TFLM and te_invoke() do.
    """
    graph = compiled.graph
    values: dict[int, np.ndarray] = {}
    for index, array in zip(graph.inputs, inputs):
        tensor = graph.tensor(index)
        values[index] = np.asarray(array, dtype=tensor.dtype.numpy).reshape(tensor.shape)
    for tensor in graph.tensors:
        if tensor.is_constant and tensor.data is not None:
            values[tensor.index] = tensor.data
        elif tensor.is_variable:
            initial = state.get(tensor.index) if state is not None else None
            values[tensor.index] = initial if initial is not None else _zero_point_fill(tensor)
    for plan in compiled.plans:
        for index, value in plan.reference(values).items():
            tensor = graph.tensor(index)
            values[index] = np.asarray(value, dtype=tensor.dtype.numpy).reshape(tensor.shape)
    if state is not None:
        state.update({t.index: values[t.index] for t in graph.tensors if t.is_variable})
    return values


def _zero_point_fill(tensor) -> np.ndarray:
    zero_point = tensor.quant.zero_point if tensor.quant is not None else 0
    return np.full(tensor.shape, zero_point, dtype=tensor.dtype.numpy)
