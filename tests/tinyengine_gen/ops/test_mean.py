"""MEAN: generated C and the numpy reference against TFLite Micro, bit for bit.

Covers different input/output quantisation (what the converter gives GlobalAveragePooling2D)
and identical quantisation (the real MCUNet-VWW and MobileNetV2 files, reproduced by
rewriting the quantisation of a converted model to the parameters those files use): TFLM
requantises in both cases, which differs from a truncating sum / count.
"""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.shared_assets import shared_model
from tests.tinyengine_gen.ops._quant_models import convert_fn, extract_ops, with_quantization
from tests.tinyengine_gen.test_sanitizers import run_under_sanitizers
from tinyengine_gen.errors import UnsupportedOperatorError
from tinyengine_gen.ops.mean import canonical_reduce_dims, mean_requant, plan_mean
from tinyengine_gen.frontend.reader import read_model_bytes


def _mean_plans(model: bytes):
    graph = read_model_bytes(model)
    return [plan_mean(graph, op) for op in graph.operators if op.opcode == "MEAN"]


@pytest.mark.parametrize("keepdims", [True, False])
@pytest.mark.parametrize("size,channels", [((5, 7), 6), ((7, 7), 33), ((1, 3), 4)])
def test_global_average_pooling_bit_exact(tmp_path, keepdims, size, channels):
    def build():
        inputs = keras.Input((*size, channels), batch_size=1)
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D(keepdims=keepdims)(inputs))

    model = convert_int8(build)
    (plan,) = _mean_plans(model)
    assert plan.axes == (1, 2)
    compile_and_compare(model, tmp_path, trials=4)


REDUCTIONS = [
    # input shape, axis, keepdims
    ((4, 5, 6), -1, False),  # scalar, negative axis
    ((4, 5, 6), [0, 2], True),  # batch and a middle axis, non-adjacent
    ((4, 5, 6), [2, 1], False),  # H and W given in reverse order
    ((9, 13), [1], True),
    ((9, 13), [-2], False),
    ((3, 4, 5, 2), [1, 3], False),  # rank-5 input, two separate reduced groups
    ((200, 3), [1], False),  # count 600: a big multiplier fold
]


@pytest.mark.parametrize("shape,axis,keepdims", REDUCTIONS)
def test_reduce_mean_axes_bit_exact(tmp_path, shape, axis, keepdims):
    model = convert_fn(lambda x: tf.reduce_mean(x, axis=axis, keepdims=keepdims), shape)
    (plan,) = _mean_plans(model)
    assert plan.input_zp != 0
    compile_and_compare(model, tmp_path, trials=4)


BLOCK_CASES = [
    # input shape, axis, keepdims: the kernel's block and tail paths (blocks of 64 outputs)
    ((3, 5, 130), [0, 1], False),  # 130 channels: two full blocks and a tail of 2
    ((2, 4, 64), [1], True),  # exactly one block per row of channels, two kept groups
    ((300, 70), [0], False),  # 300 reduced rows: int16 partial sums of 255 rows, then 45
    ((10, 13, 7), [-1], False),  # last axis: 130 outputs of 7 contiguous values, blocks plus a tail
    ((3, 4, 5, 2), [1, 3], True),  # two separate reduced groups ending the shape: one output per block
]


@pytest.mark.parametrize("shape,axis,keepdims", BLOCK_CASES)
def test_reduce_mean_blocks_and_tails(tmp_path, shape, axis, keepdims):
    model = convert_fn(lambda x: tf.reduce_mean(x, axis=axis, keepdims=keepdims), shape)
    (plan,) = _mean_plans(model)
    assert plan.scratch_bytes == 0
    compile_and_compare(model, tmp_path, trials=4)


SAME_QUANT = [
    # shape, axis, keepdims, scale, zero point
    ((7, 7, 1280), [1, 2], True, 0.07054788619279861, -9),  # mbv2_224_int8's MEAN
    ((16, 5, 3), [2], True, 0.05, 20),
    ((6, 11, 3), [1, 2], False, 0.0123, -128),
]


