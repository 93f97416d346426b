"""A tiny int8 CONV_2D model built directly with the TFLite schema object API (no TensorFlow).

The reader tests edit it field by field, the fuzzer uses it as a seed that needs no
converter, and the Bazel example compiles it:

    .venv/bin/python -m tests.fuzz.tiny_model out.tflite
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import flatbuffers
import numpy as np

from tinyengine_gen.frontend.schema import schema

__all__ = ["tiny_tree", "pack", "tiny_model"]


def _tensor(name: str, shape: Sequence[int], dtype: int, buffer: int, scales=None, zero_points=None, axis: int = 0):
    tensor = schema.TensorT()
    tensor.name, tensor.shape, tensor.type, tensor.buffer = name.encode(), list(shape), dtype, buffer
    if scales is not None:
        tensor.quantization = schema.QuantizationParametersT()
        tensor.quantization.scale = list(scales)
        tensor.quantization.zeroPoint = list(zero_points if zero_points is not None else [0] * len(scales))
        tensor.quantization.quantizedDimension = axis
    return tensor


def _buffer(array: np.ndarray | None = None):
    buffer = schema.BufferT()
    if array is not None:
        buffer.data = np.frombuffer(np.ascontiguousarray(array).tobytes(), dtype=np.uint8)
    return buffer


def tiny_tree():
    """input [1,3,3,2] -> CONV_2D (2 filters 1x1, per channel, bias) -> output [1,3,3,2], all int8."""
    int8, int32 = schema.TensorType.INT8, schema.TensorType.INT32
    model = schema.ModelT()
    model.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CONV_2D
    code.version = 1
    model.operatorCodes = [code]
    weights = np.array([[[[3, -5]]], [[[127, -127]]]], dtype=np.int8)
    model.buffers = [_buffer(), _buffer(weights), _buffer(np.array([10, -20], np.int32))]
    subgraph = schema.SubGraphT()
    subgraph.tensors = [
        _tensor("input", (1, 3, 3, 2), int8, 0, [0.05], [-3]),
        _tensor("weights", (2, 1, 1, 2), int8, 1, [0.01, 0.02], [0, 0]),
        _tensor("bias", (2,), int32, 2, [0.0005, 0.001], [0, 0]),
        _tensor("output", (1, 3, 3, 2), int8, 0, [0.1], [5]),
    ]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, 2], [3]
    op.builtinOptionsType = schema.BuiltinOptions.Conv2DOptions
    op.builtinOptions = schema.Conv2DOptionsT()
    op.builtinOptions.padding, op.builtinOptions.strideW, op.builtinOptions.strideH = schema.Padding.VALID, 1, 1
    subgraph.operators = [op]
    subgraph.inputs, subgraph.outputs = [0], [3]
    model.subgraphs = [subgraph]
    return model


def pack(tree) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tiny_model() -> bytes:
    return pack(tiny_tree())


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.fuzz.tiny_model OUT.tflite", file=sys.stderr)
        return 2
    with open(argv[1], "wb") as handle:
        handle.write(tiny_model())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
