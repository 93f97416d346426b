"""Small IR graphs built in code for the pass tests: no TensorFlow, milliseconds each.

The values are synthetic (unit scales, zero weights): the passes only read shapes,
options and quantisation parameters, and exactness against TFLM is tested elsewhere on
converted models (tests/tinyengine_gen/test_graphs.py and the op tests).
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.frontend.schema import schema
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor

__all__ = ["GraphBuilder"]

UNIT = Quantization(scales=(1.0,), zero_points=(0,))


class GraphBuilder:
    """Appends tensors and operators in execution order; :meth:`build` freezes them."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []

    def tensor(self, shape, dtype=DType.INT8, quant=UNIT, data=None, name=None) -> int:
        index = len(self.tensors)
        if data is not None:
            data = np.asarray(data)
        self.tensors.append(Tensor(index, name or f"t{index}", tuple(shape), dtype, quant, data))
        return index

    def op(self, opcode: str, inputs, output_shape, options=None, dtype=DType.INT8, quant=UNIT) -> int:
        output = self.tensor(output_shape, dtype, quant)
        self.operators.append(Operator(len(self.operators), opcode, tuple(inputs), (output,), dict(options or {})))
        return output

    def shape(self, t: int) -> tuple[int, ...]:
        return self.tensors[t].shape

    def quantize(self, x: int, quant=UNIT) -> int:
        return self.op("QUANTIZE", (x,), self.shape(x), dtype=DType.INT8, quant=quant)

    def dequantize(self, x: int) -> int:
        return self.op("DEQUANTIZE", (x,), self.shape(x), dtype=DType.FLOAT32, quant=None)

    def conv(self, x: int, filters: int, kernel: int = 1, stride: int = 1, padding: str = "SAME") -> int:
        _, h, w, c = self.shape(x)
        weights = self._weights((filters, kernel, kernel, c), filters, 0)
        bias = self.tensor((filters,), DType.INT32, _per_channel(filters, 0), np.zeros(filters, np.int32))
        out_h, out_w = _out(h, kernel, stride, padding), _out(w, kernel, stride, padding)
        return self.op("CONV_2D", (x, weights, bias), (1, out_h, out_w, filters), _conv_options(stride, padding))

    def depthwise(self, x: int, kernel: int = 3, stride: int = 1, padding: str = "SAME") -> int:
        _, h, w, c = self.shape(x)
        weights = self._weights((1, kernel, kernel, c), c, 3)
        bias = self.tensor((c,), DType.INT32, _per_channel(c, 0), np.zeros(c, np.int32))
        options = dict(_conv_options(stride, padding), depthMultiplier=1)
        out_h, out_w = _out(h, kernel, stride, padding), _out(w, kernel, stride, padding)
        return self.op("DEPTHWISE_CONV_2D", (x, weights, bias), (1, out_h, out_w, c), options)

    def add(self, a: int, b: int) -> int:
        return self.op("ADD", (a, b), self.shape(a), {"fusedActivationFunction": 0})

    def pad(self, x: int, top: int, bottom: int, left: int, right: int, value: int | None = None) -> int:
        paddings = self.tensor((4, 2), DType.INT32, None, np.array([[0, 0], [top, bottom], [left, right], [0, 0]], np.int32))
        _, h, w, c = self.shape(x)
        shape = (1, h + top + bottom, w + left + right, c)
        if value is None:
            return self.op("PAD", (x, paddings), shape)
        constant = self.tensor((1,), DType.INT8, UNIT, np.array([value], np.int8))
        return self.op("PADV2", (x, paddings, constant), shape)

    def transpose(self, x: int, perm) -> int:
        perm_tensor = self.tensor((len(perm),), DType.INT32, None, np.array(perm, np.int32))
        shape = tuple(self.shape(x)[p] for p in perm)
        return self.op("TRANSPOSE", (x, perm_tensor), shape)

    def build(self, inputs, outputs) -> Graph:
        return Graph(tuple(self.tensors), tuple(self.operators), tuple(inputs), tuple(outputs), "built.tflite")

    def _weights(self, shape, channels: int, axis: int) -> int:
        rng = np.random.default_rng(len(self.tensors))
        data = rng.integers(-127, 128, size=shape, dtype=np.int8)
        return self.tensor(shape, DType.INT8, _per_channel(channels, axis), data)


def _per_channel(channels: int, axis: int) -> Quantization:
    return Quantization(scales=(0.01,) * channels, zero_points=(0,) * channels, axis=axis)


def _out(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "SAME":
        return -(-size // stride)
    return (size - kernel) // stride + 1


def _conv_options(stride: int, padding: str) -> dict:
    return {
        "dilationHFactor": 1,
        "dilationWFactor": 1,
        "fusedActivationFunction": int(schema.ActivationFunctionType.RELU6),
        "padding": int(getattr(schema.Padding, padding)),
        "strideH": stride,
        "strideW": stride,
    }
