"""int16 sigmoid and tanh by table interpolation, as TFLite Micro's 16-bit kernels compute them.

TFLite's int16 LOGISTIC and TANH (reference_integer_ops, used by the integer LSTM for its
gates and its cell state) interpolate one 256-entry table of sigmoid(i / 24) in unsigned
0.16 fixed point: the input, scaled so that 3 * 4096 steps are 1.0, picks an entry with its
high bits and interpolates linearly with its low bits; tanh(x) = 2 sigmoid(2x) - 1 reads
the same table at twice the rate. The table's values are TFLM's own (measured from TFLM's
int16 TANH, see tests/tinyengine_gen/ops/test_lstm.py; rounding sigmoid(i / 24) does not
give all of them), so both functions here and ``te_lstm.c`` reproduce TFLM bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIGMOID_TABLE", "sigmoid_table_c", "sigmoid_s16", "tanh_s16", "tanh_input_scaling"]

#: sigmoid(i / 24) in unsigned 0.16 fixed point, i = 0..255, as TFLite's int16 kernels use it.
SIGMOID_TABLE = np.array(
    [
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535
    ],
    dtype=np.int64,
)


def sigmoid_table_c(symbol: str) -> str:
    """The table as a C definition (emitted once into model.c for the kernels that read it)."""
    rows = [", ".join(str(int(v)) for v in SIGMOID_TABLE[i : i + 16]) for i in range(0, 256, 16)]
    body = ",\n  ".join(rows)
    return f"static const uint16_t {symbol}[256] = {{\n  {body}}};"


def _lookup(magnitude: np.ndarray, fraction_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(interpolated table value scaled by 2^fraction_bits at ``magnitude`` / 2^fraction_bits,
    where the index is 255 or more: saturated, the caller's constant applies)."""
    high = magnitude >> fraction_bits
    inside = np.minimum(high, 254)
    low, up = SIGMOID_TABLE[inside], SIGMOID_TABLE[inside + 1]
    fraction = magnitude & ((1 << fraction_bits) - 1)
    return (low << fraction_bits) + fraction * (up - low), high >= 255


def sigmoid_s16(x: np.ndarray) -> np.ndarray:
    """int16 LOGISTIC with input scale 2^-12 (multiplier 0, shift 0: Q3.12 -> Q0.15)."""
    value = np.asarray(x, dtype=np.int64) * 3
    result, saturated = _lookup(np.abs(value), 9)
    result = np.where(saturated, 0x7FFF << 10, result)
    result = np.where(value >= 0, result + (1 << 9), (1 << 25) - result + (1 << 9) - 1)
    return (result >> 10).astype(np.int16)


def tanh_input_scaling(left_shift: int) -> tuple[int, int]:
    """(multiplier, right shift) TFLM's int16 Tanh applies for an input ``left_shift``
    (its power-of-two case: multiplier 0 means 3 << left_shift; a negative shift becomes
    multiplier 3 and a rounding right shift)."""
    if left_shift < 0:
        return 3, -left_shift
    return 3 << left_shift, 0


def tanh_s16(x: np.ndarray, multiplier: int, right_shift: int) -> np.ndarray:
    """int16 TANH (Q0.15 output) of ``x`` scaled by ``multiplier`` >> ``right_shift`` to 1/(3 * 4096) steps."""
    rounding = (1 << (right_shift - 1)) if right_shift > 0 else 0
    value = (np.asarray(x, dtype=np.int64) * multiplier + rounding) >> right_shift
    result, saturated = _lookup(np.abs(value), 8)
    result = np.where(saturated, 0xFFFF << 8, result)
    result = np.where(value >= 0, result - (1 << 23) + (1 << 7), -result + (1 << 23) + (1 << 7) - 1)
    return (result >> 8).astype(np.int16)
