"""ELU: int8, from the table TFLite Micro itself builds in float32.

TFLM's int8 ELU (elu.cc, PopulateLookupTable) fills a 256-entry table when it prepares:
dequantise each byte in float32, apply ``x < 0 ? exp(x) - 1 : x``, multiply by the
reciprocal of the output scale, round half away from zero, add the zero point and clamp.
The planner repeats that arithmetic step by step in float32. ``expf`` comes from the C
library (glibc's is correctly rounded), so exp is evaluated in double and rounded once to
float32, which is what a correctly rounded expf returns.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import functools
from collections.abc import Callable

import numpy as np

from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["EluParams", "elu_float_path_transform", "elu_transform", "plan_elu"]


@dataclasses.dataclass(frozen=True)
class EluParams:
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int


def _expf(x: np.ndarray) -> np.ndarray:
    return np.exp(x.astype(np.float64)).astype(np.float32)


def elu_transform(x: np.ndarray, p: EluParams) -> np.ndarray:
    """Numpy twin of TFLM's int8 ELU table entry for each input byte (float32 throughout)."""
    inverse_scale = np.float32(1.0) / np.float32(p.output_scale)
    dequantized = np.float32(p.input_scale) * (x - p.input_zero_point).astype(np.float32)
    transformed = np.where(dequantized < 0, _expf(dequantized) - np.float32(1.0), dequantized).astype(np.float32)
    scaled = (transformed * inverse_scale).astype(np.float32)
    rescaled = np.where(scaled >= 0, np.floor(scaled + 0.5), -np.floor(-scaled + 0.5))  # std::round on float
    return np.clip(rescaled.astype(np.int64) + p.output_zero_point, -128, 127)


@functools.cache
def _c_expm1f() -> Callable[[float], float] | None:
    """The C library's expm1f, which TFLM's float ELU calls (std::expm1 on a float)."""
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    function = ctypes.CDLL(name).expm1f
    function.argtypes, function.restype = [ctypes.c_float], ctypes.c_float
    return function


def _expm1f(x: np.ndarray) -> np.ndarray:
    function = _c_expm1f()
    if function is None:  # no C library to ask: the correctly rounded value
        return np.expm1(x.astype(np.float64)).astype(np.float32)
    return np.array([function(float(v)) for v in x.reshape(-1)], dtype=np.float32).reshape(x.shape)


def elu_float_path_transform(x: np.ndarray, p: EluParams) -> np.ndarray:
    """What TFLM computes for DEQUANTIZE -> float32 ELU -> QUANTIZE, byte for byte.

    DEQUANTIZE: float(double scale * (q - zero point)); ELU: ``x < 0 ? expm1f(x) : x``;
    QUANTIZE: round half away from zero of x / scale in float32, plus the zero point, clamped.
    """
    dequantized = (float(np.float32(p.input_scale)) * (x - p.input_zero_point).astype(np.float64)).astype(np.float32)
    transformed = np.where(dequantized < 0, _expm1f(dequantized), dequantized).astype(np.float32)
    scaled = (transformed / np.float32(p.output_scale)).astype(np.float32)
    rescaled = np.where(scaled >= 0, np.floor(scaled + 0.5), -np.floor(-scaled + 0.5))  # std::round on float
    return np.clip(rescaled.astype(np.int64) + p.output_zero_point, -128, 127)


@register("ELU")
def plan_elu(graph: Graph, op: Operator) -> LookupTablePlan:
    """int8 ELU; with the ``floatPath`` option (a DEQUANTIZE -> float ELU -> QUANTIZE chain
    folded by :mod:`tinyengine_gen.passes.fold_float_unary`), TFLM's float arithmetic."""
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    params = EluParams(in_scale, in_zp, out_scale, out_zp)
    if op.options.get("floatPath"):
        return plan_lookup_table(graph, op, "elu_float", elu_float_path_transform, params)
    return plan_lookup_table(graph, op, "elu", elu_transform, params)
