"""ADD: generated C and the numpy reference against TFLite Micro, bit for bit."""

import ctypes
import subprocess
from importlib import resources

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.tinyengine_gen.ops._binary import two_input_model as _two_input_model
from tests.tinyengine_gen.ops._unary import opcodes as _opcodes
from tests.tinyengine_gen.test_sanitizers import run_under_sanitizers
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.elementwise import ADD_TABLE_MIN_ELEMENTS, broadcast_nest, plan_add
from tinyengine_gen.frontend.reader import read_model_bytes


@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6"])
@pytest.mark.parametrize(
    "shape1,shape2",
    [
        ((1, 5, 7, 3), (1, 5, 7, 3)),  # same shape
        ((1, 5, 7, 6), (1, 1, 1, 6)),  # per-channel bias-like broadcast
        ((1, 1, 1, 6), (1, 5, 7, 6)),  # the broadcast operand first
        ((1, 5, 7, 6), (1, 5, 7, 1)),  # per-pixel broadcast
    ],
)
def test_add_bit_exact(tmp_path, shape1, shape2, activation):
    model = convert_int8(_two_input_model(shape1, shape2, activation))
    assert _opcodes(model) == ["ADD"]
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize(
    "shape1,shape2",
    [
        ((1, 9), (1, 9)),  # rank 2
        ((1, 9), (1, 1)),  # rank 2, scalar-like
        ((1, 4, 5), (1, 1, 5)),  # rank 3
        ((1, 3, 1, 5), (1, 1, 4, 1)),  # both operands broadcast, different dimensions
        ((1, 2, 3, 4, 5), (1, 2, 1, 4, 1)),  # rank 5, alternating broadcast
    ],
)
def test_add_broadcast_ranks(tmp_path, shape1, shape2):
    model = convert_int8(_two_input_model(shape1, shape2))
    assert _opcodes(model) == ["ADD"]
    compile_and_compare(model, tmp_path, trials=3)


def test_add_constant_lower_rank_operand(tmp_path):
    """x[1,5,7,6] + c[6]: a constant of lower rank, broadcast over the leading dimensions."""
    constant = np.linspace(-0.8, 0.5, 6).astype(np.float32)

    def build():
        x = keras.Input((5, 7, 6), batch_size=1)
        return keras.Model(x, keras.layers.Lambda(lambda t: t + tf.constant(constant))(x))

    model = convert_int8(build)
    graph = read_model_bytes(model)
    add = graph.operators[0]
    assert add.opcode == "ADD" and any(graph.tensor(i).is_constant for i in add.inputs)
    compile_and_compare(model, tmp_path, trials=3)


def test_add_inputs_with_very_different_scales(tmp_path):
    """a + 7 * b: the second operand's scale is several times the first's (exercises all three multipliers)."""

    def build():
        a = keras.Input((6, 5, 4), batch_size=1)
        b = keras.Input((6, 5, 4), batch_size=1)
        scaled = keras.layers.Lambda(lambda t: t * 7.0)(b)
        return keras.Model([a, b], keras.layers.ReLU()(keras.layers.Add()([a, scaled])))

    model = convert_int8(build)
    assert "ADD" in _opcodes(model)
    compile_and_compare(model, tmp_path, trials=4)


@pytest.mark.parametrize("per_channel", [True, False])
def test_add_residual_after_conv(tmp_path, per_channel):
    """The MobileNetV2 residual: conv output (its own scale) plus the block input."""

    def build():
        x = keras.Input((9, 7, 5), batch_size=1)
        y = keras.layers.Conv2D(5, 3, padding="same")(x)
        return keras.Model(x, keras.layers.Add()([y, x]))

    model = convert_int8(build, per_channel=per_channel)
    assert _opcodes(model) == ["CONV_2D", "ADD"]
    compile_and_compare(model, tmp_path, trials=3)


