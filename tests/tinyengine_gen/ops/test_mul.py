"""MUL: generated C and the numpy reference against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.tinyengine_gen.ops._binary import two_input_model
from tests.tinyengine_gen.ops._unary import opcodes as _opcodes
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.mul import plan_mul
from tinyengine_gen.frontend.reader import read_model_bytes


def _two_input_model(shape1, shape2, activation="NONE"):
    return two_input_model(shape1, shape2, activation, layer=keras.layers.Multiply)


@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6"])
@pytest.mark.parametrize(
    "shape1,shape2",
    [
        ((1, 5, 7, 3), (1, 5, 7, 3)),  # same shape
        ((1, 5, 7, 6), (1, 1, 1, 6)),  # squeeze-and-excitation gating
        ((1, 1, 1, 6), (1, 5, 7, 6)),  # the broadcast operand first
        ((1, 5, 7, 6), (1, 5, 7, 1)),  # spatial attention map
    ],
)
def test_mul_bit_exact(tmp_path, shape1, shape2, activation):
    model = convert_int8(_two_input_model(shape1, shape2, activation))
    assert _opcodes(model) == ["MUL"]
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize(
    "shape1,shape2",
    [
        ((1, 11), (1, 11)),  # rank 2
        ((1, 4, 5), (1, 4, 1)),  # rank 3
        ((1, 3, 1, 5), (1, 1, 4, 1)),  # both operands broadcast
        ((1, 2, 3, 4, 5), (1, 1, 3, 1, 5)),  # rank 5
    ],
)
def test_mul_broadcast_ranks(tmp_path, shape1, shape2):
    model = convert_int8(_two_input_model(shape1, shape2))
    assert _opcodes(model) == ["MUL"]
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize("per_channel", [True, False])
def test_mul_squeeze_excitation_block(tmp_path, per_channel):
    """Squeeze-and-excitation shape: x[1,H,W,C] times a [1,1,1,C] gate computed from x by convolutions."""

    def build():
        x = keras.Input((7, 9, 8), batch_size=1)
        s = keras.layers.Conv2D(8, 1, activation="relu")(x)
        gate = keras.layers.Conv2D(8, (7, 9), padding="valid", activation="relu6")(s)  # [1, 1, 1, 8]
        return keras.Model(x, keras.layers.Multiply()([x, gate]))

    model = convert_int8(build, per_channel=per_channel)
    assert _opcodes(model)[-1] == "MUL"
    compile_and_compare(model, tmp_path, trials=3)


def test_mul_by_constant(tmp_path):
    """x * c[6] (lower-rank constant) and x * 0.3 (a scalar constant): constants as operands."""
    constant = np.linspace(-1.5, 2.0, 6).astype(np.float32)

    def build():
        x = keras.Input((5, 7, 6), batch_size=1)
        y = keras.layers.Lambda(lambda t: t * tf.constant(constant))(x)
        return keras.Model(x, keras.layers.Lambda(lambda t: t * 0.3)(y))

    model = convert_int8(build)
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["MUL", "MUL"]
    assert all(any(graph.tensor(i).is_constant for i in op.inputs) for op in graph.operators)
    compile_and_compare(model, tmp_path, trials=3)


def test_mul_rejects_float_model():
    float_model = tf.lite.TFLiteConverter.from_keras_model(_two_input_model((1, 4, 4, 3), (1, 1, 1, 3))()).convert()
    graph = read_model_bytes(float_model, source="float.tflite")
    mul = next(op for op in graph.operators if op.opcode == "MUL")
    with pytest.raises(UnsupportedOperatorError, match=r"float.tflite: operator \d+ \(MUL\).*float32.*int8"):
        plan_mul(graph, mul)


def test_mul_rejects_per_channel_operand():
    def tensor(index, shape, quant):
        return Tensor(index, f"t{index}", shape, DType.INT8, quant)

    per_channel = Quantization((0.1, 0.2, 0.3), (0, 0, 0), axis=3)
    tensors = (
        tensor(0, (1, 2, 2, 3), Quantization((0.05,), (1,))),
        tensor(1, (1, 1, 1, 3), per_channel),
        tensor(2, (1, 2, 2, 3), Quantization((0.05,), (-3,))),
    )
    graph = Graph(tensors, (Operator(0, "MUL", (0, 1), (2,)),), (0, 1), (2,), source="built.tflite")
    with pytest.raises(QuantizationError, match=r"built.tflite: operator 0 \(MUL\).*per channel"):
        plan_mul(graph, graph.operators[0])


@pytest.mark.parametrize("shape1,shape2", [((1, 3, 5, 70), (1, 1, 1, 70)), ((1, 3, 5, 70), (1, 3, 5, 70))])
def test_mul_with_left_shift(tmp_path, shape1, shape2):
    """A RELU6 output on wide inputs: s1 * s2 / s_out > 1, so the requantisation shifts left first."""
    model = convert_int8(_two_input_model(shape1, shape2, "RELU6"), spread=30.0)
    graph = read_model_bytes(model)
    plan = plan_mul(graph, graph.operators[0])
    assert plan.output_shift > 0
    compile_and_compare(model, tmp_path, trials=3)
