"""RSQRT: generated C and numpy against TFLite Micro, bit for bit (inputs in its domain, x >= zero point)."""

import math

import pytest

from tests.tinyengine_gen.ops._unary import every_byte_and_random, swapped_unary_model
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.gemmlowp import inv_sqrt_multiplier_exp


@pytest.mark.parametrize(
    "high,out_high",
    [
        (6.0, 8.0),
        pytest.param(0.05, 60.0, marks=pytest.mark.slow),
        pytest.param(200.0, 1.0, marks=pytest.mark.slow),
    ],
)
def test_rsqrt_bit_exact(tmp_path, high, out_high):
    """Input range [0, high] (zero point -128, so every byte is in RSQRT's domain)."""
    model = swapped_unary_model("RSQRT", (16, 16), 0.0, high, 0.0, out_high)
    graph = read_model_bytes(model)
    assert graph.operators[0].opcode == "RSQRT" and graph.tensor(graph.inputs[0]).quant.zero_point == -128
    every_byte_and_random(model, tmp_path)


@pytest.mark.parametrize("value", [2, 3, 4, 17, 255, 1000, 1 << 20, (1 << 29) + 5, (1 << 31) - 1])
def test_inv_sqrt_multiplier_is_close(value):
    multiplier, shift = inv_sqrt_multiplier_exp(value)
    assert multiplier / 2**31 * 2.0**shift == pytest.approx(1 / math.sqrt(value), rel=1e-5)
