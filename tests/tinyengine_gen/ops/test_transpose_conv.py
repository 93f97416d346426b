"""TRANSPOSE_CONV (Keras Conv2DTranspose): generated C and the numpy reference against
TFLite Micro, bit for bit, per channel and per tensor."""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.frontend.reader import read_model_bytes

CASES = [
    # input (H, W, C), filters, kernel, strides, padding, activation, per_channel
    ((4, 4, 3), 5, 3, 2, "same", None, True),
    ((5, 3, 4), 2, 3, 2, "valid", None, True),
    ((4, 4, 2), 3, 2, 1, "valid", None, True),
    ((3, 5, 3), 4, (3, 2), (1, 2), "same", None, False),
    ((2, 2, 8), 4, 4, 4, "valid", None, True),
    ((6, 6, 1), 1, 5, 1, "same", None, False),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_transpose_conv_bit_exact(tmp_path, case):
    shape, filters, kernel, strides, padding, activation, per_channel = CASES[case]

    def build():
        inputs = keras.Input(shape, batch_size=1)
        layer = keras.layers.Conv2DTranspose(filters, kernel, strides, padding, activation=activation)
        return keras.Model(inputs, layer(inputs))

    model = convert_int8(build, per_channel=per_channel)
    assert "TRANSPOSE_CONV" in [op.opcode for op in read_model_bytes(model).operators]
    compile_and_compare(model, tmp_path, trials=10)


def test_transpose_conv_batch_of_images(tmp_path):
    """A batch of 3 images (batch fixed, calibrated on batches of 3), one after the other."""
    import numpy as np

    from tests.model_factory import full_int8, tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 3, 2), batch_size=3)
    model = keras.Model(inputs, keras.layers.Conv2DTranspose(3, 3, 2, "same")(inputs))
    rng = np.random.default_rng(1)
    converter = full_int8(
        tf.lite.TFLiteConverter.from_keras_model(model),
        lambda: ([rng.uniform(-1, 1, (3, 4, 3, 2)).astype(np.float32)] for _ in range(8)),
    )
    tflite = converter.convert()
    (op,) = [op for op in read_model_bytes(tflite).operators if op.opcode == "TRANSPOSE_CONV"]
    assert read_model_bytes(tflite).tensor(op.inputs[2]).shape[0] == 3
    compile_and_compare(tflite, tmp_path, trials=10)
