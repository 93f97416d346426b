"""CONV_2D: generated C and the numpy reference against TFLite Micro, bit for bit.

Every kernel variant the planner can pick is compiled on shapes that reach its tails:
pixel counts that are not a multiple of the tile (4 or 32 pixels), channel counts that
are not a multiple of 4 or 32, depths with a 32-, a 16- and a scalar remainder, odd
widths, stride 2, dilation, and padding on every border (SAME, and the asymmetric
explicit padding of a folded PAD). Each test also asserts which kernel ran, so a change
in the planner's choice cannot silently drop a variant from the tests.
"""

import re
import shutil

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tests.shared_assets import shared_model
from tests.tinyengine_gen.test_sanitizers import run_under_sanitizers
from tinyengine_gen.compiler import CompileOptions
from tinyengine_gen.errors import UnsupportedOperatorError
from tinyengine_gen.ir import Operator
from tinyengine_gen.ops import conv2d
from tinyengine_gen.ops.conv2d import (
    KERNELS,
    choose_kernel,
    fold_input_offset,
    plan_conv2d,
    shallow_filter_layout,
    unpadded_tail,
)
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema

CASES = [
    # kernel, stride, padding, activation, dilation, per_channel
    (1, 1, "same", None, 1, True),
    (3, 1, "same", "relu", 1, True),
    (3, 2, "valid", "relu6", 1, False),
    (5, 2, "same", None, 1, True),
    (5, 1, "valid", "relu", 1, False),
    (7, 2, "same", "relu6", 1, True),
    (3, 1, "same", None, 2, True),
]


def _conv_model(
    kernel,
    stride,
    padding,
    activation,
    dilation,
    channels_in=5,
    channels_out=8,
    size=(13, 11),
    batch=1,
    pad=None,
    nchw=False,
):
    """Conv2D on an NHWC input; ``pad`` puts a ZeroPadding2D in front (folded into the conv),
    ``nchw`` makes the input [c, h, w] with a Permute (TRANSPOSE) in front."""

    def build():
        shape = (channels_in, *size) if nchw else (*size, channels_in)
        inputs = keras.Input(shape, batch_size=batch)
        x = keras.layers.Permute((2, 3, 1))(inputs) if nchw else inputs
        if pad is not None:
            x = keras.layers.ZeroPadding2D(pad)(x)
        outputs = keras.layers.Conv2D(
            channels_out, kernel, strides=stride, padding=padding, activation=activation, dilation_rate=dilation
        )(x)
        return keras.Model(inputs, outputs)

    return build


#: the kernel the planner picks, not the lean variant a single-op model's peak would get
PLANNED_KERNELS = CompileOptions(prefer="speed")


#: each kernel variant by its name (the cases below name the kernel they reach)
_KERNEL_NAMED = {kernel.name: kernel for kernel in KERNELS}


def _conv_kernels(comparison) -> list[str]:
    return [plan.kernel.name for plan in comparison.project.compiled.plans if isinstance(plan, conv2d.Conv2DPlan)]


@pytest.mark.parametrize("kernel,stride,padding,activation,dilation,per_channel", CASES)
def test_conv2d_bit_exact(tmp_path, kernel, stride, padding, activation, dilation, per_channel):
    model = convert_int8(_conv_model(kernel, stride, padding, activation, dilation), per_channel=per_channel)
    compile_and_compare(model, tmp_path, trials=3)


def test_conv2d_first_layer_three_channels_even_input(tmp_path):
    model = convert_int8(_conv_model(3, 2, "same", "relu6", 1, channels_in=3, channels_out=16, size=(16, 16)))
    compile_and_compare(model, tmp_path, trials=3)


# --- one case per kernel variant and tail path --------------------------------------------

