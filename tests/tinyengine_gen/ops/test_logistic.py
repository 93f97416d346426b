"""LOGISTIC: generated C and the numpy reference against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.errors import UnsupportedOperatorError
from tinyengine_gen.ops.logistic import logistic_reference, plan_logistic
from tinyengine_gen.frontend.reader import read_model_bytes

_ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def _logistic_model(shape, spread, int8_io=True):
    def build():
        inputs = keras.Input(shape, batch_size=1)
        return keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))

    return convert_int8(build, spread=spread, int8_io=int8_io)


def _logistic_op(model: bytes):
    graph = read_model_bytes(model, source="logistic.tflite")
    return graph, next(op for op in graph.operators if op.opcode == "LOGISTIC")


@pytest.mark.parametrize("spread", [0.05, 1.0, 6.0, 40.0, 300.0])
def test_logistic_every_int8_input(tmp_path, spread):
    """All 256 input values for input scales from ~4e-4 (no saturation) to ~2.4 (radius of a few steps)."""
    model = _logistic_model((256,), spread)
    compile_and_compare(model, tmp_path, inputs=[[_ALL_INT8.reshape(1, 256)]])


@pytest.mark.parametrize("shape,spread", [((7,), 3.0), ((3, 5, 6), 8.0)])
def test_logistic_random_inputs(tmp_path, shape, spread):
    model = _logistic_model(shape, spread)
    graph, op = _logistic_op(model)
    assert len(graph.tensor(op.inputs[0]).shape) == len(shape) + 1
    compile_and_compare(model, tmp_path, trials=4)


def test_logistic_float_io(tmp_path):
    model = _logistic_model((5, 9), 4.0, int8_io=False)
    graph, _ = _logistic_op(model)
    assert [op.opcode for op in graph.operators] == ["QUANTIZE", "LOGISTIC", "DEQUANTIZE"]
    compile_and_compare(model, tmp_path, trials=4)


def test_logistic_table_is_the_reference_on_every_byte():
    model = _logistic_model((4,), 6.0)
    graph, op = _logistic_op(model)
    plan = plan_logistic(graph, op)
    table = plan.table
    assert table.dtype == np.int8 and table.shape == (256,)
    assert np.array_equal(table, logistic_reference(_ALL_INT8, plan))
    assert np.all(np.diff(table.astype(np.int64)) >= 0)  # the sigmoid never decreases


def test_logistic_plan_follows_tflm_scaling():
    model = _logistic_model((4,), 1.0)
    graph, op = _logistic_op(model)
    plan = plan_logistic(graph, op)
    scale = graph.tensor(op.inputs[0]).quant.scale
    scaling = plan.params
    assert scaling.input_multiplier * 2.0 ** (scaling.input_left_shift - 31) == pytest.approx(scale * 2**27, rel=1e-9)
    assert scaling.input_range_radius == int(15 * 2**27 / 2**scaling.input_left_shift)
    assert (plan.size, plan.macs, plan.scratch_bytes, plan.aliases) == (4, 0, 0, ())


def test_logistic_rejects_float_model():
    from tests.model_factory import tf

    def build():
        inputs = keras.Input((6,), batch_size=1)
        return keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))

    float_model = tf.lite.TFLiteConverter.from_keras_model(build()).convert()
    graph = read_model_bytes(float_model, source="float.tflite")
    op = next(op for op in graph.operators if op.opcode == "LOGISTIC")
    with pytest.raises(UnsupportedOperatorError, match=r"float.tflite: operator \d+ \(LOGISTIC\).*float32.*int8"):
        plan_logistic(graph, op)
