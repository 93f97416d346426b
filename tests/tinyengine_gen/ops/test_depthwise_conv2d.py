"""DEPTHWISE_CONV_2D: generated C and the numpy reference against TFLite Micro, bit for bit."""

import flatbuffers
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tinyengine_gen.errors import UnsupportedOperatorError
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.ops.depthwise_conv2d import plan_depthwise_conv2d
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema

CASES = [
    # kernel, stride, padding, activation, dilation, depth_multiplier, per_channel, use_bias
    (3, 1, "same", None, 1, 1, True, True),
    (3, 2, "valid", "relu", 1, 1, False, True),
    (3, 1, "same", "relu6", 1, 2, True, False),
    (5, 2, "same", "relu6", 1, 1, True, True),
    (5, 1, "valid", None, 1, 3, False, True),
    (7, 2, "same", "relu", 1, 2, True, True),
    (7, 1, "valid", "relu6", 1, 1, False, False),
    (3, 1, "same", "relu", 2, 1, True, True),
    (5, 1, "valid", None, 2, 3, True, True),
]


def _dw_model(
    kernel, stride, padding, activation, dilation, depth_multiplier, use_bias, channels=5, size=(13, 11), batch=1
):
    def build():
        inputs = keras.Input((*size, channels), batch_size=batch)
        outputs = keras.layers.DepthwiseConv2D(
            kernel,
            strides=stride,
            padding=padding,
            depth_multiplier=depth_multiplier,
            activation=activation,
            dilation_rate=dilation,
            use_bias=use_bias,
            # A zero bias (the Keras default) is dropped by the converter; a random one is kept.
            bias_initializer="random_normal",
        )(inputs)
        return keras.Model(inputs, outputs)

    return build


def _depthwise_op(model: bytes, source: str = "test.tflite"):
    graph = read_model_bytes(model, source=source)
    return graph, next(op for op in graph.operators if op.opcode == "DEPTHWISE_CONV_2D")


@pytest.mark.parametrize("kernel,stride,padding,activation,dilation,depth_multiplier,per_channel,use_bias", CASES)
def test_depthwise_bit_exact(
    tmp_path, kernel, stride, padding, activation, dilation, depth_multiplier, per_channel, use_bias
):
    model = convert_int8(
        _dw_model(kernel, stride, padding, activation, dilation, depth_multiplier, use_bias), per_channel=per_channel
    )
    if not use_bias:
        model = _without_bias(model)
    graph, op = _depthwise_op(model)
    weights = graph.tensor(op.inputs[1])
    assert weights.quant.per_channel == per_channel
    assert (len(op.inputs) > 2 and op.inputs[2] >= 0) == use_bias
    plan = plan_depthwise_conv2d(graph, op)
    assert plan.depth_multiplier == depth_multiplier
    # The only op sets the peak: --prefer=memory runs it on the generic kernel (no row ring),
    # --prefer=speed on the row ring wherever that applies. Both must be TFLM's outputs.
    for prefer in ("memory", "speed") if plan.uses_row_ring else ("memory",):
        comparison = compile_and_compare(model, tmp_path / prefer, trials=3, options=CompileOptions(prefer=prefer))
        (compiled,) = comparison.project.compiled.plans  # type: ignore[attr-defined]
        assert compiled.uses_row_ring == (prefer == "speed")


def test_depthwise_batch_of_two_wide_channels(tmp_path):
    """More channels than one accumulator block (64), two images, multiplier 2."""
    model = convert_int8(_dw_model(3, 2, "same", "relu6", 1, 2, True, channels=37, size=(7, 9), batch=2))
    compile_and_compare(model, tmp_path, trials=2)


def test_depthwise_macs_counted_from_shapes():
    graph, op = _depthwise_op(convert_int8(_dw_model(3, 1, "same", None, 1, 2, True)))
    assert plan_depthwise_conv2d(graph, op).macs == 13 * 11 * 10 * 3 * 3


