"""Run a compiled model op by op with the numpy references of its kernels.

It is the oracle the C kernels are developed against and the per-layer view that the
debugging tools use: it returns every intermediate tensor, not only the outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinyengine_gen.compiler import CompiledModel

__all__ = ["run_reference"]


def run_reference(compiled: CompiledModel, inputs: Sequence[np.ndarray]) -> dict[int, np.ndarray]:
    """All tensor values (graph inputs, constants used, every op output) by tensor index."""
    graph = compiled.graph
    values: dict[int, np.ndarray] = {}
    for index, array in zip(graph.inputs, inputs):
        tensor = graph.tensor(index)
        values[index] = np.asarray(array, dtype=tensor.dtype.numpy).reshape(tensor.shape)
    for tensor in graph.tensors:
        if tensor.is_constant:
            values[tensor.index] = tensor.data
    for plan in compiled.plans:
        for index, value in plan.reference(values).items():
            tensor = graph.tensor(index)
            values[index] = np.asarray(value, dtype=tensor.dtype.numpy).reshape(tensor.shape)
    return values
