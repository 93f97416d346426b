"""Packed 4-bit weights (--pack_int4): packing as TFLite packs INT4, and the conv (1x1, KxK),
depthwise and fully-connected kernels bit-exact with TFLite Micro on the same file.

TFLM is the oracle: a file whose int8 weights all lie in [-8, 7] (re-quantised to 4 bits by
mcunet_tf.int4_weights) runs in TFLM unchanged, and our packed build must give its bytes.
"""

import dataclasses

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from mcunet_tf.int4_weights import requantize_weights_int4
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.passes.fusion import PackedConvAddPlan
from tinyengine_gen.ops.int4_weights import (
    PackedConv2DPlan,
    PackedDepthwiseConv2DPlan,
    PackedFullyConnectedPlan,
    pack_int4,
    packed_variant,
    unpack_int4,
)

PACKED = CompileOptions(pack_int4=True)


def test_pack_puts_the_even_element_in_the_low_nibble():
    assert pack_int4(np.array([1, -2, 7], dtype=np.int8)).tolist() == [0xE1, 0x07]
    assert pack_int4(np.array([-8, 0], dtype=np.int8)).tolist() == [0x08]


@pytest.mark.parametrize("count", [1, 2, 7, 64, 65])
def test_unpack_inverts_pack_for_odd_and_even_counts(count):
    values = np.random.default_rng(count).integers(-8, 8, size=count).astype(np.int8)
    packed = pack_int4(values)
    assert packed.size == (count + 1) // 2
    np.testing.assert_array_equal(unpack_int4(packed, count), values)


def test_pack_refuses_values_outside_int4():
    with pytest.raises(ValueError, match=r"\[-8, 7\]"):
        pack_int4(np.array([8], dtype=np.int8))


def _dense(depth, units, per_channel=True):
    def build():
        inputs = keras.Input((depth,), batch_size=1)
        return keras.Model(inputs, keras.layers.Dense(units, activation="relu")(inputs))

    return convert_int8(build, per_channel=per_channel)


def _conv(kernel, channels, filters, stride=1, padding="same", size=(9, 7)):
    def build():
        inputs = keras.Input((*size, channels), batch_size=1)
        y = keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, activation="relu6")(inputs)
        return keras.Model(inputs, y)

    return convert_int8(build)


def _depthwise(kernel, channels, stride=1, multiplier=1, size=(9, 7)):
    def build():
        inputs = keras.Input((*size, channels), batch_size=1)
        y = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", depth_multiplier=multiplier)(inputs)
        return keras.Model(inputs, y)

    return convert_int8(build)


CASES = {
    "conv1x1_odd": (lambda: _conv(1, 5, 7), PackedConv2DPlan),
    "conv3x3_s2_odd": (lambda: _conv(3, 3, 9, stride=2), PackedConv2DPlan),
    "conv5x5_valid": (lambda: _conv(5, 4, 6, padding="valid"), PackedConv2DPlan),
    "depthwise3x3_odd": (lambda: _depthwise(3, 7), PackedDepthwiseConv2DPlan),  # row ring, odd channels
    "depthwise7x7_s2_odd": (lambda: _depthwise(7, 5, stride=2, size=(11, 9)), PackedDepthwiseConv2DPlan),
    "depthwise5x5_s2_dm2": (lambda: _depthwise(5, 3, stride=2, multiplier=2), PackedDepthwiseConv2DPlan),
    "fc_odd": (lambda: _dense(13, 11), PackedFullyConnectedPlan),
    "fc_per_tensor": (lambda: _dense(20, 6, per_channel=False), PackedFullyConnectedPlan),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_packed_layer_is_bit_exact_with_tflm(case, tmp_path):
    make, plan_type = CASES[case]
    model = requantize_weights_int4(make())
    comparison = compile_and_compare(model, tmp_path, trials=3, options=PACKED)
    plans = comparison.project.compiled.plans
    assert any(isinstance(plan, plan_type) for plan in plans), [type(p).__name__ for p in plans]


def test_packed_pointwise_conv_runs_in_place_like_its_int8_twin(tmp_path):
    def build():
        inputs = keras.Input((6, 5, 9), batch_size=1)
        y = keras.layers.Conv2D(9, 1, activation="relu")(inputs)
        y = keras.layers.Conv2D(9, 1, activation="relu")(y)  # its input is dead afterwards: in place
        return keras.Model(inputs, keras.layers.Conv2D(5, 1)(y))

    model = requantize_weights_int4(convert_int8(build))
    packed = compile_and_compare(model, tmp_path / "packed", trials=3, options=PACKED)
    plain = compile_and_compare(model, tmp_path / "plain", trials=1)
    in_place = [p for p in packed.project.compiled.plans if isinstance(p, PackedConv2DPlan) and p.in_place]
    assert in_place, "no packed pointwise layer ran in place"
    assert packed.project.report["arena_bytes"] <= plain.project.report["arena_bytes"]


def test_packed_depthwise_runs_in_place_like_its_int8_twin(tmp_path):
    """MCUNet's in-place depthwise keeps its SRAM saving with packed weights: the packed layer
    runs on its int8 twin's kernel (the 3x3 on the row ring, the 5x5 on the plane), over its
    input, with no larger arena than the int8 build."""

    def build():
        inputs = keras.Input((7, 6, 4), batch_size=1)
        y = keras.layers.Conv2D(11, 1, activation="relu")(inputs)
        y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)  # 11 channels: odd
        y = keras.layers.DepthwiseConv2D(5, strides=2, padding="same")(y)
        return keras.Model(inputs, keras.layers.Conv2D(5, 1)(y))

    model = requantize_weights_int4(convert_int8(build))
    packed = compile_and_compare(model, tmp_path / "packed", trials=3, options=PACKED)
    plain = compile_and_compare(model, tmp_path / "plain", trials=1)
    depthwise = [p for p in packed.project.compiled.plans if isinstance(p, PackedDepthwiseConv2DPlan)]
    assert len(depthwise) == 2 and any(p.in_place for p in depthwise), [type(p).__name__ for p in depthwise]
    assert all(p.aliases == p.base.aliases for p in depthwise)
    assert "TE_DW_ROWS_INT4_DEFINE" in packed.project.files["model.c"]
    assert "TE_DW_PLANE_INT4_DEFINE" in packed.project.files["model.c"]
    assert [p.kernels for p in depthwise] == [p.base.kernels for p in depthwise]
    assert packed.project.report["pack_int4"]["int8_ops"] == []
    assert packed.project.report["arena_bytes"] <= plain.project.report["arena_bytes"]