def _edit_depthwise(model: bytes, edit) -> bytes:
    """The same model after ``edit(op)`` on every depthwise operator (flatbuffer object API)."""
    tree = schema.ModelT.InitFromPackedBuf(model, 0)
    for op in tree.subgraphs[0].operators:
        if isinstance(op.builtinOptions, schema.DepthwiseConv2DOptionsT):
            edit(op)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _without_bias(model: bytes) -> bytes:
    """Drop the bias input: the converter adds a zero bias to a bias-free Keras layer."""

    def edit(op):
        op.inputs = list(op.inputs)[:2]

    return _edit_depthwise(model, edit)


def _with_depth_multiplier_option(model: bytes, value: int) -> bytes:
    """The same model with its depthwise depth_multiplier option overwritten."""

    def edit(op):
        op.builtinOptions.depthMultiplier = value

    return _edit_depthwise(model, edit)


@pytest.mark.parametrize("option", [0, 3])
def test_depthwise_multiplier_comes_from_shapes(tmp_path, option):
    """An option inconsistent with the shapes is ignored: results equal TFLM on the consistent file.

    TFLM itself trusts the option (and then reads/writes the wrong channels), so the
    comparison is against TFLM running the original, consistent model.
    """
    original = convert_int8(_dw_model(3, 1, "same", "relu", 1, 2, True))
    patched = _with_depth_multiplier_option(original, option)
    graph = read_model_bytes(patched, source="patched.tflite")
    assert next(op for op in graph.operators if op.opcode == "DEPTHWISE_CONV_2D").options["depthMultiplier"] == option
    compile_and_compare(patched, tmp_path, trials=2, reference_trials=0, tflm_model=original)


def test_depthwise_rejects_float_model():
    def build():
        inputs = keras.Input((8, 8, 3), batch_size=1)
        return keras.Model(inputs, keras.layers.DepthwiseConv2D(3)(inputs))

    float_model = tf.lite.TFLiteConverter.from_keras_model(build()).convert()
    graph, op = _depthwise_op(float_model, source="float.tflite")
    with pytest.raises(
        UnsupportedOperatorError, match=r"float.tflite: operator \d+ \(DEPTHWISE_CONV_2D\).*float32.*int8"
    ):
        plan_depthwise_conv2d(graph, op)


@pytest.mark.parametrize("kernel,stride,activation", [(3, 1, "relu6"), (5, 1, None), (7, 2, "relu")])
def test_depthwise_channel_pairs_bit_exact(tmp_path, kernel, stride, activation):
    """te_depthwise_pairs.h (its portable build here): 6 channels (a last pair after the
    last four), odd output widths (a lone last pixel), layers big enough to store the table."""
    model = convert_int8(_dw_model(kernel, stride, "same", activation, 1, 1, True, channels=6, size=(17, 15)))
    comparison = compile_and_compare(model, tmp_path, trials=2, options=CompileOptions(prefer="speed"))
    (compiled,) = comparison.project.compiled.plans  # type: ignore[attr-defined]
    assert compiled.uses_channel_pairs
    assert "TE_DW_PAIRS_DEFINE(" in comparison.project.files["model.c"]


@pytest.mark.parametrize(
    "kernel,stride,padding,activation", [(3, 1, "same", "relu6"), (5, 2, "same", None), (7, 1, "valid", "relu")]
)
def test_depthwise_plane_bit_exact(tmp_path, kernel, stride, padding, activation):
    """te_depthwise_plane.h (its portable build here; tests/tinyengine_gen/firmware runs the
    DSP one): a 3x3 stride-1 layer 18 outputs wide, 5x5 stride 2 and 7x7 valid, 5 channels
    (no channel pairs), the channel-major filter and the plane no larger than the ring."""
    model = convert_int8(_dw_model(kernel, stride, padding, activation, 1, 1, True, channels=5, size=(12, 18)))
    comparison = compile_and_compare(model, tmp_path, trials=2, options=CompileOptions(prefer="speed"))
    (compiled,) = comparison.project.compiled.plans  # type: ignore[attr-defined]
    assert compiled.uses_plane and compiled.scratch_bytes <= compiled.ring_bytes
    assert f"TE_DW_PLANE_DEFINE(te_depthwise_plane_{kernel}x{kernel}_s{stride}" in comparison.project.files["model.c"]
