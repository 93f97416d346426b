"""LOG_SOFTMAX: generated C and numpy (gemmlowp exp and log) against TFLite Micro, bit for bit."""

import math

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.tinyengine_gen.ops._quant_models import convert_fn
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.gemmlowp import log_x_for_x_greater_than_or_equal_to_1


@pytest.mark.parametrize(
    "shape,low,high",
    [
        ((10,), -4.0, 4.0),
        pytest.param((3, 7), -0.2, 0.3, marks=pytest.mark.slow),
        pytest.param((2, 3, 33), -20.0, 25.0, marks=pytest.mark.slow),
    ],
)
def test_log_softmax_bit_exact(tmp_path, shape, low, high):
    model = convert_fn(tf.nn.log_softmax, shape, low=low, high=high)
    assert [op.opcode for op in read_model_bytes(model).operators] == ["LOG_SOFTMAX"]
    compile_and_compare(model, tmp_path, trials=10)


@pytest.mark.slow
def test_mnist_mlp_with_log_softmax(tmp_path):
    """The MNIST MLP shape: flatten -> dense -> relu -> dense(10) -> log_softmax."""

    def build():
        x = keras.Input((28, 28), batch_size=1)
        h = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(x))
        return keras.Model(x, tf.nn.log_softmax(keras.layers.Dense(10)(h)))

    model = convert_int8(build)
    assert read_model_bytes(model).operators[-1].opcode == "LOG_SOFTMAX"
    compile_and_compare(model, tmp_path, trials=10)


def test_fixed_point_log_is_close():
    x = np.array([1.0, 1.5, 2.0, 3.7, 100.0, 2000.0])
    raw = np.round(x * 2**19).astype(np.int64)
    result = log_x_for_x_greater_than_or_equal_to_1(raw, 12, 5) / 2.0**26
    assert np.max(np.abs(result - np.log(x))) < 1e-5
    assert math.isclose(float(result[2]), math.log(2.0), abs_tol=1e-6)
