"""In-place pointwise CONV_2D: the output written over its own input, bit-exact with TFLM.

A chain input -> 1x1 -> 1x1 (the layer under test) -> 1x1 makes the middle layer's input
dead after it, so the compiler writes its output over its input. The cases cover output
channels fewer than, equal to and more than the input channels (forward and backward tile
order), both cores, and pixel counts that leave a tail tile of 1, 2 or 3 pixels.
"""

import dataclasses

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.compiler import CompileOptions
from tinyengine_gen.passes import in_place
from tinyengine_gen.ops.conv2d import CONV2D_1X1_S8, CONV2D_KXK_S8, CONV2D_NARROW_S8, Conv2DPlan

#: the lean-scratch pass would move peak layers to the shallow core: keep each case's kernel
FIXED_KERNELS = CompileOptions(prefer="speed")

CASES = {
    # name: (in_c, out_c, (h, w), kernel of the middle layer)
    "deep_narrowing_tail3": (64, 40, (5, 7), "te_conv2d_1x1_s8"),
    "deep_same_tail1": (56, 56, (3, 3), "te_conv2d_1x1_s8"),
    "deep_widening_tail3": (50, 96, (7, 5), "te_conv2d_1x1_s8"),
    "shallow_narrowing_tail3": (48, 34, (3, 5), "te_conv2d_1x1_shallow_s8"),
    "shallow_same_tail2": (32, 32, (2, 3), "te_conv2d_1x1_shallow_s8"),
    "shallow_widening_tail1": (24, 72, (5, 5), "te_conv2d_1x1_shallow_s8"),
}


def _chain(in_c, out_c, size, activation="relu"):
    def build():
        inputs = keras.Input((*size, 4), batch_size=1)
        x = keras.layers.Conv2D(in_c, 1, activation="relu")(inputs)
        x = keras.layers.Conv2D(out_c, 1, activation=activation)(x)
        outputs = keras.layers.Conv2D(20, 1)(x)
        return keras.Model(inputs, outputs)

    return build


def _middle(comparison) -> Conv2DPlan:
    (plan,) = [p for p in comparison.project.compiled.plans if isinstance(p, Conv2DPlan) and p.op_index == 1]
    return plan


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("name", sorted(CASES))
def test_in_place_pointwise_bit_exact(tmp_path, monkeypatch, name, per_channel):
    # keep every valid in-place variant, whether or not it shrinks this small chain's arena
    monkeypatch.setattr(in_place, "_without_costly_resizing", lambda graph, plans, chosen, alignment: chosen)
    in_c, out_c, size, kernel = CASES[name]
    model = convert_int8(_chain(in_c, out_c, size), per_channel=per_channel)
    comparison = compile_and_compare(model, tmp_path, trials=3, options=FIXED_KERNELS)
    plan = _middle(comparison)
    assert (plan.kernel.name, plan.in_place) == (kernel, True)
    assert plan.aliases == ((plan.outputs[0], plan.inputs[0]),)
    compiled = comparison.project.compiled
    assert compiled.tensor_offsets[plan.outputs[0]] == compiled.tensor_offsets[plan.inputs[0]]


def test_in_place_deep_layer_at_the_peak_moves_to_the_lean_shallow_kernel(tmp_path):
    model = convert_int8(_chain(64, 40, (5, 7)))
    plan = _middle(compile_and_compare(model, tmp_path, trials=2))
    assert (plan.kernel.name, plan.in_place, plan.scratch_bytes) == ("te_conv2d_1x1_shallow_s8", True, 4 * 64)


def test_in_place_needs_pointwise_stride_one_batch_one():
    plan = Conv2DPlan(
        op_index=0,
        inputs=(0,),
        outputs=(1,),
        input_shape=(1, 4, 4, 8),
        output_shape=(1, 4, 4, 8),
        filter=np.zeros((8, 1, 1, 8), dtype="int8"),
        bias=np.zeros(8, dtype="int32"),
        stride=(1, 1),
        dilation=(1, 1),
        padding=(0, 0),
        input_offset=0,
        output_offset=0,
        multipliers=None,
        shifts=None,
        act_min=-128,
        act_max=127,
        kernel=CONV2D_1X1_S8,
        depth=8,
    )
    assert plan.in_place_variant() is not None
    assert plan.in_place_variant().in_place_variant() is None  # already in place
    assert dataclasses.replace(plan, stride=(2, 2), output_shape=(1, 2, 2, 8)).in_place_variant() is None
    assert dataclasses.replace(plan, input_shape=(2, 4, 4, 8), output_shape=(2, 4, 4, 8)).in_place_variant() is None
    assert dataclasses.replace(plan, kernel=CONV2D_KXK_S8).in_place_variant() is None
    assert dataclasses.replace(plan, kernel=CONV2D_NARROW_S8).in_place_variant() is None


def test_in_place_not_used_when_input_is_read_later(tmp_path):
    def build():
        inputs = keras.Input((5, 5, 4), batch_size=1)
        x = keras.layers.Conv2D(24, 1, activation="relu")(inputs)
        y = keras.layers.Conv2D(24, 1)(x)
        return keras.Model(inputs, keras.layers.Add()([x, keras.layers.Conv2D(24, 1)(y)]))

    model = convert_int8(build)
    comparison = compile_and_compare(model, tmp_path, trials=2)
    assert not _middle(comparison).in_place
