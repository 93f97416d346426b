"""Standalone RELU and RELU6: generated C and numpy against TFLite Micro, bit for bit.

The converter fuses a ReLU into the op before it; a ReLU straight after the model input
(or after an op that cannot fuse it, such as a concatenation) stays a RELU / RELU6.
"""

import numpy as np
import pytest

from tests.model_factory import tf
from tests.tinyengine_gen.ops._unary import every_byte_and_random, opcodes, unary_model
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.relu import plan_relu, plan_relu6


@pytest.mark.parametrize(
    "low,high",
    [
        (-4.0, 6.0),
        pytest.param(-1.0, 9.0, marks=pytest.mark.slow),
        pytest.param(-30.0, 3.0, marks=pytest.mark.slow),
    ],
)
def test_relu_bit_exact(tmp_path, low, high):
    model = unary_model(tf.nn.relu, (4, 8, 8), low, high)
    assert opcodes(model) == ["RELU"]
    every_byte_and_random(model, tmp_path)


@pytest.mark.parametrize("low,high", [(-4.0, 9.0), pytest.param(-0.5, 2.0, marks=pytest.mark.slow)])
def test_relu6_bit_exact(tmp_path, low, high):
    model = unary_model(tf.nn.relu6, (16, 16), low, high)
    assert opcodes(model) == ["RELU6"]
    every_byte_and_random(model, tmp_path)


def test_relu_requantises_and_relu6_clamps_raw_bytes():
    graph = read_model_bytes(unary_model(tf.nn.relu, (16, 16), -4.0, 6.0))
    relu = plan_relu(graph, graph.operators[0])
    assert relu.params.act_min == graph.tensor(graph.outputs[0]).quant.zero_point
    assert np.all(np.diff(relu.table.astype(int)) >= 0) and relu.table[0] == relu.params.act_min
    graph6 = read_model_bytes(unary_model(tf.nn.relu6, (16, 16), -4.0, 9.0))
    relu6 = plan_relu6(graph6, graph6.operators[0])
    x = np.arange(-128, 128)
    inside = (x >= relu6.params.zero) & (x <= relu6.params.six)
    assert np.array_equal(relu6.table[inside], x[inside])  # identity between 0 and 6: no requantisation