VARIANT_CASES = {
    # 5x7 = 35 pixels (tail tile of 3), 37 channels (chunk of 5, 37 % 4 = 1), depth 50 = 32 + 16 + 2
    "1x1_deep_tails": (dict(kernel=1, stride=1, channels_in=50, channels_out=37, size=(5, 7)), "te_conv2d_1x1_s8"),
    "1x1_deep_stride2": (
        dict(kernel=1, stride=2, padding="valid", channels_in=64, channels_out=20, size=(7, 9)),
        "te_conv2d_1x1_s8",
    ),
    "1x1_deep_batch2": (
        dict(kernel=1, stride=1, channels_in=80, channels_out=12, size=(3, 5), batch=2),
        "te_conv2d_1x1_s8",
    ),
    # 40 channels: one full block of 32, one zero-padded block with 8
    "1x1_shallow_tails": (
        dict(kernel=1, stride=1, channels_in=6, channels_out=40, size=(7, 5), activation="relu"),
        "te_conv2d_1x1_shallow_s8",
    ),
    "1x1_shallow_stride2": (
        dict(kernel=1, stride=2, padding="valid", channels_in=16, channels_out=33, size=(9, 7)),
        "te_conv2d_1x1_shallow_s8",
    ),
    # an odd number of input channels cannot be read in place by the pairwise core
    "1x1_odd_depth": (
        dict(kernel=1, stride=1, channels_in=7, channels_out=20, size=(5, 3)),
        "te_conv2d_kxk_shallow_s8",
    ),
    # depth 180 = 5 * 32 + 16 + 4; SAME padding on every border
    "kxk_deep_same": (
        dict(kernel=3, stride=1, channels_in=20, channels_out=21, size=(9, 7), activation="relu6"),
        "te_conv2d_kxk_s8",
    ),
    "kxk_deep_stride2": (
        dict(kernel=3, stride=2, channels_in=20, channels_out=9, size=(8, 11)),
        "te_conv2d_kxk_s8",
    ),
    "kxk_deep_dilated": (
        dict(kernel=3, stride=1, dilation=2, channels_in=17, channels_out=12, size=(11, 9)),
        "te_conv2d_kxk_s8",
    ),
    "kxk_deep_explicit_pad": (
        dict(kernel=3, stride=1, padding="valid", channels_in=16, channels_out=20, size=(6, 7), pad=((1, 2), (2, 0))),
        "te_conv2d_kxk_s8",
    ),
    # the 3x3x3 first layer: depth 27 rounded up to 28, odd sizes, stride 2, SAME
    "kxk_shallow_first_layer": (
        dict(kernel=3, stride=2, channels_in=3, channels_out=24, size=(15, 13), activation="relu6"),
        "te_conv2d_kxk_shallow_s8",
    ),
    "kxk_shallow_explicit_pad": (
        dict(kernel=3, stride=1, padding="valid", channels_in=5, channels_out=40, size=(6, 7), pad=((1, 2), (2, 0))),
        "te_conv2d_kxk_shallow_s8",
    ),
    "kxk_shallow_batch2": (
        dict(kernel=3, stride=1, channels_in=4, channels_out=24, size=(5, 6), batch=2),
        "te_conv2d_kxk_shallow_s8",
    ),
    "narrow_first_layer": (
        dict(kernel=3, stride=2, channels_in=3, channels_out=8, size=(15, 13), activation="relu"),
        "te_conv2d_narrow_s8",
    ),
    # the KWS first layer: 10x4 filter on one channel, depth 40
    "narrow_kws_first_layer": (
        dict(kernel=(10, 4), stride=2, channels_in=1, channels_out=12, size=(25, 10)),
        "te_conv2d_narrow_s8",
    ),
    "narrow_1x1": (dict(kernel=1, stride=1, channels_in=10, channels_out=5, size=(7, 9)), "te_conv2d_narrow_s8"),
    # depth 9 rounded up to 10; 110 pixels = 3 tiles of 32 and a tail of 14
    "narrow_dilated_odd_depth": (
        dict(kernel=3, stride=1, dilation=2, channels_in=1, channels_out=16, size=(10, 11)),
        "te_conv2d_narrow_s8",
    ),
    # stems on 1, 3 and 4 channels (depth 12, 28, 36 after rounding up to groups of four):
    # the word-copy gather inside the image, the border im2col, whole and partial tiles
    "narrow_stem_in1_valid_s1": (
        dict(kernel=3, stride=1, padding="valid", channels_in=1, channels_out=6, size=(9, 12)),
        "te_conv2d_narrow_s8",
    ),
    "narrow_stem_in3_valid_s1_odd_out": (
        dict(kernel=3, stride=1, padding="valid", channels_in=3, channels_out=5, size=(8, 11)),
        "te_conv2d_narrow_s8",
    ),
    "narrow_stem_in4_same_s2": (
        dict(kernel=3, stride=2, channels_in=4, channels_out=16, size=(13, 10), activation="relu6"),
        "te_conv2d_narrow_s8",
    ),
    "narrow_explicit_pad_batch2": (
        dict(
            kernel=3, stride=2, padding="valid", channels_in=2, channels_out=7, size=(7, 6),
            pad=((2, 1), (0, 1)), batch=2,
        ),
        "te_conv2d_narrow_s8",
    ),
}


