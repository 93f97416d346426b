"""FULLY_CONNECTED: generated C and the numpy reference against TFLite Micro, bit for bit."""

import ctypes
import dataclasses
import subprocess
from importlib import resources

import flatbuffers
import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import full_int8, keras, tf
from tests.tinyengine_gen.test_sanitizers import run_under_sanitizers
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, shift_table
from tinyengine_gen.ops.fully_connected import fold_bias, fully_connected_reference, plan_fully_connected
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema


def _convert(build, *, per_channel: bool, seed: int = 0) -> bytes:
    """Int8 conversion like tests.model_factory.convert_int8, with per-channel dense layers on demand.

    The converter quantises dense layers per tensor unless told otherwise.
    """
    keras.utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed + 1)
    shapes = [tuple(int(d) for d in t.shape) for t in model.inputs]

    def representative():
        for _ in range(16):
            yield [rng.uniform(-1.0, 1.0, s).astype(np.float32) for s in shapes]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    full_int8(converter, representative)
    converter._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel
    return converter.convert()


def _dense_model(input_shape, units, activation=None, use_bias=True, batch=1):
    def build():
        inputs = keras.Input(input_shape, batch_size=batch)
        outputs = keras.layers.Dense(units, activation=activation, use_bias=use_bias, bias_initializer="random_normal")(
            inputs
        )
        return keras.Model(inputs, outputs)

    return build


def _fc(model: bytes, source: str = "test.tflite"):
    graph = read_model_bytes(model, source=source)
    return graph, next(op for op in graph.operators if op.opcode == "FULLY_CONNECTED")


def _edit(model: bytes, edit) -> bytes:
    """The same model after ``edit(model_tree, fc_operator)`` (flatbuffer object API)."""
    tree = schema.ModelT.InitFromPackedBuf(model, 0)
    for op in tree.subgraphs[0].operators:
        if isinstance(op.builtinOptions, schema.FullyConnectedOptionsT):
            edit(tree, op)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


CASES = [
    # input shape (without batch), units, activation, use_bias, per_channel, batch
    ((20,), 7, None, True, False, 1),
    ((20,), 7, "relu", True, True, 1),
    ((33,), 10, "relu6", False, False, 3),
    ((33,), 10, None, False, True, 2),
    ((5, 9), 6, "relu", True, False, 1),  # rank-3 input, keep_num_dims
    ((3, 5, 9), 4, "relu6", True, True, 2),  # rank-4 input, keep_num_dims
    ((5, 9), 11, None, False, True, 1),
]


@pytest.mark.parametrize("input_shape,units,activation,use_bias,per_channel,batch", CASES)
def test_fully_connected_bit_exact(tmp_path, input_shape, units, activation, use_bias, per_channel, batch):
    model = _convert(_dense_model(input_shape, units, activation, use_bias, batch), per_channel=per_channel)
    graph, op = _fc(model)
    assert graph.tensor(op.inputs[1]).quant.per_channel == per_channel
    assert (len(op.inputs) > 2 and op.inputs[2] >= 0) == use_bias
    assert len(graph.tensor(op.inputs[0]).shape) == len(input_shape) + 1
    assert bool(op.options["keepNumDims"]) == (len(input_shape) > 1)
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize("per_channel", [False, True])
def test_fully_connected_flattens_without_keep_num_dims(tmp_path, per_channel):
    """A rank-3 input with keep_num_dims off: TFLM reads it as [elements / depth, depth]."""
    model = _convert(_dense_model((4, 6), 5, "relu", batch=2), per_channel=per_channel)

    def drop_dims(tree, op):
        op.builtinOptions.keepNumDims = False
        tree.subgraphs[0].tensors[op.outputs[0]].shape = [8, 5]

    patched = _edit(model, drop_dims)
    graph, op = _fc(patched)
    assert not op.options["keepNumDims"] and graph.tensor(op.outputs[0]).shape == (8, 5)
    assert plan_fully_connected(graph, op).batches == 8
    compile_and_compare(patched, tmp_path, trials=3)


def test_fully_connected_per_tensor_filter_zero_point(tmp_path):
    """TFLM's per-tensor kernel adds the filter zero point (weights_offset); so must we."""
    model = _convert(_dense_model((24,), 9, "relu6"), per_channel=False)

    def shift_zero_point(tree, op):
        tree.subgraphs[0].tensors[op.inputs[1]].quantization.zeroPoint = [5]

    patched = _edit(model, shift_zero_point)
    graph, op = _fc(patched)
    assert plan_fully_connected(graph, op).weights_offset == -5
    compile_and_compare(patched, tmp_path, trials=3)


def _scales_where_float32_product_matters() -> tuple[float, float, float]:
    """(input, filter, output) float32 scales whose per-tensor Q31 multiplier depends on how
    the input * filter product is rounded, with an effective multiplier near 2^-16."""
    rng = np.random.default_rng(7)
    while True:
        in_scale, filter_scale = (float(np.float32(v)) for v in rng.uniform(1e-3, 1e-2, 2))
        out_scale = float(np.float32(in_scale * filter_scale * 2**16 * rng.uniform(1.0, 2.0)))
        float_product = float(np.float32(in_scale) * np.float32(filter_scale))
        as_float, _ = quantize_multiplier(float_product / out_scale)
        as_double, _ = quantize_multiplier(in_scale * filter_scale / out_scale)
        if abs(as_float - as_double) >= 48:
            return in_scale, filter_scale, out_scale