def test_broadcast_nest_merges_contiguous_dimensions():
    assert broadcast_nest((1, 5, 7, 3), (1, 5, 7, 3), (1, 5, 7, 3)).extent == (105,)
    nest = broadcast_nest((1, 5, 7, 6), (1, 1, 1, 6), (1, 5, 7, 6))
    assert (nest.extent, nest.step1, nest.step2) == ((35, 6), (6, 1), (0, 1))
    nest = broadcast_nest((1, 5, 7, 6), (1, 5, 7, 1), (1, 5, 7, 6))
    assert (nest.extent, nest.step1, nest.step2) == ((35, 6), (6, 1), (1, 0))
    nest = broadcast_nest((1, 2, 3, 4, 5), (1, 2, 1, 4, 1), (1, 2, 3, 4, 5))
    assert (nest.extent, nest.step1, nest.step2) == ((2, 3, 4, 5), (60, 20, 5, 1), (4, 0, 1, 0))


def test_add_rejects_float_model():
    float_model = tf.lite.TFLiteConverter.from_keras_model(_two_input_model((1, 4, 4, 3), (1, 4, 4, 3))()).convert()
    graph = read_model_bytes(float_model, source="float.tflite")
    add = next(op for op in graph.operators if op.opcode == "ADD")
    with pytest.raises(UnsupportedOperatorError, match=r"float.tflite: operator \d+ \(ADD\).*float32.*int8"):
        plan_add(graph, add)


def _graph(shape1, shape2, out_shape, out_scale=0.05):
    def tensor(index, shape, scale):
        return Tensor(index, f"t{index}", shape, DType.INT8, Quantization((scale,), (0,)))

    tensors = (tensor(0, shape1, 0.05), tensor(1, shape2, 0.05), tensor(2, out_shape, out_scale))
    return Graph(tensors, (Operator(0, "ADD", (0, 1), (2,)),), (0, 1), (2,), source="built.tflite")


def test_add_rejects_incompatible_shapes():
    graph = _graph((1, 4, 4, 3), (1, 4, 4, 2), (1, 4, 4, 3))
    with pytest.raises(UnsupportedOperatorError, match=r"built.tflite: operator 0 \(ADD\).*do not broadcast"):
        plan_add(graph, graph.operators[0])


def test_add_rejects_multiplier_tflm_cannot_represent():
    graph = _graph((1, 4), (1, 4), (1, 4), out_scale=1e-9)
    with pytest.raises(QuantizationError, match=r"operator 0 \(ADD\).*output multiplier"):
        plan_add(graph, graph.operators[0])


# --- the table variant (te_add_lut_s8) and the vectorisable requantisation --------------


def _add_plan(model: bytes):
    graph = read_model_bytes(model)
    return plan_add(graph, next(op for op in graph.operators if op.opcode == "ADD"))


@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6"])
@pytest.mark.parametrize(
    "shape,tables",
    [
        ((1, 13, 17, 19), True),  # 4199 elements: 65 full blocks of 64 and a tail of 39
        ((1, 16, 16, 16), True),  # 4096: the threshold, whole blocks only
        ((1, 5, 7, 117), False),  # 4095: just below it, the generic kernel
    ],
)
def test_add_tables_bit_exact(tmp_path, shape, tables, activation):
    model = convert_int8(_two_input_model(shape, shape, activation))
    plan = _add_plan(model)
    assert plan.use_tables == tables and (plan.size >= ADD_TABLE_MIN_ELEMENTS) == tables
    assert ("te_add_lut.c" in plan.kernel_sources) == tables and ("te_add.c" in plan.kernel_sources) != tables
    comparison = compile_and_compare(model, tmp_path, trials=3)
    source = comparison.project.files["model.c"]
    assert ("te_add_lut_s8(" in source) == tables and ("te_add_s8(" in source) != tables


def test_add_tables_with_very_different_scales_and_every_value(tmp_path):
    """a + 7 * b on a large map, where inputs take every int8 value: each table entry is used."""

    def build():
        a = keras.Input((16, 16, 20), batch_size=1)
        b = keras.Input((16, 16, 20), batch_size=1)
        return keras.Model([a, b], keras.layers.Add()([a, keras.layers.Lambda(lambda t: t * 7.0)(b)]))

    model = convert_int8(build)
    assert _add_plan(model).use_tables
    every = np.resize(np.arange(-128, 128, dtype=np.int8), (1, 16, 16, 20))
    inputs = [[every, np.roll(every, 37)], [np.flip(every), every]]
    compile_and_compare(model, tmp_path, inputs=inputs)


