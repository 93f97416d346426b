"""AVERAGE_POOL_2D and MAX_POOL_2D: generated C and the numpy reference against TFLite Micro, bit for bit."""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.shared_assets import shared_model
from tests.tinyengine_gen.ops._quant_models import convert_fn, extract_ops, with_quantization
from tests.tinyengine_gen.test_sanitizers import run_under_sanitizers
from tinyengine_gen.errors import QuantizationError
from tinyengine_gen.ops.pooling import plan_average_pool, plan_max_pool
from tinyengine_gen.frontend.reader import read_model_bytes

KERAS_CASES = [
    # pool, stride, padding
    (2, 2, "valid"),
    (2, 1, "same"),
    (3, 2, "same"),
    (3, 1, "valid"),
    (7, 2, "same"),
    (7, 1, "valid"),
]


def _pool_model(layer, pool, stride, padding, size=(13, 11), channels=5):
    def build():
        inputs = keras.Input((*size, channels), batch_size=1)
        return keras.Model(inputs, layer(pool, strides=stride, padding=padding)(inputs))

    return build


@pytest.mark.parametrize("pool,stride,padding", KERAS_CASES)
@pytest.mark.parametrize("layer", ["AveragePooling2D", "MaxPooling2D"])
def test_keras_pooling_bit_exact(tmp_path, layer, pool, stride, padding):
    model = convert_int8(_pool_model(getattr(keras.layers, layer), pool, stride, padding))
    compile_and_compare(model, tmp_path, trials=3)


FUSED_CASES = [
    # op, activation, window, stride, padding, input range
    ("avg", tf.nn.relu, (3, 2), (2, 1), "SAME", (-1.0, 1.0)),
    ("avg", tf.nn.relu6, 3, 2, "VALID", (-1.0, 8.0)),
    ("avg", None, (2, 3), (1, 2), "SAME", (-0.3, 1.0)),
    ("max", tf.nn.relu, 3, 2, "SAME", (-1.0, 1.0)),
    ("max", tf.nn.relu6, (2, 3), (2, 2), "VALID", (-1.0, 8.0)),
    ("max", None, 3, 1, "SAME", (-0.3, 1.0)),
]


@pytest.mark.parametrize("kind,activation,window,stride,padding,value_range", FUSED_CASES)
def test_pooling_fused_activation_and_zero_point(tmp_path, kind, activation, window, stride, padding, value_range):
    pool = tf.nn.avg_pool2d if kind == "avg" else tf.nn.max_pool2d

    def fn(x):
        y = pool(x, window, stride, padding)
        return activation(y) if activation is not None else y

    model = convert_fn(fn, (9, 10, 6), *value_range)
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"]
    assert (graph.operators[0].options["fusedActivationFunction"] != 0) == (activation is not None)
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize("channels", [64, 71, 130])
@pytest.mark.parametrize("layer", ["AveragePooling2D", "MaxPooling2D"])
def test_pooling_channel_blocks_and_tails(tmp_path, layer, channels):
    """Channels in blocks of 64 plus a tail; odd sizes, stride 2 and SAME padding clip every border."""
    model = convert_int8(_pool_model(getattr(keras.layers, layer), 3, 2, "same", (7, 9), channels))
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize("size,channels", [((8, 8), 16), ((25, 5), 12), ((3, 3), 7), ((5, 3), 131)])
def test_global_average_pool_as_average_pool_2d(tmp_path, size, channels):
    """The MLPerf Tiny models end in AveragePooling2D over the whole feature map."""
    model = convert_int8(_pool_model(keras.layers.AveragePooling2D, size, size, "valid", size, channels))
    compile_and_compare(model, tmp_path, trials=4)


def test_average_pool_with_mlperf_kws_quantisation(tmp_path):
    """mlperf_kws_ref_int8's pool: 25x5 window over [1, 25, 5, 64], scale 0.0802..., zero point -128."""
    model = convert_int8(_pool_model(keras.layers.AveragePooling2D, (25, 5), (25, 5), "valid", (25, 5), 64))
    compile_and_compare(with_quantization(model, 0.08023615926504135, -128), tmp_path, trials=4)


@pytest.mark.parametrize(
    "name", ["mlperf_kws_ref_int8.tflite", "mlperf_resnet8_int8.tflite", "mlperf_vww_96_int8.tflite"]
)
def test_average_pool_of_real_models(tmp_path, name):
    """The global AVERAGE_POOL_2D of each MLPerf Tiny file, cut out with its exact shape and quantisation."""
    model = extract_ops(shared_model(name).read_bytes(), {"AVERAGE_POOL_2D"})
    assert [op.opcode for op in read_model_bytes(model).operators] == ["AVERAGE_POOL_2D"]
    compile_and_compare(model, tmp_path, trials=4)


def test_pooling_rejects_requantising_output():
    model = convert_int8(_pool_model(keras.layers.MaxPooling2D, 2, 2, "valid"))
    graph = read_model_bytes(model)
    output = graph.outputs[0]
    graph = read_model_bytes(with_quantization(model, 0.5, 3, tensors={output}), source="requant.tflite")
    op = graph.operators[0]
    with pytest.raises(QuantizationError, match=r"requant.tflite: operator \d+ \(MAX_POOL_2D\).*share quantisation"):
        plan_max_pool(graph, op)


def test_average_pool_macs_and_scratch():
    model = convert_int8(_pool_model(keras.layers.AveragePooling2D, 3, 2, "same"))
    graph = read_model_bytes(model)
    plan = plan_average_pool(graph, graph.operators[0])
    assert plan.output_shape == (1, 7, 6, 5) and plan.padding == (1, 1)
    assert plan.macs == 7 * 6 * 5 * 9 and plan.scratch_bytes == 0  # sums live in a local block


@pytest.mark.parametrize("layer", ["AveragePooling2D", "MaxPooling2D"])
def test_pooling_blocks_clean_under_sanitizers(tmp_path, layer):
    model = convert_int8(_pool_model(getattr(keras.layers, layer), 3, 2, "same", (7, 9), 71))
    assert run_under_sanitizers(model, tmp_path, trials=2, name="pool_blocks") == 2