def _variant_model(case: dict, seed: int = 0) -> bytes:
    args = dict(kernel=1, stride=1, padding="same", activation=None, dilation=1)
    args.update(case)
    return convert_int8(_conv_model(**args), seed=seed)


@pytest.mark.parametrize("name", sorted(VARIANT_CASES))
def test_conv2d_kernel_variant_bit_exact(tmp_path, name):
    case, kernel = VARIANT_CASES[name]
    comparison = compile_and_compare(_variant_model(case), tmp_path, trials=3, options=PLANNED_KERNELS)
    assert _conv_kernels(comparison) == [kernel]
    assert f"kernels/{_KERNEL_NAMED[kernel].sources[0]}" in comparison.project.files


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not found (apt-get install gcc)")
@pytest.mark.parametrize("name", sorted(VARIANT_CASES))
def test_conv2d_kernel_variant_clean_under_sanitizers(tmp_path, name):
    case, _ = VARIANT_CASES[name]
    assert run_under_sanitizers(_variant_model(case), tmp_path, trials=2, name=f"conv_{name}") == 2


def test_every_conv2d_kernel_has_a_variant_case():
    tested = {kernel for _, kernel in VARIANT_CASES.values()} | {"te_conv2d_s8"}  # generic: test below
    assert tested == set(_KERNEL_NAMED)


def _with_weight(model: bytes, value: int) -> bytes:
    """``model`` with the first weight of its CONV_2D filter set to ``value``."""
    import flatbuffers

    tree = schema.ModelT.InitFromPackedBuf(model, 0)
    subgraph = tree.subgraphs[0]
    for op in subgraph.operators:
        if tree.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.CONV_2D:
            buffer = tree.buffers[subgraph.tensors[op.inputs[1]].buffer]
            data = np.array(buffer.data, dtype=np.uint8)
            data[0] = np.uint8(value & 0xFF)
            buffer.data = data
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_conv2d_weight_minus_128_uses_the_deep_core(tmp_path):
    """A pair of products with a -128 weight can overflow int16, so the pairwise cores are not used."""
    model = _with_weight(_variant_model(dict(kernel=1, channels_in=16, channels_out=40, size=(5, 7))), -128)
    comparison = compile_and_compare(model, tmp_path, trials=3)
    assert _conv_kernels(comparison) == ["te_conv2d_1x1_s8"]


def test_conv2d_generic_kernel_beyond_max_depth(tmp_path, monkeypatch):
    monkeypatch.setattr(conv2d, "MAX_GEMM_DEPTH", 8)
    model = _variant_model(dict(kernel=3, stride=2, channels_in=3, channels_out=6, size=(9, 8)))
    comparison = compile_and_compare(model, tmp_path, trials=3)
    assert _conv_kernels(comparison) == ["te_conv2d_s8"]
    assert comparison.project.compiled.plans[0].scratch_bytes == 0


# --- NCHW input: a leading TRANSPOSE folded into the convolution --------------------------


NCHW_CASES = {
    "narrow": (dict(kernel=3, stride=2, channels_in=3, channels_out=8, size=(15, 13)), "te_conv2d_narrow_s8"),
    "kxk_shallow": (
        dict(kernel=3, stride=2, channels_in=3, channels_out=32, size=(11, 14)),
        "te_conv2d_kxk_shallow_s8",
    ),
    "kxk_deep": (dict(kernel=3, stride=1, channels_in=20, channels_out=24, size=(7, 6)), "te_conv2d_kxk_s8"),
    "pointwise": (dict(kernel=1, stride=1, channels_in=6, channels_out=40, size=(5, 7)), "te_conv2d_kxk_shallow_s8"),
    "explicit_pad_batch2": (
        dict(
            kernel=3, stride=1, padding="valid", channels_in=3, channels_out=20, size=(6, 5),
            pad=((1, 0), (2, 1)), batch=2,
        ),
        "te_conv2d_kxk_shallow_s8",
    ),
}


