"""QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32).

These sit at the edges of models with float inputs and outputs (mcunet_vww starts with a
QUANTIZE and ends with a DEQUANTIZE), and QUANTIZE int8 -> int8 changes a tensor's scale
and zero point. The float arithmetic follows TFLite Micro's reference kernels exactly:

* AffineQuantize: ``round(x / scale) + zero_point``, clamped, with a *float32* division by
  the output scale (TFLM keeps it as a double and casts it back to float) and std::round
  on the float quotient, halves away from zero.
* Requantize: ``(q - in_zp)`` times the multiplier of ``in_scale / out_scale`` (double,
  QuantizeMultiplier) with MultiplyByQuantizedMultiplier, plus ``out_zp``, clamped.
* Dequantize: ``(float)((double)scale * (q - zp))``. The double product of a float and a
  9-bit integer is exact, so a float32 multiply, rounded once, gives the same float.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.codegen.c_literals import c_scalar
from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = [
    "DEQUANTIZE_KERNEL",
    "QUANTIZE_KERNEL",
    "REQUANTIZE_KERNEL",
    "DequantizePlan",
    "QuantizePlan",
    "RequantizePlan",
    "dequantize_reference",
    "plan_dequantize",
    "plan_quantize",
    "quantize_reference",
    "requantize_reference",
]

_SOURCES = ("te_quantize.c", "te_quantize.h", "te_fixedpoint.h")
#: te_quantize.c's kernels: QUANTIZE from float32, QUANTIZE int8 -> int8 (a requantisation), DEQUANTIZE
QUANTIZE_KERNEL = Kernel("te_quantize_f32_s8", _SOURCES)
REQUANTIZE_KERNEL = Kernel("te_quantize_s8_s8", _SOURCES)
DEQUANTIZE_KERNEL = Kernel("te_dequantize_s8_f32", _SOURCES)
_INT8_MIN, _INT8_MAX = -128, 127


def _c_float(value: float) -> str:
    """An exact float32 C literal."""
    return c_scalar(value, np.dtype("float32"))


def _call(
    struct: str, params: str, kernel: Kernel, ctx: EmitContext, inputs: tuple[int, ...], outputs: tuple[int, ...]
) -> list[str]:
    return [
        "{",
        f"  static const {struct} params = {{{params}}};",
        f"  {kernel.name}(&params, {ctx.tensor(inputs[0])}, {ctx.tensor(outputs[0])});",
        "}",
    ]


@dataclasses.dataclass(frozen=True, eq=False)
class QuantizePlan(DataMovementPlan, DeclaredKernels):
    """float32 -> int8 (AffineQuantize)."""

    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    size: int
    scale: float  # output scale, a float32 value
    zero_point: int
    kernels = (QUANTIZE_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: quantize_reference(values[self.inputs[0]], self.scale, self.zero_point)}

    def emit(self, ctx: EmitContext) -> list[str]:
        params = f".size = {self.size}, .scale = {_c_float(self.scale)}, .zero_point = {self.zero_point}"
        return _call("te_quantize_params", params, QUANTIZE_KERNEL, ctx, self.inputs, self.outputs)


@dataclasses.dataclass(frozen=True, eq=False)
class RequantizePlan(DataMovementPlan, DeclaredKernels):
    """int8 -> int8 with a new scale and zero point (Requantize)."""

    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    size: int
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    kernels = (REQUANTIZE_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: requantize_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        params = (
            f".size = {self.size}, .input_zero_point = {self.input_zero_point}, "
            f".output_zero_point = {self.output_zero_point}, .multiplier = {self.multiplier}, .shift = {self.shift}"
        )
        return _call("te_requantize_params", params, REQUANTIZE_KERNEL, ctx, self.inputs, self.outputs)


@dataclasses.dataclass(frozen=True, eq=False)
class DequantizePlan(DataMovementPlan, DeclaredKernels):
    """int8 -> float32 (Dequantize)."""

    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    size: int
    scale: float  # input scale, a float32 value
    zero_point: int
    kernels = (DEQUANTIZE_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: dequantize_reference(values[self.inputs[0]], self.scale, self.zero_point)}

    def emit(self, ctx: EmitContext) -> list[str]:
        params = f".size = {self.size}, .scale = {_c_float(self.scale)}, .zero_point = {self.zero_point}"
        return _call("te_dequantize_params", params, DEQUANTIZE_KERNEL, ctx, self.inputs, self.outputs)


def _same_size(check: OpChecker, x: Tensor, y: Tensor) -> None:
    if x.num_elements != y.num_elements:
        raise check.unsupported(f"{y.describe()} must have as many elements as {x.describe()}.")


@register("QUANTIZE")
def plan_quantize(graph: Graph, op: Operator) -> QuantizePlan | RequantizePlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    check.dtype(x, DType.FLOAT32, DType.INT8)
    check.dtype(y, DType.INT8)
    _same_size(check, x, y)
    out_scale, out_zp = check.per_tensor_quant(y)
    if x.dtype == DType.FLOAT32:
        return QuantizePlan(op.index, (x.index,), (y.index,), x.num_elements, float(np.float32(out_scale)), out_zp)
    in_scale, in_zp = check.per_tensor_quant(x)
    multiplier, shift = requant_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    return RequantizePlan(op.index, (x.index,), (y.index,), x.num_elements, in_zp, out_zp, multiplier, shift)


@register("DEQUANTIZE")
def plan_dequantize(graph: Graph, op: Operator) -> DequantizePlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.FLOAT32)
    _same_size(check, x, y)
    scale, zero_point = check.per_tensor_quant(x)
    return DequantizePlan(op.index, (x.index,), (y.index,), x.num_elements, float(np.float32(scale)), zero_point)


def quantize_reference(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Pure-numpy twin of te_quantize_f32_s8 (AffineQuantize with float32 division and std::round).

    Quotients beyond the int8 range saturate, and NaN gives -128. TFLM casts the rounded
    float to int32 first, which is undefined beyond 2^31 (x86 then gives -128 for +inf too).
    """
    low, high = float(_INT8_MIN - zero_point), float(_INT8_MAX - zero_point)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN quotients saturate below
        quotient = np.asarray(x, dtype=np.float32) / np.float32(scale)
        inside = (quotient > low) & (quotient < high)
        saturated = np.where(quotient >= high, _INT8_MAX, _INT8_MIN)
    exact = np.where(inside, quotient, 0).astype(np.float64)
    whole = np.trunc(exact)
    fraction = exact - whole
    rounded = whole + (fraction >= 0.5) - (fraction <= -0.5)  # std::round: halves away from zero
    return np.where(inside, rounded.astype(np.int64) + zero_point, saturated).astype(np.int8)


def requantize_reference(x: np.ndarray, plan: RequantizePlan) -> np.ndarray:
    """Pure-numpy twin of te_quantize_s8_s8 (TFLite Micro's Requantize for int8 -> int8)."""
    centred = np.asarray(x, dtype=np.int64) - plan.input_zero_point
    out = multiply_by_quantized_multiplier(centred, plan.multiplier, plan.shift) + plan.output_zero_point
    return np.clip(out, _INT8_MIN, _INT8_MAX).astype(np.int8)


def dequantize_reference(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Pure-numpy twin of te_dequantize_s8_f32: one float32 product per value."""
    centred = (np.asarray(x, dtype=np.int32) - zero_point).astype(np.float32)
    return (centred * np.float32(scale)).astype(np.float32)