def test_fully_connected_per_tensor_multiplier_uses_double_product(tmp_path):
    """TFLM's per-tensor multiplier is (input * filter) / output in double, not a float32 product.

    The two forms differ in the low bits of the Q31 multiplier, which changes an output only
    for rare accumulator values. We find such values, make them the biases, and feed the input
    zero point (so each accumulator is exactly its bias): TFLM must agree with the double form
    and disagree with the float32 one.
    """
    units = 16
    model = _convert(_dense_model((2,), units, None), per_channel=False)
    in_scale, filter_scale, out_scale = _scales_where_float32_product_matters()
    graph, op = _fc(model)
    zero_point = graph.tensor(op.inputs[0]).quant.zero_point
    float_mult, float_shift = quantize_multiplier(float(np.float32(in_scale) * np.float32(filter_scale)) / out_scale)
    double_mult, double_shift = quantize_multiplier(in_scale * filter_scale / out_scale)
    accumulators = np.arange(-(2**22), 2**22, dtype=np.int64)
    telling = accumulators[
        multiply_by_quantized_multiplier(accumulators, float_mult, float_shift)
        != multiply_by_quantized_multiplier(accumulators, double_mult, double_shift)
    ]
    assert len(telling) > 0, "no separating accumulator; pick other scales"
    biases = np.resize(telling, units).astype(np.int32)

    def craft(tree, fc):
        tensors = tree.subgraphs[0].tensors
        tensors[fc.inputs[0]].quantization.scale = [in_scale]
        tensors[fc.inputs[1]].quantization.scale = [filter_scale]
        tensors[fc.inputs[2]].quantization.scale = [float(np.float32(in_scale) * np.float32(filter_scale))]
        tensors[fc.outputs[0]].quantization.scale = [out_scale]
        tree.buffers[tensors[fc.inputs[2]].buffer].data = np.frombuffer(biases.tobytes(), dtype=np.uint8)

    crafted = _edit(model, craft)
    graph, op = _fc(crafted)
    plan = plan_fully_connected(graph, op)
    assert (int(plan.multipliers[0]), int(plan.shifts[0])) == (double_mult, double_shift)
    at_zero_point = np.full((1, 2), zero_point, dtype=np.int8)
    float_plan = dataclasses.replace(
        plan, multipliers=np.array([float_mult], np.int32), shifts=np.array([float_shift], np.int32)
    )
    comparison = compile_and_compare(crafted, tmp_path, inputs=[[at_zero_point]])
    tflm_out = comparison.tflm.run([at_zero_point])[0]
    assert np.count_nonzero(fully_connected_reference(at_zero_point, float_plan) != tflm_out) == units


def test_fully_connected_macs_counted_from_shapes():
    graph, op = _fc(_convert(_dense_model((5, 9), 6, batch=2), per_channel=False))
    assert plan_fully_connected(graph, op).macs == 2 * 5 * 6 * 9


def test_fully_connected_rejects_float_model():
    float_model = tf.lite.TFLiteConverter.from_keras_model(_dense_model((8,), 3)()).convert()
    graph, op = _fc(float_model, source="float.tflite")
    with pytest.raises(
        UnsupportedOperatorError, match=r"float.tflite: operator \d+ \(FULLY_CONNECTED\).*float32.*int8"
    ):
        plan_fully_connected(graph, op)


def test_fully_connected_rejects_mismatched_bias_scale():
    model = _convert(_dense_model((8,), 3), per_channel=False)

    def scale_bias(tree, op):
        quant = tree.subgraphs[0].tensors[op.inputs[2]].quantization
        quant.scale = [float(quant.scale[0]) * 100.0]

    graph, op = _fc(_edit(model, scale_bias), source="bias.tflite")
    with pytest.raises(QuantizationError, match=r"bias.tflite: operator \d+ \(FULLY_CONNECTED\).*bias.*scale"):
        plan_fully_connected(graph, op)


_KERNEL_WRAPPER = r"""
#include "te_fully_connected.h"
void run(int batches, int depth, int out_c, int per_channel, int32_t weights_offset, int32_t output_offset,
         const int8_t* input, const int8_t* filter, const int32_t* folded_bias, const int32_t* multiplier,
         const int8_t* shift, int8_t* output) {
  const te_fully_connected_params p = {batches, depth, out_c, per_channel, weights_offset, output_offset, -128, 127};
  te_fully_connected_s8(&p, input, filter, folded_bias, multiplier, shift, output);
}
"""


