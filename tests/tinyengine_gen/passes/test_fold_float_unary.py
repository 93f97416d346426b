"""DEQUANTIZE -> float32 ELU -> QUANTIZE (how the converter leaves a Keras ELU) becomes one
int8 table lookup with TFLite Micro's float arithmetic, bit-exact with TFLM running the chain."""

import pytest

from tests.model_factory import convert_int8, keras
from tests.tinyengine_gen.ops._unary import every_byte_and_random, opcodes
from tinyengine_gen.compiler import compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.passes.fold_float_unary import FLOAT_PATH, fold_float_unary


def _elu_model(spread: float) -> bytes:
    def build():
        inputs = keras.Input((16, 16), batch_size=1)
        return keras.Model(inputs, keras.layers.Activation("elu")(inputs))

    return convert_int8(build, spread=spread)


@pytest.mark.parametrize("spread", [3.0, pytest.param(0.2, marks=pytest.mark.slow)])
def test_float_elu_folds_and_is_bit_exact_on_every_byte(tmp_path, spread):
    model = _elu_model(spread)
    assert opcodes(model) == ["DEQUANTIZE", "ELU", "QUANTIZE"]
    graph = read_model_bytes(model)
    (folded,) = fold_float_unary(graph).operators
    assert folded.opcode == "ELU" and folded.options[FLOAT_PATH]
    assert folded.inputs == graph.operators[0].inputs and folded.outputs == graph.operators[2].outputs
    assert [p.opcode for p in compile_graph(graph).graph.operators] == ["ELU"]
    every_byte_and_random(model, tmp_path)


def test_a_float_tensor_read_twice_is_left_alone():
    """The chain folds only where nothing else reads its float tensors."""
    model = _elu_model(3.0)
    graph = read_model_bytes(model)
    dequantize, elu, quantize = graph.operators
    extra = type(quantize)(99, "QUANTIZE", elu.inputs, quantize.outputs, {})
    twice = graph.replace(operators=(dequantize, elu, quantize, extra))
    assert fold_float_unary(twice) is twice
