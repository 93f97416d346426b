"""int8 export: the converter settings, the int8/int32-only check, and the TinyEngine == TFLM check."""

from __future__ import annotations

import numpy as np
import pytest

from mcunet_tf.export import (
    ExportError,
    ExportOptions,
    check_int8_tensors,
    export_int8,
    representative_inputs,
    single_examples,
)
from tests.model_factory import keras, tf
from tinyengine_gen.frontend.reader import read_model_bytes

CLASSES = 3


def tiny_subnet(resolution: int = 8, seed: int = 0):
    """The layer vocabulary of an extracted sub-network: Conv/BN/ReLU6, a depthwise block with a residual Add, GAP, Dense."""
    keras.utils.set_random_seed(seed)
    layers = keras.layers
    x = keras.Input((resolution, resolution, 3))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)))
    z = layers.ReLU(6.0)(layers.BatchNormalization()(layers.DepthwiseConv2D(3, padding="same", use_bias=False)(y)))
    z = layers.BatchNormalization()(layers.Conv2D(8, 1, use_bias=False)(z))
    y = layers.Add()([y, z])
    y = layers.Dense(CLASSES)(layers.GlobalAveragePooling2D()(y))
    return keras.Model(x, y, name="tiny_subnet")


def synthetic_data(count: int, resolution: int = 8, seed: int = 0, batch_size: int | None = 16):
    """Images whose brightest channel is the class: easy enough to learn in a few steps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, count)
    images = rng.uniform(0.0, 0.4, (count, resolution, resolution, 3)).astype(np.float32)
    images[np.arange(count), :, :, labels] += 0.6
    data = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    return data.batch(batch_size) if batch_size else data


def test_single_examples_splits_batches_and_keeps_labels():
    batched = list(single_examples(synthetic_data(5, batch_size=2), 4))
    unbatched = list(single_examples(synthetic_data(5, batch_size=None), 4))
    assert len(batched) == len(unbatched) == 5
    assert all(x.shape == (8, 8, 3) for x, _ in batched)
    assert [int(y) for _, y in batched] == [int(y) for _, y in unbatched]
    first = next(iter(representative_inputs(synthetic_data(5), 3, 4)()))
    assert first[0].shape == (1, 8, 8, 3) and len(list(representative_inputs(synthetic_data(5), 3, 4)())) == 3
    with pytest.raises(ValueError, match=r"fits neither a batch nor an example of a rank-4 model input"):
        list(single_examples([np.zeros((8, 8))], 4))


def test_export_gives_int8_io_per_channel_and_is_bit_exact_with_tflm(tmp_path):
    result = export_int8(
        tiny_subnet(), synthetic_data(32), ExportOptions(calibration_samples=16, verify_inputs=3), work_dir=tmp_path
    )
    graph = read_model_bytes(result.model)
    assert {graph.tensor(i).dtype.value for i in graph.inputs + graph.outputs} == {"int8"}
    convs = [op for op in graph.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert convs and all(graph.tensor(op.inputs[1]).quant.per_channel for op in convs)
    assert result.inputs_checked == 3 and result.report["macs"] > 0
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED"} <= {op.opcode for op in graph.operators}
    assert len(result.report["ops"]) >= len(graph.operators) - sum(op.opcode == "ADD" for op in graph.operators)
    path = result.write(tmp_path / "out" / "model.tflite")
    assert path.read_bytes() == result.model


def test_per_tensor_export_is_also_verified(tmp_path):
    result = export_int8(
        tiny_subnet(), synthetic_data(16), ExportOptions(per_channel=False, calibration_samples=8, verify_inputs=2)
    )
    graph = read_model_bytes(result.model)
    assert not any(graph.tensor(op.inputs[1]).quant.per_channel for op in graph.operators if op.opcode == "CONV_2D")


def test_a_float_tensor_is_named():
    converter = tf.lite.TFLiteConverter.from_keras_model(tiny_subnet())
    float_model = converter.convert()
    with pytest.raises(
        ExportError, match=r"float model: tensor \d+ '.*' is float32; an int8 export holds only int8 and int32 tensors"
    ):
        check_int8_tensors(float_model, source="float model")


def test_a_model_tinyengine_cannot_compile_is_a_clear_error():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    # EXP: an operator the engine does not compile yet (TANH, used here before, now compiles)
    model = keras.Model(inputs, keras.layers.Activation("exponential")(keras.layers.Dense(3)(inputs)), name="exp_model")
    data = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).uniform(-1, 1, (8, 4)).astype(np.float32))
    with pytest.raises(ExportError, match=r"does not compile with tinyengine_gen: .*EXP"):
        export_int8(model, data, ExportOptions(calibration_samples=8))


def test_a_mismatch_with_tflm_is_reported(monkeypatch):
    from tinyengine_gen.host import build as host_build

    original = host_build.HostModel.run
    monkeypatch.setattr(
        host_build.HostModel, "run", lambda self, inputs: [o + np.int8(1) for o in original(self, inputs)]
    )
    with pytest.raises(ExportError, match=r"differs from TFLite Micro on random input 0, output 0 .*tflm_backend.diff"):
        export_int8(tiny_subnet(), synthetic_data(8), ExportOptions(calibration_samples=8, verify_inputs=1))
