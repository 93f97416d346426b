"""Exact C literals for numpy values: every int8/int32 value as written, float32 as hex floats.

Kept free of project imports so that both the emitter and the op modules can use it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["C_TYPE_OF_NUMPY", "c_scalar", "c_array_literal"]

C_TYPE_OF_NUMPY = {
    np.dtype("int8"): "int8_t",
    np.dtype("uint8"): "uint8_t",
    np.dtype("int16"): "int16_t",
    np.dtype("int32"): "int32_t",
    np.dtype("int64"): "int64_t",
    np.dtype("float32"): "float",
}


def c_scalar(value: float | int, dtype: np.dtype) -> str:
    """A C literal that reproduces ``value`` exactly in ``dtype``."""
    if dtype == np.dtype("float32"):
        f = float(np.float32(value))
        if np.isnan(f):
            return "(0.0f/0.0f)"
        if np.isinf(f):
            return "(1.0f/0.0f)" if f > 0 else "(-1.0f/0.0f)"
        return f"{f.hex()}f" if f != 0 else ("-0.0f" if np.signbit(f) else "0.0f")
    v = int(value)
    if dtype == np.dtype("int32") and v == -(2**31):
        return "(-2147483647 - 1)"
    if dtype == np.dtype("int64"):
        return f"{v}LL" if v != -(2**63) else "(-9223372036854775807LL - 1)"
    return str(v)


def c_array_literal(array: np.ndarray, per_line: int = 24) -> str:
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype in (np.dtype("int8"), np.dtype("uint8"), np.dtype("int16")):
        items = [str(v) for v in flat.tolist()]
    else:
        items = [c_scalar(v, flat.dtype) for v in flat.tolist()]
    if not items:
        items = ["0"]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "{\n  " + ",\n  ".join(lines) + "\n}"
