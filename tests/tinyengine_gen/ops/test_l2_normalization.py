"""L2_NORMALIZATION: generated C and numpy against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.tinyengine_gen.ops._quant_models import convert_fn
from tinyengine_gen.frontend.reader import read_model_bytes


@pytest.mark.parametrize(
    "shape,low,high",
    [
        ((16,), -1.0, 1.0),
        pytest.param((3, 5, 8), -0.3, 2.0, marks=pytest.mark.slow),
        pytest.param((4, 300), -5.0, 1.0, marks=pytest.mark.slow),
    ],
)
def test_l2_normalization_bit_exact(tmp_path, shape, low, high):
    model = convert_fn(lambda x: tf.math.l2_normalize(x, axis=-1), shape, low=low, high=high)
    assert [op.opcode for op in read_model_bytes(model).operators] == ["L2_NORMALIZATION"]
    compile_and_compare(model, tmp_path, trials=10)


@pytest.mark.slow
def test_embedding_head(tmp_path):
    """Dense -> L2 normalisation, as in a face or keyword embedding."""

    def build():
        x = keras.Input((24,), batch_size=1)
        return keras.Model(x, tf.math.l2_normalize(keras.layers.Dense(16)(x), axis=-1))

    model = convert_int8(build)
    assert read_model_bytes(model).operators[-1].opcode == "L2_NORMALIZATION"
    rng = np.random.default_rng(5)
    inputs = [[rng.integers(-128, 128, (1, 24), dtype=np.int8)] for _ in range(9)] + [[np.zeros((1, 24), np.int8)]]
    compile_and_compare(model, tmp_path, inputs=inputs)