@pytest.mark.parametrize(
    "depth,out_c,per_channel,weights_zp",
    [
        (70_001, 6, False, 5),  # longer than one int32 chunk (2^16 terms): two chunks per neuron
        (70_001, 3, True, 0),  # two chunks, a pair of neurons and an odd one, per-channel
        (1280, 9, True, 0),  # MobileNetV2's classifier depth, per-channel
        (3, 4, False, -7),  # a depth shorter than any vector
    ],
)
def test_fully_connected_kernel_long_and_short_depths(tmp_path, depth, out_c, per_channel, weights_zp):
    """te_fully_connected_s8 called directly against the numpy reference, on depths no small model reaches."""
    kernels = resources.files("tinyengine_gen").joinpath("kernels")
    for name in ("te_fully_connected.c", "te_fully_connected.h", "te_fixedpoint.h"):
        (tmp_path / name).write_text(kernels.joinpath(name).read_text())
    (tmp_path / "wrapper.c").write_text(_KERNEL_WRAPPER)
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared"]
    sources = ["wrapper.c", "te_fully_connected.c"]
    subprocess.run(["gcc", *flags, "-I.", "-o", "libfc.so", *sources], cwd=tmp_path, check=True)
    lib = ctypes.CDLL(str(tmp_path / "libfc.so"))

    graph, op = _fc(_convert(_dense_model((8,), 3), per_channel=False))
    rng = np.random.default_rng(depth)
    batches = 2
    weights = rng.integers(-128, 128, (out_c, depth), dtype=np.int8)
    channels = out_c if per_channel else 1
    multipliers = rng.integers(2**30, 2**31, channels).astype(np.int32)
    # accumulators spread about 74^2 * sqrt(depth) (int8 uniform); scale that to about +-50
    spread = int(74**2 * np.sqrt(depth))
    bias = rng.integers(-spread, spread, out_c).astype(np.int32)
    shift = -round(np.log2(spread / 50))
    shifts = rng.integers(shift - 1, shift + 1, channels, endpoint=True).astype(np.int32)
    plan = dataclasses.replace(
        plan_fully_connected(graph, op),
        batches=batches,
        output_shape=(batches, out_c),
        filter=weights,
        bias=bias,
        folded_bias=fold_bias(bias, weights, 3, -weights_zp),
        per_channel=per_channel,
        input_offset=3,
        weights_offset=-weights_zp,
        output_offset=-4,
        multipliers=multipliers,
        shifts=shifts,
        act_min=-128,
        act_max=127,
    )
    x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
    out = np.zeros((batches, out_c), dtype=np.int8)
    arrays = (x, weights, plan.folded_bias, multipliers, shift_table(shifts), out)
    lib.run(
        *(ctypes.c_int(v) for v in (batches, depth, out_c, int(per_channel), -weights_zp, -4)),
        *(ctypes.c_void_p(a.ctypes.data) for a in arrays),
    )
    assert plan.scratch_bytes == 0
    expected = fully_connected_reference(x, plan)
    assert np.unique(expected).size > 2, "outputs saturate: pick other shifts"
    assert np.array_equal(out, expected)



def test_fully_connected_clean_under_sanitizers(tmp_path):
    """Two batches, an odd neuron count (pairs and a last single one), a weights zero point, under ASan and UBSan."""
    model = _convert(_dense_model((37,), 9, "relu", batch=2), per_channel=False)

    def shift_zero_point(tree, op):
        tree.subgraphs[0].tensors[op.inputs[1]].quantization.zeroPoint = [-3]

    assert run_under_sanitizers(_edit(model, shift_zero_point), tmp_path, trials=2, name="fc_blocks") == 2


def _wide_input_model() -> bytes:
    """One FULLY_CONNECTED reading 4,000 inputs (its int16-widened row alone was 8,000 B)."""

    def build():
        inputs = keras.Input((4000,), batch_size=1)
        return keras.Model(inputs, keras.layers.Dense(16)(inputs))

    return _convert(build, per_channel=False)


def _dense_autoencoder() -> bytes:
    """A 640-input dense autoencoder (MLPerf Tiny's anomaly-detection shape): 640-128x4-8-128x4-640."""

    def build():
        inputs = keras.Input((640,), batch_size=1)
        x = inputs
        for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
            x = keras.layers.Dense(units, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(640)(x))

    return _convert(build, per_channel=False)


@pytest.mark.parametrize("build", [_wide_input_model, _dense_autoencoder], ids=["4000_inputs", "autoencoder_640"])
def test_fully_connected_models_peak_at_the_live_tensor_bound(tmp_path, build):
    """Peak SRAM of fully-connected-only models: the largest input + output of a layer (no
    scratch), never above TFLM's arena; outputs still TFLM's."""
    model = build()
    comparison = compile_and_compare(model, tmp_path, trials=2)
    graph = read_model_bytes(model, source="dense.tflite")
    live_bound = max(graph.tensor(op.inputs[0]).nbytes + graph.tensor(op.outputs[0]).nbytes for op in graph.operators)
    peak = comparison.project.report["peak_sram_bytes"]  # type: ignore[attr-defined]
    assert peak == live_bound, (peak, live_bound)
    tflm_arena = comparison.tflm.arena_bytes([np.zeros(graph.tensor(graph.inputs[0]).shape, np.int8)])
    assert peak <= tflm_arena, (peak, tflm_arena)
