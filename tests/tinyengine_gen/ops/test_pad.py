"""PAD and PADV2: generated C and the numpy reference against TFLite Micro, bit for bit."""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.shared_assets import shared_model
from tests.tinyengine_gen.ops._quant_models import convert_fn, extract_ops, with_quantization
from tinyengine_gen.errors import QuantizationError
from tinyengine_gen.ops.pad import canonical_pad_dims, plan_padv2
from tinyengine_gen.frontend.reader import read_model_bytes


def _opcodes(model: bytes) -> list[str]:
    return [op.opcode for op in read_model_bytes(model).operators]


@pytest.mark.parametrize("padding", [1, (2, 3), ((1, 2), (0, 3)), ((0, 0), (4, 1))])
def test_keras_zero_padding_2d(tmp_path, padding):
    def build():
        inputs = keras.Input((5, 7, 6), batch_size=1)
        return keras.Model(inputs, keras.layers.ZeroPadding2D(padding)(inputs))

    model = convert_int8(build)
    assert _opcodes(model) == ["PAD"]
    compile_and_compare(model, tmp_path, trials=3)


TF_PAD_CASES = [
    # input shape (after the batch of 1), paddings incl. the batch dim
    ((9,), [[0, 1], [2, 3]]),  # rank 2, batch padded too
    ((4, 5), [[0, 0], [1, 0], [0, 2]]),
    ((4, 5, 6), [[1, 0], [0, 0], [0, 0], [2, 1]]),  # batch and channels only
    ((3, 4, 5), [[0, 0], [1, 2], [0, 0], [0, 0]]),  # one middle dim
    ((2, 3, 4, 3), [[0, 0], [1, 0], [0, 1], [2, 2], [1, 0]]),  # rank 5
]


@pytest.mark.parametrize("shape,paddings", TF_PAD_CASES)
def test_tf_pad_ranks(tmp_path, shape, paddings):
    model = convert_fn(lambda x: tf.pad(x, paddings), shape)
    assert _opcodes(model) == ["PAD"]
    graph = read_model_bytes(model)
    assert graph.tensor(graph.operators[0].inputs[0]).quant.zero_point != 0  # the fill value matters
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize("constant", [0.5, -0.2, 0.0])
def test_tf_pad_v2_constant(tmp_path, constant):
    model = convert_fn(lambda x: tf.pad(x, [[0, 0], [1, 2], [3, 0], [0, 1]], constant_values=constant), (4, 5, 6))
    assert _opcodes(model) == ["PADV2"] or constant == 0.0
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize(
    "shape,pad,scale,zero_point",
    [((20, 20, 48), 3, 0.022679228335618973, -128), ((28, 28, 19), 1, 0.013259721919894218, -7)],
)
def test_pad_with_real_model_quantisation(tmp_path, shape, pad, scale, zero_point):
    """The spatial PADs of mcunet_vww (3 px, zero point -128) and mbv2_224_int8 (1 px, zero point -7)."""
    paddings = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    model = with_quantization(convert_fn(lambda x: tf.pad(x, paddings), shape), scale, zero_point)
    compile_and_compare(model, tmp_path, trials=2)


@pytest.mark.parametrize("name,count", [("mcunet_vww.tflite", 4), ("mbv2_224_int8.tflite", 18)])
def test_pad_ops_of_real_models(tmp_path, name, count):
    """Every PAD of the real files (zero points from -128 to 69), cut out as one model with many outputs."""
    model = extract_ops(shared_model(name).read_bytes(), {"PAD"})
    assert _opcodes(model) == ["PAD"] * count
    compile_and_compare(model, tmp_path, trials=2)


def test_canonical_dims_merge_unpadded_dims():
    assert canonical_pad_dims((1, 5, 7, 6), ((0, 0), (1, 2), (0, 3), (0, 0))) == (
        (1, 0, 0),
        (1, 0, 0),
        (1, 0, 0),
        (5, 1, 2),
        (42, 0, 18),
    )
    assert canonical_pad_dims((1, 4, 5, 6), ((1, 0), (0, 0), (0, 0), (2, 1))) == (
        (1, 0, 0),
        (1, 0, 0),
        (1, 0, 0),
        (20, 20, 0),
        (6, 2, 1),
    )


def test_padv2_rejects_constant_with_other_quantisation():
    model = convert_fn(lambda x: tf.pad(x, [[0, 0], [1, 1], [0, 0]], constant_values=0.5), (4, 5))
    graph = read_model_bytes(model)
    op = graph.operators[0]
    patched = with_quantization(model, 0.5, 3, tensors={op.inputs[2]})
    graph = read_model_bytes(patched, source="padv2.tflite")
    with pytest.raises(QuantizationError, match=r"padv2.tflite: operator \d+ \(PADV2\).*constant_values"):
        plan_padv2(graph, graph.operators[0])
