"""The compiler's own graph IR, independent of the flatbuffer classes.

The reader fills it once; every later stage (planning, memory scheduling, emission, the
NAS cost model) works on these frozen objects. A graph can also be built directly in
code, which is how the cost model prices an architecture without a TFLite conversion.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["DType", "Quantization", "Tensor", "Operator", "Graph"]


class DType(enum.Enum):
    """Tensor element types; the value is the numpy dtype name."""

    INT8 = "int8"
    UINT8 = "uint8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BOOL = "bool"

    @property
    def itemsize(self) -> int:
        return np.dtype(self.value).itemsize

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.value)

    @property
    def c_type(self) -> str:
        return _C_TYPES[self]


_C_TYPES = {
    DType.INT8: "int8_t",
    DType.UINT8: "uint8_t",
    DType.INT16: "int16_t",
    DType.INT32: "int32_t",
    DType.INT64: "int64_t",
    DType.FLOAT32: "float",
    DType.FLOAT16: "uint16_t",
    DType.BOOL: "uint8_t",
}


@dataclasses.dataclass(frozen=True)
class Quantization:
    """Affine quantisation: real = scale * (q - zero_point), per tensor or per channel.

    Scales are kept as float32 values because the TFLite kernels compute their
    fixed-point multipliers from the float32 scales stored in the file.
    """

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    @property
    def scale(self) -> float:
        """The single scale of a per-tensor quantised tensor."""
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        return self.zero_points[0]


@dataclasses.dataclass(frozen=True, eq=False)
class Tensor:
    """One tensor of the graph; ``data`` is set for constants (weights, biases, shapes)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: DType
    quant: Quantization | None = None
    data: np.ndarray | None = None
    #: a variable tensor (LSTM / SVDF state): kept from one invoke to the next, cleared by te_reset()
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.num_elements * self.dtype.itemsize

    def describe(self) -> str:
        """A short human-readable identity used in error messages."""
        return f"tensor {self.index} '{self.name}' {list(self.shape)} {self.dtype.value}"


@dataclasses.dataclass(frozen=True, eq=False)
class Operator:
    """One operator in execution order. ``inputs`` uses -1 for an omitted optional input."""

    index: int
    opcode: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        return f"operator {self.index} ({self.opcode})"


@dataclasses.dataclass(frozen=True, eq=False)
class Graph:
    """A single-subgraph model: tensors, operators in execution order, inputs and outputs."""

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    source: str = "<memory>"

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def replace(self, **changes: Any) -> "Graph":
        return dataclasses.replace(self, **changes)

    def consumers(self) -> dict[int, list[int]]:
        """Map tensor index -> indices of the operators that read it."""
        result: dict[int, list[int]] = {}
        for op in self.operators:
            for i in op.inputs:
                if i >= 0:
                    result.setdefault(i, []).append(op.index)
        return result
