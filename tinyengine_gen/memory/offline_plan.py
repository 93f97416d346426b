"""Export this compiler's layer-wise memory plan to stock TFLite Micro.

TFLite Micro reads an ``OfflineMemoryAllocation`` metadata buffer (int32: version 1,
subgraph 0, tensor count, then one arena offset per tensor, -1 for "plan it yourself") and
places those tensors at the given offsets instead of running its own greedy planner. We
write our plan there, so a user who stays on the interpreter still gets our placement.

The exported plan is the *pure* layer-wise one: no in-place kernels, no folded PADs, no
aliased views, because TFLite Micro runs every op out of place with its own kernels.
"""

from __future__ import annotations

import flatbuffers
import numpy as np

from tinyengine_gen.errors import MalformedModelError
from tinyengine_gen.ir import Graph
from tinyengine_gen.ops.base import plan_operator
from tinyengine_gen.memory.planner import plan_memory
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.memory.lifetimes import buffer_requests
from tinyengine_gen.frontend.schema import schema

__all__ = ["OFFLINE_PLAN_METADATA", "offline_offsets", "embed_offline_plan"]

OFFLINE_PLAN_METADATA = "OfflineMemoryAllocation"


def offline_offsets(graph: Graph, alignment: int = 16) -> list[int]:
    """One arena offset per tensor of the graph (-1 for constants and unused tensors).

    Every tensor gets its own storage and no scratch is reserved: TFLite Micro plans its
    kernels' scratch buffers itself, around the offline-planned tensors.
    """
    plans = tuple(plan_operator(graph, op) for op in graph.operators)
    requests, request_tensors, _ = buffer_requests(graph, plans, owners={})
    tensor_requests = [r for r in requests if not r.name.startswith("scratch:")]
    memory = plan_memory(tensor_requests, alignment)
    offsets = [-1] * len(graph.tensors)
    for request_index, tensors in request_tensors.items():
        for t in tensors:
            offsets[t] = memory.offsets[request_index]
    return offsets


def embed_offline_plan(model: bytes, source: str = "<memory>") -> bytes:
    """A copy of ``model`` whose metadata carries our layer-wise plan for TFLite Micro."""
    graph = read_model_bytes(model, source)
    offsets = offline_offsets(graph)
    try:
        unpacked = schema.ModelT.InitFromPackedBuf(model, 0)
    except Exception as exc:  # read_model_bytes accepted it, so this is unexpected
        raise MalformedModelError(f"{source}: cannot unpack the model to add metadata ({exc}).") from exc
    payload = np.array([1, 0, len(offsets), *offsets], dtype="<i4").view(np.uint8)
    buffer = schema.BufferT()
    buffer.data = payload
    unpacked.buffers = list(unpacked.buffers or []) + [buffer]
    entry = schema.MetadataT()
    entry.name = OFFLINE_PLAN_METADATA.encode()
    entry.buffer = len(unpacked.buffers) - 1
    kept = [m for m in (unpacked.metadata or []) if (m.name or b"").decode(errors="replace") != OFFLINE_PLAN_METADATA]
    unpacked.metadata = kept + [entry]
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
