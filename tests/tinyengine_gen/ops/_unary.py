"""Shared checks of int8 element-wise unary operators (HARD_SWISH, RELU, TANH, ...).

Each operator is converted from a ``tf.function`` with an asymmetric representative range
(so the input zero point is not 0), compiled, and compared with TFLite Micro on one input
holding every int8 value and on random inputs: the table the kernel reads is then checked
on all 256 bytes, and the numpy twin of TFLM's arithmetic on the first inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.harness import compile_and_compare
from tests.model_factory import tf
from tests.tinyengine_gen.ops._quant_models import convert_fn
from tinyengine_gen.frontend.reader import read_model_bytes

__all__ = ["every_byte_and_random", "opcodes", "swapped_unary_model", "unary_model"]


def unary_model(fn: Callable, shape: tuple[int, ...] = (16, 16), low: float = -4.0, high: float = 6.0) -> bytes:
    return convert_fn(fn, shape, low=low, high=high)


def swapped_unary_model(
    opcode: str, shape: tuple[int, ...], low: float, high: float, out_low: float, out_high: float
) -> bytes:
    """A one-op int8 model of ``opcode``, for operators the converter leaves in float (ELU, RSQRT).

    An int8 RELU6 is converted with input range [low, high], then its operator code is
    replaced by ``opcode`` and its output quantised for [out_low, out_high] (what the
    converter would give the operator's own output range).
    """
    import flatbuffers

    from tinyengine_gen.frontend.schema import schema

    unpacked = schema.ModelT.InitFromPackedBuf(unary_model(tf.nn.relu6, shape, low, high), 0)
    (code,) = unpacked.operatorCodes
    code.builtinCode = getattr(schema.BuiltinOperator, opcode)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    subgraph = unpacked.subgraphs[0]
    (op,) = subgraph.operators
    op.builtinOptionsType, op.builtinOptions = 0, None
    output = subgraph.tensors[op.outputs[0]].quantization
    scale = (out_high - out_low) / 255.0
    output.scale, output.zeroPoint = [scale], [int(round(-128 - out_low / scale))]
    builder = flatbuffers.Builder(1024)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def opcodes(model: bytes) -> list[str]:
    return [op.opcode for op in read_model_bytes(model).operators]


def every_byte_and_random(model: bytes, tmp_path, trials: int = 10, seed: int = 0):
    """Compare with TFLM on ``trials`` inputs: the first has every int8 value (shuffled), the rest are random."""
    graph = read_model_bytes(model)
    shape = tuple(graph.tensor(graph.inputs[0]).shape)
    size = int(np.prod(shape))
    if size < 256:
        raise ValueError("use at least 256 elements so that one input holds every int8 value")
    rng = np.random.default_rng(seed)
    every = np.resize(rng.permutation(np.arange(-128, 128, dtype=np.int8)), size).reshape(shape)
    cases = [[every]] + [[rng.integers(-128, 128, size=shape, dtype=np.int8)] for _ in range(trials - 1)]
    return compile_and_compare(model, tmp_path, inputs=cases, reference_trials=3)
