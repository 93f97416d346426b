"""ELU: generated C and numpy against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.tinyengine_gen.ops._unary import every_byte_and_random, opcodes, swapped_unary_model
from tinyengine_gen.ops.elu import EluParams, elu_transform


@pytest.mark.parametrize(
    "low,high",
    [
        (-4.0, 6.0),
        pytest.param(-0.3, 0.2, marks=pytest.mark.slow),
        pytest.param(-12.0, 1.0, marks=pytest.mark.slow),
    ],
)
def test_elu_bit_exact(tmp_path, low, high):
    """The converter keeps ELU in float, so an int8 RELU6 model has its operator swapped for ELU."""
    model = swapped_unary_model("ELU", (16, 16), low, high, -1.0, high)
    assert opcodes(model) == ["ELU"]
    every_byte_and_random(model, tmp_path)


def test_elu_transform_tracks_float_elu():
    params = EluParams(0.05, 10, 0.04, -60)
    x = np.arange(-128, 128)
    real = 0.05 * (x - 10)
    expected = np.clip(np.round(np.where(real < 0, np.expm1(real), real) / 0.04) - 60, -128, 127)
    assert np.max(np.abs(elu_transform(x, params) - expected)) <= 1