@pytest.mark.parametrize("name", sorted(NCHW_CASES))
def test_conv2d_nchw_input_folds_the_transpose(tmp_path, name):
    case, kernel = NCHW_CASES[name]
    comparison = compile_and_compare(
        _variant_model(dict(case, nchw=True)), tmp_path, trials=3, options=PLANNED_KERNELS
    )
    assert [op.opcode for op in comparison.project.compiled.graph.operators] == ["CONV_2D"]
    plan = comparison.project.compiled.plans[0]
    assert (plan.kernel.name, plan.input_layout) == (kernel, "NCHW")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not found (apt-get install gcc)")
@pytest.mark.parametrize("name", sorted(NCHW_CASES))
def test_conv2d_nchw_input_clean_under_sanitizers(tmp_path, name):
    case, _ = NCHW_CASES[name]
    assert run_under_sanitizers(_variant_model(dict(case, nchw=True)), tmp_path, trials=2, name=f"nchw_{name}") == 2


def test_conv2d_nchw_mobilenet_v2_first_layer(tmp_path):
    model = shared_model("mbv2_224_int8.tflite").read_bytes()
    comparison = compile_and_compare(model, tmp_path, trials=2, reference_trials=1)
    first = comparison.project.compiled.graph.operators[0]
    assert first.opcode == "CONV_2D" and first.options["inputLayout"] == "NCHW"


def test_conv2d_rejects_unknown_input_layout():
    model = _variant_model(dict(kernel=1, channels_in=4, channels_out=4, size=(3, 3)))
    graph = read_model_bytes(model, source="l.tflite")
    conv = next(op for op in graph.operators if op.opcode == "CONV_2D")
    odd = Operator(conv.index, conv.opcode, conv.inputs, conv.outputs, dict(conv.options, inputLayout="CHWN"))
    with pytest.raises(UnsupportedOperatorError, match=r"l.tflite: operator \d+ \(CONV_2D\): input layout CHWN"):
        plan_conv2d(graph, odd)


# --- planning ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,reads_inside,layout,weight_min,expected",
    [
        ((96, 1, 1, 16), True, "NHWC", -127, ("te_conv2d_1x1_shallow_s8", 16)),
        ((96, 1, 1, 64), True, "NHWC", -127, ("te_conv2d_1x1_s8", 64)),
        ((96, 1, 1, 16), True, "NHWC", -128, ("te_conv2d_1x1_s8", 16)),
        ((96, 1, 1, 16), False, "NHWC", -127, ("te_conv2d_kxk_shallow_s8", 16)),
        ((96, 1, 1, 16), True, "NCHW", -127, ("te_conv2d_kxk_shallow_s8", 16)),
        ((96, 1, 1, 15), True, "NHWC", -127, ("te_conv2d_kxk_shallow_s8", 16)),
        ((32, 3, 3, 3), False, "NHWC", -127, ("te_conv2d_kxk_shallow_s8", 28)),
        ((16, 3, 3, 3), False, "NHWC", -127, ("te_conv2d_narrow_s8", 28)),
        ((16, 3, 3, 3), False, "NHWC", -128, ("te_conv2d_kxk_s8", 27)),
        ((16, 3, 3, 16), False, "NHWC", -127, ("te_conv2d_kxk_s8", 144)),
        ((4, 128, 128, 2), False, "NHWC", -127, ("te_conv2d_s8", 0)),
    ],
)
def test_choose_kernel(shape, reads_inside, layout, weight_min, expected):
    kernel, depth = choose_kernel(shape, reads_inside, layout, weight_min)
    assert (kernel.name, depth) == expected