@pytest.mark.parametrize("shape,axis,keepdims,scale,zero_point", SAME_QUANT)
def test_mean_same_quantisation(tmp_path, shape, axis, keepdims, scale, zero_point):
    """Input and output share (scale, zero point), as in the real files: TFLM still requantises."""
    model = convert_fn(lambda x: tf.reduce_mean(x, axis=axis, keepdims=keepdims), shape)
    model = with_quantization(model, scale, zero_point)
    (plan,) = _mean_plans(model)
    assert plan.input_zp == plan.output_zp == zero_point
    compile_and_compare(model, tmp_path, trials=4)


def test_mean_same_quantisation_as_mcunet_vww(tmp_path):
    """mcunet_vww: two MEANs, axis [3] of [1, 160, 3, 3] then axis [2], no keep_dims, in = out = (0.0485..., 6)."""

    def two_means(x):
        return tf.reduce_mean(tf.reduce_mean(x, axis=[3]), axis=[2])

    model = with_quantization(convert_fn(two_means, (160, 3, 3)), 0.04854252561926842, 6)
    plans = _mean_plans(model)
    assert [p.count for p in plans] == [3, 3] and all(p.output_zp == 6 for p in plans)
    compile_and_compare(model, tmp_path, trials=4)


@pytest.mark.parametrize("name,count", [("mcunet_vww.tflite", 2), ("mbv2_224_int8.tflite", 1)])
def test_mean_ops_of_real_models(tmp_path, name, count):
    """The MEAN ops of the real files, cut out with their exact shapes and quantisation."""
    model = extract_ops(shared_model(name).read_bytes(), {"MEAN"})
    assert len(_mean_plans(model)) == count
    compile_and_compare(model, tmp_path, trials=4)


def test_canonical_dims_merge_neighbours():
    """Groups align to the right: a trailing kept group (the channels) is always K2."""
    assert canonical_reduce_dims((1, 7, 7, 32), (1, 2)) == (1, 1, 1, 49, 32)
    assert canonical_reduce_dims((2, 7, 7, 32), (0, 2)) == (1, 2, 7, 7, 32)
    assert canonical_reduce_dims((1, 160, 3, 3), (3,)) == (1, 1, 480, 3, 1)
    assert canonical_reduce_dims((3, 4, 5, 2), (1, 3)) == (3, 4, 5, 2, 1)
    assert canonical_reduce_dims((4, 5, 6), (0, 1, 2)) == (1, 1, 1, 120, 1)
    assert canonical_reduce_dims((2, 3, 4, 5, 6), (0, 2, 4)) is None


def test_mean_requant_folds_count_like_tflm():
    multiplier, shift = mean_requant(0.5, 0.25, 49)  # ratio 2: QuantizeMultiplier gives (2^30, 2)
    assert (multiplier, shift) == ((2**30 << 5) // 49, 2 - 5)


def test_mean_rejects_three_axes():
    model = convert_fn(lambda x: tf.reduce_mean(x, axis=[1, 2, 3]), (4, 5, 6))
    graph = read_model_bytes(model, source="three.tflite")
    op = next(op for op in graph.operators if op.opcode == "MEAN")
    with pytest.raises(UnsupportedOperatorError, match=r"three.tflite: operator \d+ \(MEAN\).*3 distinct axes"):
        plan_mean(graph, op)


@pytest.mark.parametrize("shape,axis", [((3, 5, 130), [0, 1]), ((10, 13, 7), [-1])])
def test_mean_blocks_clean_under_sanitizers(tmp_path, shape, axis):
    model = convert_fn(lambda x: tf.reduce_mean(x, axis=axis), shape)
    assert run_under_sanitizers(model, tmp_path, trials=2, name="mean_blocks") == 2
