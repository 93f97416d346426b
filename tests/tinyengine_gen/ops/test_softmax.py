"""SOFTMAX: generated C and the numpy reference against TFLite Micro, bit for bit."""

import flatbuffers
import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tests.tinyengine_gen.test_sanitizers import run_under_sanitizers
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.ops.softmax import plan_softmax
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema


def _softmax_model(shape, spread):
    def build():
        inputs = keras.Input(shape, batch_size=1)
        return keras.Model(inputs, keras.layers.Softmax()(inputs))

    return convert_int8(build, spread=spread)


def _patch(model: bytes, edit) -> bytes:
    """Re-serialise ``model`` after ``edit(ModelT)``: for options the converter never writes."""
    unpacked = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    edit(unpacked)
    builder = flatbuffers.Builder(1024)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _with_beta(model: bytes, beta: float) -> bytes:
    def edit(m):
        m.subgraphs[0].operators[-1].builtinOptions.beta = beta

    return _patch(model, edit)


def _softmax_op(model: bytes):
    graph = read_model_bytes(model, source="softmax.tflite")
    return graph, next(op for op in graph.operators if op.opcode == "SOFTMAX")


CASES = [
    # shape (without batch), representative range (sets the input scale), beta
    ((2,), 1.0, 1.0),
    ((10,), 1.0, 1.0),
    ((12,), 0.1, 1.0),
    ((12,), 20.0, 1.0),
    ((1000,), 4.0, 1.0),
    ((10,), 1.0, 0.5),
    ((12,), 3.0, 2.0),
    ((3, 5, 12), 3.0, 1.0),
    ((2, 3, 7), 0.5, 1.0),
    ((64, 12), 2.0, 1.0),
]


@pytest.mark.parametrize("shape,spread,beta", CASES)
def test_softmax_bit_exact(tmp_path, shape, spread, beta):
    model = _softmax_model(shape, spread)
    if beta != 1.0:
        model = _with_beta(model, beta)
    graph, op = _softmax_op(model)
    assert len(graph.tensor(op.inputs[0]).shape) == len(shape) + 1
    assert graph.tensor(op.inputs[0]).shape[-1] == shape[-1]
    compile_and_compare(model, tmp_path, trials=4)


def test_softmax_rows_with_ties_and_extremes(tmp_path):
    """Rows where every value is the maximum, or only one value is, or the full int8 range."""
    model = _softmax_model((12,), 2.0)
    rows = [
        np.full(12, 127),
        np.full(12, -128),
        np.array([-128] * 11 + [127]),
        np.arange(-128, 128, 23)[:12],
    ]
    inputs = [[np.asarray(row, dtype=np.int8).reshape(1, 12)] for row in rows]
    compile_and_compare(model, tmp_path, inputs=inputs)


@pytest.mark.parametrize("spread", [0.1, 2.0, 40.0])
def test_softmax_every_difference_from_the_maximum(tmp_path, spread):
    """A row holding all 256 int8 values uses every entry of the exp table (differences 0..-255),
    including the ones below diff_min that TFLM leaves out."""
    model = _softmax_model((256,), spread)
    graph, op = _softmax_op(model)
    plan = plan_softmax(graph, op)
    table = plan.exp_table()
    assert table.dtype == np.int32 and table.shape == (256,) and table[0] == 2**31 - 1
    assert np.all(table[np.arange(256) > -plan.diff_min] == 0)
    row = np.arange(-128, 128, dtype=np.int8)
    inputs = [[row.reshape(1, 256)], [np.flip(row).reshape(1, 256)], [np.roll(row, 77).reshape(1, 256)]]
    compile_and_compare(model, tmp_path, inputs=inputs)


def test_softmax_float_io_with_quantize_edges(tmp_path):
    def build():
        inputs = keras.Input((10,), batch_size=1)
        return keras.Model(inputs, keras.layers.Softmax()(inputs))

    model = convert_int8(build, int8_io=False, spread=2.0)
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["QUANTIZE", "SOFTMAX", "DEQUANTIZE"]
    compile_and_compare(model, tmp_path, trials=4)


def test_softmax_plan_follows_tflm_scaling():
    model = _with_beta(_softmax_model((10,), 1.0), 2.0)
    graph, op = _softmax_op(model)
    plan = plan_softmax(graph, op)
    scale = graph.tensor(op.inputs[0]).quant.scale
    real = 2.0 * scale * 2**26
    assert plan.input_multiplier * 2.0 ** (plan.input_left_shift - 31) == pytest.approx(real, rel=1e-9)
    assert plan.diff_min == -int(31 * 2**26 / 2**plan.input_left_shift)
    assert (plan.outer_size, plan.depth, plan.macs, plan.scratch_bytes) == (1, 10, 0, 0)


def test_softmax_rejects_wrong_output_quantisation():
    def edit(m):
        subgraph = m.subgraphs[0]
        subgraph.tensors[subgraph.operators[-1].outputs[0]].quantization.scale = [1.0 / 128]

    graph, op = _softmax_op(_patch(_softmax_model((10,), 1.0), edit))
    with pytest.raises(QuantizationError, match=r"softmax.tflite: operator \d+ \(SOFTMAX\).*scale 1/256"):
        plan_softmax(graph, op)


def test_softmax_rejects_float_model():
    from tests.model_factory import tf

    def build():
        inputs = keras.Input((10,), batch_size=1)
        return keras.Model(inputs, keras.layers.Softmax()(inputs))

    float_model = tf.lite.TFLiteConverter.from_keras_model(build()).convert()
    graph = read_model_bytes(float_model, source="float.tflite")
    op = next(op for op in graph.operators if op.opcode == "SOFTMAX")
    with pytest.raises(UnsupportedOperatorError, match=r"float.tflite: operator \d+ \(SOFTMAX\).*float32.*int8"):
        plan_softmax(graph, op)



def test_softmax_table_clean_under_sanitizers(tmp_path):
    model = _softmax_model((3, 40), 8.0)
    assert run_under_sanitizers(model, tmp_path, trials=2, name="softmax_table") == 2