def test_shallow_filter_layout_blocks_of_32_channels():
    out_c, k = 40, 3
    w = np.arange(out_c * k, dtype=np.int64).reshape(out_c, k).astype(np.int8)
    blocked = shallow_filter_layout(w, 4).reshape(2, 4, 32)  # [block][depth][channel]
    for o in range(out_c):
        for d in range(4):
            expected = w[o, d] if d < k else 0
            assert blocked[o // 32, d, o % 32] == expected
    assert not blocked[1, :, out_c - 32 :].any()  # zero-padded channels


def test_unpadded_tail_keeps_the_last_blocks_real_channels_only():
    out_c, k = 40, 3
    w = np.arange(out_c * k, dtype=np.int64).reshape(out_c, k).astype(np.int8)
    blocked = shallow_filter_layout(w, 4)
    tail = unpadded_tail(blocked, 4, out_c % 32)
    assert tail.size == out_c * 4
    assert np.array_equal(tail[: 32 * 4], blocked[: 32 * 4])  # full blocks as they were
    last = tail[32 * 4 :].reshape(4, 8)  # [depth][channel], 8 channels wide
    for o in range(32, out_c):
        for d in range(4):
            assert last[d, o - 32] == (w[o, d] if d < k else 0)
    assert unpadded_tail(blocked, 4, 0) is blocked


def test_only_a_group_read_1x1_shallow_layer_stores_its_last_block_unpadded():
    """te_conv2d_1x1_shallow_s8 (DSP: the group code, portable: the width from its params)
    drops the last block's zero padding; a KxK shallow layer (the DSP shallow tile reads
    padded blocks) keeps it."""
    pointwise = generate(read_model_bytes(_variant_model(dict(kernel=1, channels_in=6, channels_out=40, size=(5, 5)))))
    text = pointwise.files["model.c"]
    assert "te_conv2d_1x1_shallow_s8" in text and ".tail_width = 8" in text
    assert re.search(r"te_op\d+_filter\[240\]", text)  # 40 channels x depth 6, not 64 x 6
    spatial = generate(read_model_bytes(_variant_model(dict(kernel=3, channels_in=2, channels_out=40, size=(6, 6)))))
    assert "te_conv2d_kxk_shallow_s8" in spatial.files["model.c"] and "tail_width" not in spatial.files["model.c"]


def test_fold_input_offset_wraps_like_int32():
    w = np.full((2, 3), 127, dtype=np.int8)
    bias = np.array([2**31 - 1, -5], dtype=np.int32)
    folded = fold_input_offset(w, bias, 128)
    assert folded.dtype == np.int32
    assert folded.tolist() == [((2**31 - 1 + 128 * 381 + 2**31) % 2**32) - 2**31, -5 + 128 * 381]


def test_conv2d_project_holds_only_the_kernels_it_uses():
    model = _variant_model(dict(kernel=1, channels_in=6, channels_out=40, size=(5, 5)))
    files = generate(read_model_bytes(model)).files
    conv_files = sorted(name for name in files if name.startswith("kernels/te_conv2d"))
    expected = ["te_conv2d_1x1_shallow.c", "te_conv2d_1x1_shallow.h", "te_conv2d_gemm.h"]
    assert conv_files == [f"kernels/{name}" for name in expected]


def test_conv2d_macs_counted_from_shapes():
    model = convert_int8(_conv_model(3, 1, "same", None, 1))
    graph = read_model_bytes(model)
    conv = next(op for op in graph.operators if op.opcode == "CONV_2D")
    plan = plan_conv2d(graph, conv)
    assert plan.macs == 13 * 11 * 8 * 3 * 3 * 5


def test_conv2d_scratch_is_a_few_pixels_of_the_receptive_field():
    model = convert_int8(_conv_model(3, 1, "same", None, 1, channels_in=20, channels_out=24))
    graph = read_model_bytes(model)
    plan = plan_conv2d(graph, next(op for op in graph.operators if op.opcode == "CONV_2D"))
    assert plan.kernel.name == "te_conv2d_kxk_s8"
    assert plan.scratch_bytes == 4 * 180 * 3  # four rows of 3 * 3 * 20 values, int8 (im2col) and int16 (the tile)


def test_conv2d_rejects_float_model():
    def build():
        inputs = keras.Input((8, 8, 3), batch_size=1)
        return keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))

    from tests.model_factory import tf

    float_model = tf.lite.TFLiteConverter.from_keras_model(build()).convert()
    graph = read_model_bytes(float_model, source="float.tflite")
    conv = next(op for op in graph.operators if op.opcode == "CONV_2D")
    with pytest.raises(UnsupportedOperatorError, match=r"float.tflite: operator \d+ \(CONV_2D\).*float32.*int8"):
        plan_conv2d(graph, conv)
