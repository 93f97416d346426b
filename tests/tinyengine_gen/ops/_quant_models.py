"""Model builders shared by the MEAN, pooling and PAD tests (candidates for tests/model_factory.py).

``convert_fn`` converts a ``tf.function`` (for ops Keras cannot express, or to get a
non-zero input zero point from an asymmetric representative range); ``with_quantization``
rewrites a converted model's int8 quantisation, to reproduce the exact parameters of the
real model files; ``extract_ops`` cuts the ops of some opcodes out of a real model file,
with their exact shapes, quantisation and constants.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.model_factory import full_int8, tf
from tinyengine_gen.frontend.schema import schema

__all__ = ["convert_fn", "extract_ops", "with_quantization"]


def convert_fn(fn: Callable, shape: tuple[int, ...], low: float = -0.3, high: float = 1.0, seed: int = 0) -> bytes:
    """int8 TFLite model (int8 input and output) of ``fn`` on one float input of shape [1, *shape]."""
    spec = tf.TensorSpec((1, *shape), tf.float32)
    concrete = tf.function(fn).get_concrete_function(spec)
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            yield [rng.uniform(low, high, (1, *shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], tf.Module())
    full_int8(converter, representative)
    return converter.convert()


def with_quantization(model: bytes, scale: float, zero_point: int, tensors: set[int] | None = None) -> bytes:
    """``model`` with the int8 tensors (all, or those in ``tensors``) quantised as (scale, zero_point)."""
    import flatbuffers

    unpacked = schema.ModelT.InitFromPackedBuf(model, 0)
    for index, tensor in enumerate(unpacked.subgraphs[0].tensors):
        if tensors is not None and index not in tensors:
            continue
        if tensor.type == schema.TensorType.INT8 and tensor.quantization is not None:
            tensor.quantization.scale = [scale]
            tensor.quantization.zeroPoint = [zero_point]
    builder = flatbuffers.Builder(1024)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def extract_ops(model: bytes, opcodes: set[str]) -> bytes:
    """A model of only the ops of ``model`` whose opcode is in ``opcodes``, in their original order.

    Its inputs are the non-constant tensors those ops read but do not produce, its outputs
    the tensors they produce but do not read, so chains (two MEANs in a row) stay chains.
    """
    import flatbuffers

    from tinyengine_gen.frontend.schema import BUILTIN_OPERATOR_NAMES

    unpacked = schema.ModelT.InitFromPackedBuf(model, 0)
    subgraph = unpacked.subgraphs[0]

    def name(op) -> str:
        code = unpacked.operatorCodes[op.opcodeIndex]
        return BUILTIN_OPERATOR_NAMES[max(int(code.builtinCode or 0), int(code.deprecatedBuiltinCode or 0))]

    def constant(index: int) -> bool:
        buffer = unpacked.buffers[subgraph.tensors[index].buffer]
        return (buffer.data is not None and len(buffer.data) > 0) or bool(buffer.offset and buffer.offset > 1)

    ops = [op for op in subgraph.operators if name(op) in opcodes]
    produced = [int(t) for op in ops for t in op.outputs]
    read = [int(t) for op in ops for t in op.inputs if t >= 0 and not constant(int(t))]
    subgraph.operators = ops
    subgraph.inputs = list(dict.fromkeys(t for t in read if t not in produced))
    subgraph.outputs = [t for t in produced if t not in read]
    builder = flatbuffers.Builder(1024)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
