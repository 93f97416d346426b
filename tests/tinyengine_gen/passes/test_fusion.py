"""Residual CONV_2D + ADD fusion: bit-exact with TFLM, in place over x when x is dead,
and the MLPerf Tiny peaks it (with in-place pointwise layers) brings under 0.6 x TFLM's arena."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tests.shared_assets import shared_model
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.compiler import CompileOptions
from tinyengine_gen.passes.fusion import FUSED_OPCODE, ConvAddPlan
from tinyengine_gen.frontend.reader import read_model_bytes

FIXED_KERNELS = CompileOptions(prefer="speed")

#: name: (channels, kernel size of the fused conv, expected core kernel)
CORES = {
    "1x1_deep": (56, 1, "te_conv2d_1x1_s8"),
    "1x1_shallow": (24, 1, "te_conv2d_1x1_shallow_s8"),
    "1x1_from_narrow": (8, 1, "te_conv2d_1x1_shallow_s8"),
    "kxk_deep": (16, 3, "te_conv2d_kxk_s8"),
    "kxk_shallow": (4, 3, "te_conv2d_kxk_shallow_s8"),
}


def _residual(channels, kernel, y_first, relu, x_alive=False, size=(5, 7)):
    def build():
        inputs = keras.Input((*size, 3), batch_size=1)
        x = keras.layers.Conv2D(channels, 3, padding="same", activation="relu")(inputs)
        h = keras.layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
        y = keras.layers.Conv2D(channels, kernel, padding="same")(h)  # a ResNet block's second conv
        z = keras.layers.Add()([y, x] if y_first else [x, y])
        if relu:
            z = keras.layers.ReLU()(z)
        if x_alive:  # x read again after the ADD: the fused op cannot write over it
            z = keras.layers.Add()([z, x])
        return keras.Model(inputs, keras.layers.Conv2D(4, 1)(z))

    return build


def _fused(comparison) -> ConvAddPlan:
    compiled = comparison.project.compiled
    (plan,) = [p for p in compiled.plans if isinstance(p, ConvAddPlan)]
    ops = {op["index"]: op for op in comparison.project.report["ops"]}
    assert ops[plan.op_index]["name"] == FUSED_OPCODE
    assert ops[plan.op_index]["fused_ops"] == [plan.conv.op_index, plan.add.op_index]
    assert [op.opcode for op in compiled.graph.operators].count(FUSED_OPCODE) == 1
    assert len(compiled.graph.operators) == len(compiled.plans)
    return plan


def _add_reads_conv_output_first(model: bytes) -> bool:
    """Whether the file's first ADD has y (the block's second conv) as its first input."""
    graph = read_model_bytes(model)
    conv_outputs = {op.outputs[0] for op in graph.operators if op.opcode == "CONV_2D"}
    add = next(op for op in graph.operators if op.opcode == "ADD")
    producer = {op.outputs[0]: op for op in graph.operators}
    first = producer.get(add.inputs[0])
    # y is the conv whose input is itself a conv that reads a conv's output (x -> h -> y)
    return first is not None and producer.get(first.inputs[0]) is not None and first.inputs[0] in conv_outputs and (
        producer[first.inputs[0]].inputs[0] in conv_outputs
    )


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("y_first", [False, True])
def test_fused_residual_bit_exact_in_place(tmp_path, y_first, relu, per_channel):
    model = convert_int8(_residual(16, 3, y_first, relu), per_channel=per_channel)
    comparison = compile_and_compare(model, tmp_path, trials=3, options=FIXED_KERNELS)
    plan = _fused(comparison)
    assert plan.in_place and plan.aliases == ((plan.outputs[0], plan.residual),)
    assert (plan.add.inputs[0] != plan.residual) == _add_reads_conv_output_first(model)


def test_both_add_input_orders_are_covered():
    orders = {_add_reads_conv_output_first(convert_int8(_residual(16, 3, y_first, False))) for y_first in (0, 1)}
    assert orders == {False, True}


@pytest.mark.parametrize("y_first", [False, True])
def test_fused_residual_x_alive_gets_its_own_buffer(tmp_path, y_first):
    model = convert_int8(_residual(16, 3, y_first, True, x_alive=True))
    comparison = compile_and_compare(model, tmp_path, trials=3, options=FIXED_KERNELS)
    plan = _fused(comparison)
    assert not plan.in_place
    offsets = comparison.project.compiled.tensor_offsets
    assert offsets[plan.outputs[0]] != offsets[plan.residual]


@pytest.mark.parametrize("name", sorted(CORES))
def test_fused_residual_every_core(tmp_path, name):
    channels, kernel, core = CORES[name]
    model = convert_int8(_residual(channels, kernel, True, True, size=(3, 5)))  # 15 pixels: a tail of 3
    plan = _fused(compile_and_compare(model, tmp_path, trials=3, options=FIXED_KERNELS))
    assert plan.conv.kernel.name == core


def test_fusion_off_keeps_conv_and_add(tmp_path):
    model = convert_int8(_residual(16, 3, True, False))
    comparison = compile_and_compare(model, tmp_path, trials=1, options=CompileOptions(fuse_residual_add=False))
    assert not any(isinstance(p, ConvAddPlan) for p in comparison.project.compiled.plans)


def test_fusion_with_patch_stage_still_exact(tmp_path):
    model = convert_int8(_residual(16, 3, True, True, size=(24, 24)))
    comparison = compile_and_compare(model, tmp_path, trials=2, options=CompileOptions(patch="2x2", patch_split=0))
    assert comparison.project.compiled.patch_decision is not None


# --- the MLPerf Tiny targets -----------------------------------------------------------------

#: peak SRAM over TFLM's arena, at most; and the peaks the other models must not exceed
RATIO_TARGETS = {"mlperf_kws_ref_int8.tflite": 0.6, "mlperf_resnet8_int8.tflite": 0.6, "mlperf_vww_96_int8.tflite": 0.6}
NO_WORSE = {"mcunet_vww.tflite": (89_600, CompileOptions(int8_input=True)), "mbv2_224_int8.tflite": (1_404_928, None)}


@pytest.mark.parametrize("name", sorted(RATIO_TARGETS))
def test_mlperf_peak_at_most_six_tenths_of_tflm_arena(name):
    path = shared_model(name)
    from tinyengine_gen.codegen.project import generate_from_file

    peak = generate_from_file(path).report["peak_sram_bytes"]
    tflm = TflmModel(path.read_bytes())
    inputs = [np.zeros(info["shape"], dtype=info["dtype"]) for info in tflm.input_details]
    assert peak <= RATIO_TARGETS[name] * tflm.arena_bytes(inputs)


@pytest.mark.parametrize("name", sorted(NO_WORSE))
def test_other_shared_models_no_worse(name):
    path = shared_model(name)
    from tinyengine_gen.codegen.project import generate_from_file

    bound, options = NO_WORSE[name]
    assert generate_from_file(path, options).report["peak_sram_bytes"] <= bound