def test_packed_conv_fuses_with_its_residual_add_like_its_int8_twin(tmp_path):
    """ResNet-style blocks: a packed 3x3 and a packed 1x1 convolution each fused with the
    residual ADD that reads it (te_conv2d_int4_add_s8), bit-exact, no larger arena."""

    def build():
        inputs = keras.Input((7, 5, 9), batch_size=1)
        x = keras.layers.Conv2D(9, 1, activation="relu")(inputs)
        y = keras.layers.Conv2D(9, 3, padding="same")(keras.layers.Conv2D(9, 3, padding="same", activation="relu")(x))
        x = keras.layers.ReLU()(keras.layers.Add()([x, y]))
        x = keras.layers.Add()([keras.layers.Conv2D(9, 1)(x), x])  # the conv as the ADD's first input
        return keras.Model(inputs, keras.layers.Conv2D(3, 1)(x))

    model = requantize_weights_int4(convert_int8(build))
    packed = compile_and_compare(model, tmp_path / "packed", trials=3, options=PACKED)
    plain = compile_and_compare(model, tmp_path / "plain", trials=1)
    fused = [p for p in packed.project.compiled.plans if isinstance(p, PackedConvAddPlan)]
    assert len(fused) == 2, [type(p).__name__ for p in packed.project.compiled.plans]
    assert "te_conv2d_int4_add_s8" in packed.project.files["model.c"]
    assert len(packed.project.report["pack_int4"]["packed_ops"]) == 5
    assert packed.project.report["arena_bytes"] <= plain.project.report["arena_bytes"]


def test_packing_halves_the_weight_bytes_and_keeps_the_outputs(tmp_path):
    model = requantize_weights_int4(_dense(256, 64))
    packed = compile_and_compare(model, tmp_path / "packed", trials=2, options=PACKED)
    plain = compile_and_compare(model, tmp_path / "plain", trials=2)
    ratio = packed.project.report["weights_bytes"] / plain.project.report["weights_bytes"]
    # 16384 weight bytes -> 8192; the 64 biases, multipliers and shifts stay int32 (768 bytes)
    assert ratio <= 0.55, ratio
    assert packed.project.report["pack_int4"]["packed_ops"] == [0]
    assert packed.project.report["ops"][0]["weight_bits"] == 4


def test_weights_outside_int4_keep_int8_and_say_why():
    graph = read_model_bytes(_dense(8, 4), source="plain.tflite")  # ordinary int8: spans [-127, 127]
    compiled = compile_graph(graph, PACKED)
    fc = compiled.plans[-1]
    assert not isinstance(fc, PackedFullyConnectedPlan)
    variant, reason = packed_variant(fc)
    assert variant is None and "outside [-8, 7]" in reason


