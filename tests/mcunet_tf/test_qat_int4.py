"""QAT with 4-bit weights: tfmot fake-quantises conv / dense weights to 15 levels, the converter
writes them as TFLite INT4 tensors, tinyengine_gen reads them packed and keeps them packed,
and the C gives TFLite Micro's bytes on the same file (TFLM unpacks the INT4 tensors itself)."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import keras, tf
from mcunet_tf.qat import QatError, quantize_aware
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.int4_weights import PackedConv2DPlan, PackedFullyConnectedPlan


def _small_net():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((10, 10, 3), batch_size=1)
    y = keras.layers.Conv2D(7, 3, padding="same")(inputs)
    y = keras.layers.ReLU()(y)
    y = keras.layers.Conv2D(9, 1)(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    return keras.Model(inputs, keras.layers.Dense(5)(y))


def _convert(model, x):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[k : k + 1]] for k in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def test_four_bit_qat_exports_int4_tensors_that_run_packed_and_bit_exact(tmp_path):
    x = np.random.default_rng(0).uniform(0, 1, (16, 10, 10, 3)).astype(np.float32)
    qat = quantize_aware(_small_net(), weight_bits=4)
    qat.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    qat.fit(x, np.arange(16) % 5, epochs=1, verbose=0)
    model = _convert(qat, x)
    graph = read_model_bytes(model, source="qat4.tflite")
    four_bit = [t for t in graph.tensors if t.stored_bits == 4]
    assert len(four_bit) >= 2, [t.name for t in graph.tensors]  # the converter picks which layers
    assert all(int(np.abs(t.data).max()) <= 7 for t in four_bit)
    comparison = compile_and_compare(model, tmp_path, trials=3)  # INT4 weights are packed without a flag
    kinds = {type(plan) for plan in comparison.project.compiled.plans}
    assert {PackedConv2DPlan, PackedFullyConnectedPlan} <= kinds


def test_weight_bits_other_than_4_or_8_are_refused():
    with pytest.raises(QatError, match="weight_bits"):
        quantize_aware(_small_net(), weight_bits=3)


@pytest.mark.slow  # QAT and a conversion: ~25 s
def test_the_tflite_oracle_runs_int4_depthwise_layers_on_its_builtin_kernels():
    """The converter writes a 4-bit depthwise filter as DEPTHWISE_CONV_2D version 7, which the
    interpreter's reference kernels lack: the pipeline's second oracle runs it on the builtin
    kernels instead of refusing the file (as it did for every 4-bit pipeline run with QAT)."""
    from tflm_backend.tflite_reference import TfliteReference
    from tflm_backend.tflm_runner import TflmModel

    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 3), batch_size=1)
    y = keras.layers.Conv2D(8, 1, activation="relu")(inputs)
    y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
    net = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(y)))
    x = np.random.default_rng(1).uniform(0, 1, (16, 8, 8, 3)).astype(np.float32)
    qat = quantize_aware(net, weight_bits=4)
    qat.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    qat.fit(x, np.arange(16) % 4, epochs=1, verbose=0)
    model = _convert(qat, x)
    reference = TfliteReference(model)
    assert reference.available and reference.kernels == "builtin", (reference.error, reference.kernels)
    q = np.random.default_rng(2).integers(-128, 128, (1, 8, 8, 3), dtype=np.int8)
    theirs, micro = reference.run([q])[0], TflmModel(model).run([q])[0]
    assert np.abs(theirs.astype(int) - micro.astype(int)).max() <= 1