def test_add_tables_equal_the_formula_and_cost_2_kb():
    plan = _add_plan(convert_int8(_two_input_model((1, 16, 16, 16), (1, 16, 16, 16))))
    table1, table2 = plan.input_tables()
    assert table1.dtype == table2.dtype == np.int32 and table1.nbytes + table2.nbytes == 2048
    q = np.arange(-128, 128)
    assert np.array_equal(
        table1,
        multiply_by_quantized_multiplier(
            (q + plan.input1_offset) << plan.left_shift, plan.input1_multiplier, plan.input1_shift
        ),
    )
    broadcast = _add_plan(convert_int8(_two_input_model((1, 64, 64, 6), (1, 1, 1, 6))))
    assert not broadcast.use_tables  # broadcasting ADDs keep the generic kernel


_REQUANT_WRAPPER = r"""
#include "te_add_requant.h"
void check(const int32_t* x, const int32_t* m, const int32_t* s, int n, int32_t* fast, int32_t* nonneg, int32_t* ref) {
  for (int i = 0; i < n; ++i) {
    const int32_t left = s[i] > 0 ? s[i] : 0, right = s[i] > 0 ? 0 : -s[i];
    fast[i] = s[i] <= 0 ? te_add_requantize(x[i], m[i], s[i]) : te_requantize(x[i], m[i], s[i]);
    nonneg[i] = te_requantize_nonneg(x[i], m[i], left, right);
    ref[i] = te_requantize(x[i], m[i], s[i]);
  }
}
"""


def test_vectorisable_requantize_equals_te_requantize(tmp_path):
    """te_add_requant.h's branch-free forms against te_requantize on random and extreme int32 values."""
    kernels = resources.files("tinyengine_gen").joinpath("kernels")
    for name in ("te_add_requant.h", "te_fixedpoint.h"):
        (tmp_path / name).write_text(kernels.joinpath(name).read_text())
    (tmp_path / "wrapper.c").write_text(_REQUANT_WRAPPER)
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared"]
    subprocess.run(["gcc", *flags, "-I.", "-o", "librq.so", "wrapper.c"], cwd=tmp_path, check=True)
    lib = ctypes.CDLL(str(tmp_path / "librq.so"))
    rng = np.random.default_rng(5)
    n = 200_000
    extremes = np.array([-(2**31), -(2**31) + 1, -(2**30), -1, 0, 1, 2**30, 2**31 - 1], dtype=np.int64)
    x = np.concatenate([rng.integers(-(2**31), 2**31, n), rng.integers(-(2**20), 2**20, n), np.repeat(extremes, 8)])
    m = np.concatenate([rng.integers(0, 2**31, 2 * n), np.tile(np.array([0, 1, 2**30, 2**31 - 1]), 16)])
    s = np.concatenate([rng.integers(-31, 8, 2 * n), np.tile(np.array([-31, -1, 0, 3]), 16)])
    x, m, s = (np.ascontiguousarray(a, dtype=np.int32) for a in (x, m, s))
    fast, nonneg, ref = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    pointers = [ctypes.c_void_p(a.ctypes.data) for a in (x, m, s)]
    outputs = [ctypes.c_void_p(a.ctypes.data) for a in (fast, nonneg, ref)]
    lib.check(*pointers, ctypes.c_int(x.size), *outputs)
    assert np.array_equal(fast, ref) and np.array_equal(nonneg, ref)
    assert np.array_equal(ref, multiply_by_quantized_multiplier(x.astype(np.int64), m, s))


def test_add_tables_clean_under_sanitizers(tmp_path):
    """The table kernel with a tail block, built with ASan and UBSan, still equal to TFLM."""
    model = convert_int8(_two_input_model((1, 13, 17, 19), (1, 13, 17, 19), "RELU6"))
    assert _add_plan(model).use_tables
    assert run_under_sanitizers(model, tmp_path, trials=2, name="add_tables") == 2