@pytest.mark.parametrize(
    "per_channel", [True, pytest.param(False, marks=pytest.mark.slow)], ids=["per_channel", "per_tensor"]
)
def test_packed_dsp_and_portable_kernels_identical_to_tflm_under_qemu(tmp_path, per_channel):
    """ARMv7E-M: the packed kernels' DSP paths (SXTAB16 / SMLAD on unpacked weight pairs in
    conv and FC, the row-ring depthwise quads reading packed weights, the plane's SMLADs on
    each channel's unpacked taps) and the portable ones
    give TFLM's bytes under QEMU on layers with odd channel counts, tails, residual ADDs and
    depthwise in place; the DSP build executes fewer instructions."""
    from tests.tinyengine_gen.firmware._firmware_models import require_qemu
    from tests.tinyengine_gen.firmware.test_dsp_kernels import _more_dsp_paths_model, _run_both
    from tflm_backend.tflm_runner import TflmModel
    from tinyengine_gen.codegen.project import generate

    require_qemu()
    model = requantize_weights_int4(_more_dsp_paths_model(per_channel))
    project = generate(read_model_bytes(model, source="more_dsp_paths_int4.tflite"), PACKED)
    assert project.report["pack_int4"]["int8_ops"] == []
    assert "te_conv2d_int4_add_s8" in project.files["model.c"] and "TE_DW_ROWS_INT4_DEFINE" in project.files["model.c"]
    assert "TE_DW_PLANE_INT4_DEFINE" in project.files["model.c"]  # the 7x7 layer's plane, weights unpacked per channel
    results = _run_both(project, TflmModel(model).run, tmp_path, cases=2)
    for check in results.values():
        assert check.compared_with == ("TFLM", "host build")
    assert results["simd"].run.outputs == results["portable"].run.outputs
    assert results["simd"].run.instructions[0] < results["portable"].run.instructions[0]


@pytest.mark.parametrize(
    "name, most",
    # biases, multipliers, int8 shifts (in both builds) and KWS's softmax table stay as they are:
    # packed is about weights / 2 + tables, so the ratio sits above 1/2 (KWS's the most: 28 kB)
    [("mcunet_vww.tflite", 0.56), ("mlperf_vww_96_int8.tflite", 0.56), ("mlperf_resnet8_int8.tflite", 0.55),
     ("mlperf_kws_ref_int8.tflite", 0.62)],
)
def test_shared_models_at_four_bits_pack_every_layer_with_the_int8_arena(name, most):
    """Default options (in-place depthwise, residual fusion, in-place 1x1): every weight layer
    packed, weights_bytes at most `most` of the int8 build's, and no larger arena. The ratio
    is taken with every channel kept (4-bit weights leave many output channels all zero,
    which the dead-channel passes drop in both builds, leaving mostly tables); dropping them
    from the packed build then only shrinks it further."""
    from tests.shared_assets import shared_model
    from tinyengine_gen.codegen.project import generate

    model = requantize_weights_int4(shared_model(name).read_bytes())
    source = read_model_bytes(model, source=name)
    every_channel = CompileOptions(drop_dead_channels=False)
    plain = generate(source, every_channel).report
    packed = generate(source, dataclasses.replace(PACKED, drop_dead_channels=False)).report
    assert packed["pack_int4"]["int8_ops"] == []
    assert packed["weights_bytes"] <= most * plain["weights_bytes"], packed["weights_bytes"] / plain["weights_bytes"]
    assert packed["arena_bytes"] <= plain["arena_bytes"]
    dropped = generate(source, PACKED).report
    assert dropped["pack_int4"]["int8_ops"] == [] and dropped["weights_bytes"] <= packed["weights_bytes"]
    assert dropped["arena_bytes"] <= generate(source).report["arena_bytes"]


def test_layers_of_a_patch_stage_are_packed_too(tmp_path):
    """MCUNetV2's patch-based first stage: its convolutions and depthwise layers, run patch by
    patch, read packed weights like the layers after it (one packed copy for all patches)."""

    def build():
        inputs = keras.Input((16, 16, 3), batch_size=1)
        y = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
        y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
        y = keras.layers.Conv2D(12, 1)(y)
        y = keras.layers.Conv2D(5, 3, strides=2, padding="same")(y)
        return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(y)))

    model = requantize_weights_int4(convert_int8(build))
    options = CompileOptions(pack_int4=True, patch="2x2", patch_split=2)
    packed = compile_and_compare(model, tmp_path, trials=3, options=options)
    report = packed.project.report
    assert report["patch"]["stage_ops"] == [0, 1, 2], report["patch"]
    assert report["pack_int4"]["int8_ops"] == [] and {0, 1, 2} <= set(report["pack_int4"]["packed_ops"])
    model_c = packed.project.files["model.c"]
    assert "te_conv2d_int4_s8" in model_c and "TE_DW_ROWS_INT4_DEFINE" in model_c
    assert model_c.count("op0_filter_int4[") == 1  # one copy for the four patches


def test_packed_depthwise_takes_its_twins_lean_variant_at_the_peak(tmp_path):
    """--prefer=memory drops a depthwise layer's row ring at the peak: the packed layer offers
    the same lean variant (the generic loop nest, no scratch), so its arena is the int8 build's,
    and its output TFLM's."""
    model = requantize_weights_int4(_depthwise(3, 7))
    packed = compile_and_compare(model, tmp_path, trials=2, options=PACKED)
    plain = compile_graph(read_model_bytes(model))
    (ours,) = [p for p in packed.project.compiled.plans if isinstance(p, PackedDepthwiseConv2DPlan)]
    assert not plain.plans[0].uses_row_ring and not ours.base.uses_row_ring and ours.scratch_bytes == 0
    assert "te_depthwise_int4_s8" in packed.project.files["model.c"]
    assert packed.project.report["arena_bytes"] == plain.memory.arena_bytes
    assert ours.lean_variant() is None  # lean already
