"""Two 4-bit values per byte, as TFLite packs INT4 tensors (tensor_utils::UnpackDenseInt4IntoInt8):
the tensor flattened in row-major order, element 2i in the low nibble of byte i, element 2i + 1
in the high nibble; an odd count leaves the last high nibble zero.

Beside ``fixedpoint.py`` because both the frontend (reading INT4 tensors) and the operators
(storing weights packed) use it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["INT4_MIN", "INT4_MAX", "fits_int4", "pack_int4", "unpack_int4"]

INT4_MIN, INT4_MAX = -8, 7


def fits_int4(values: np.ndarray) -> bool:
    """Whether every value lies in [-8, 7], so that packing it is exact."""
    return values.size == 0 or (int(values.min()) >= INT4_MIN and int(values.max()) <= INT4_MAX)


def pack_int4(values: np.ndarray) -> np.ndarray:
    """Row-major int4 values as TFLite packs them: low nibble first, (n + 1) // 2 bytes."""
    flat = np.asarray(values, dtype=np.int8).reshape(-1)
    if not fits_int4(flat):
        raise ValueError("values outside [-8, 7] cannot be packed as int4")
    nibbles = flat.astype(np.uint8) & 0x0F
    if nibbles.size % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8)


def unpack_int4(packed: np.ndarray, count: int) -> np.ndarray:
    """The inverse of :func:`pack_int4`: ``count`` int8 values, sign-extended."""
    data = np.asarray(packed, dtype=np.uint8)
    pairs = np.stack([data & 0x0F, data >> 4], axis=1).reshape(-1)[:count].astype(np.int16)
    return ((pairs ^ 8) - 8).astype(np.int8)
