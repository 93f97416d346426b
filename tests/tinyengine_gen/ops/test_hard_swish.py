"""HARD_SWISH: generated C and the numpy twin of TFLM's int16 arithmetic against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.model_factory import tf
from tests.tinyengine_gen.ops._unary import every_byte_and_random, opcodes, unary_model
from tinyengine_gen.errors import QuantizationError
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.hard_swish import hard_swish_params, hard_swish_transform, plan_hard_swish


def _hard_swish(x):
    return x * tf.nn.relu6(x + 3.0) / 6.0


@pytest.mark.parametrize(
    "shape,low,high",
    [
        ((16, 16), -4.0, 6.0),  # MobileNetV3-like range, nonzero input zero point
        ((2, 4, 4, 8), -0.5, 0.5),  # small input scale: the relu-ish rescaling shifts right (exponent < 0)
        pytest.param((300,), -60.0, 90.0, marks=pytest.mark.slow),  # wide: saturates on both sides
    ],
)
def test_hard_swish_bit_exact(tmp_path, shape, low, high):
    model = unary_model(_hard_swish, shape, low, high)
    assert opcodes(model) == ["HARD_SWISH"]
    every_byte_and_random(model, tmp_path)


def test_hard_swish_plan_exponents_cover_both_shift_directions():
    small = hard_swish_params(0.004, 3, 0.003, -20)
    large = hard_swish_params(0.5, 3, 0.4, -20)
    assert small.reluish_exponent < 0 < large.reluish_exponent
    x = np.arange(-128, 128)
    for params in (small, large):  # in int8 range, and monotone for x >= 0
        out = hard_swish_transform(x, params)
        assert out.min() >= -128 and out.max() <= 127
        assert np.all(np.diff(out[x >= params.input_zero_point]) >= 0)


def test_hard_swish_rejects_tiny_output_scale():
    q_in, q_out = Quantization((1.0,), (0,)), Quantization((1e-9,), (0,))
    tensors = (Tensor(0, "x", (1, 4), DType.INT8, q_in), Tensor(1, "y", (1, 4), DType.INT8, q_out))
    graph = Graph(tensors, (Operator(0, "HARD_SWISH", (0,), (1,)),), (0,), (1,), source="built.tflite")
    with pytest.raises(QuantizationError, match=r"built.tflite: operator 0 \(HARD_SWISH\).*exponent"):
        plan_hard_swish(graph, graph.operators[0])


def test_hard_swish_table_is_the_transform():
    model = unary_model(_hard_swish, (16, 16))
    graph = read_model_bytes(model)
    plan = plan_hard_swish(graph, graph.operators[0])
    assert plan.table.shape == (256,) and plan.table.dtype == np.int8
    assert np.array_equal(plan.table, np.clip(hard_swish_transform(np.arange(-128, 128), plan.params), -128, 127))
    assert (plan.macs, plan.scratch_bytes, plan.kernel_sources) == (0, 0, ("te_lut.c", "te_lut.h"))
