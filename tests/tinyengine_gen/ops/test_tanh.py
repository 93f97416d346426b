"""TANH: generated C and the numpy twin of gemmlowp's fixed-point tanh against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.model_factory import tf
from tests.tinyengine_gen.ops._unary import every_byte_and_random, opcodes, unary_model
from tinyengine_gen.errors import QuantizationError
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.gemmlowp import tanh
from tinyengine_gen.ops.tanh import plan_tanh


@pytest.mark.parametrize(
    "low,high",
    [
        (-4.0, 6.0),
        pytest.param(-0.02, 0.03, marks=pytest.mark.slow),
        pytest.param(-60.0, 40.0, marks=pytest.mark.slow),
    ],
)
def test_tanh_bit_exact(tmp_path, low, high):
    """Input scales from ~2e-4 (no saturation) to ~0.4 (radius of a few dozen steps)."""
    model = unary_model(tf.math.tanh, (16, 16), low, high)
    assert opcodes(model) == ["TANH"]
    every_byte_and_random(model, tmp_path)


def test_fixed_point_tanh_is_close_and_odd():
    x = np.linspace(-15.9, 15.9, 401)
    raw = np.round(x * 2**27).astype(np.int64)
    result = tanh(raw, 4) / 2.0**31
    assert np.max(np.abs(result - np.tanh(x))) < 1e-6
    assert np.array_equal(tanh(raw, 4), -tanh(-raw, 4))


def test_tanh_rejects_output_zero_point():
    tensors = (
        Tensor(0, "x", (1, 4), DType.INT8, Quantization((0.05,), (0,))),
        Tensor(1, "y", (1, 4), DType.INT8, Quantization((1 / 128,), (5,))),
    )
    graph = Graph(tensors, (Operator(0, "TANH", (0,), (1,)),), (0,), (1,), source="built.tflite")
    with pytest.raises(QuantizationError, match=r"built.tflite: operator 0 \(TANH\).*zero point 5"):
        plan_tanh(graph, graph.operators[0])
