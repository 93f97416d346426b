"""LEAKY_RELU: generated C and numpy against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.model_factory import tf
from tests.tinyengine_gen.ops._unary import every_byte_and_random, opcodes, unary_model
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.leaky_relu import plan_leaky_relu


@pytest.mark.parametrize(
    "alpha,low,high",
    [
        (0.2, -4.0, 6.0),
        pytest.param(0.01, -1.0, 1.0, marks=pytest.mark.slow),
        pytest.param(0.7, -30.0, 2.0, marks=pytest.mark.slow),
    ],
)
def test_leaky_relu_bit_exact(tmp_path, alpha, low, high):
    model = unary_model(lambda x: tf.nn.leaky_relu(x, alpha=alpha), (16, 16), low, high)
    assert opcodes(model) == ["LEAKY_RELU"]
    graph = read_model_bytes(model)
    assert graph.operators[0].options["alpha"] == pytest.approx(alpha)
    every_byte_and_random(model, tmp_path)


def test_leaky_relu_slopes():
    graph = read_model_bytes(unary_model(lambda x: tf.nn.leaky_relu(x, alpha=0.2), (16, 16)))
    plan = plan_leaky_relu(graph, graph.operators[0])
    x = np.arange(-128, 128)
    centred = x - plan.params.input_zero_point
    rise = plan.table.astype(np.float64) - plan.params.output_zero_point
    below, above = centred < -20, centred > 20
    ratio = (rise[below] / centred[below]).mean() / (rise[above] / centred[above]).mean()
    assert ratio == pytest.approx(0.2, abs=0.02)
