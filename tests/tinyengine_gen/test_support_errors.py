"""Messages for models we cannot compile: every unsupported operator in one line, custom
operators named with their code and origin, the support check before data-flow checks,
16x8 models named as such, and a degenerate softmax input range explained."""

import flatbuffers
import numpy as np
import pytest

from tests.model_factory import convert_int8, keras, tf
from tinyengine_gen.compiler import compile_graph
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.softmax import plan_softmax
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema


def _repack(model: bytes, edit) -> bytes:
    unpacked = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    edit(unpacked)
    builder = flatbuffers.Builder(1024)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _chain(opcodes: list[str]) -> Graph:
    q = Quantization((0.1,), (0,))
    tensors = tuple(Tensor(i, f"t{i}", (1, 4), DType.INT8, q) for i in range(len(opcodes) + 1))
    ops = tuple(Operator(i, code, (i,), (i + 1,)) for i, code in enumerate(opcodes))
    return Graph(tensors, ops, (0,), (len(opcodes),), source="many.tflite")


def test_every_unsupported_operator_in_one_line():
    graph = _chain(["QUANTIZE", "FOO_OP", "QUANTIZE", "FOO_OP", "BAR_OP", "FOO_OP"])
    with pytest.raises(UnsupportedOperatorError) as info:
        compile_graph(graph)
    message = str(info.value)
    assert "\n" not in message
    assert "many.tflite: " in message
    assert "FOO_OP (x3, first at operator 1)" in message
    assert "BAR_OP (x1, first at operator 4)" in message
    assert message.index("FOO_OP (x3") < message.index("BAR_OP (x1")  # in file order
    assert "QUANTIZE (x" not in message


def _small_conv_model() -> bytes:
    def build():
        inputs = keras.Input((6, 6, 2), batch_size=1)
        return keras.Model(inputs, keras.layers.Conv2D(3, 3)(inputs))

    return convert_int8(build)


def test_custom_ethos_u_operator_is_named_with_its_origin():
    def edit(m):
        m.operatorCodes[0].builtinCode = schema.BuiltinOperator.CUSTOM
        m.operatorCodes[0].deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
        m.operatorCodes[0].customCode = b"ethos-u"
        m.subgraphs[0].operators[0].builtinOptionsType = 0
        m.subgraphs[0].operators[0].builtinOptions = None

    model = _repack(_small_conv_model(), edit)
    with pytest.raises(UnsupportedOperatorError) as info:
        read_model_bytes(model, source="vela.tflite")
    assert "CUSTOM 'ethos-u' (x1, first at operator 0)" in str(info.value)
    assert "Vela for an Ethos-U NPU, compile the model before Vela" in str(info.value)


def test_lstm_state_is_no_dataflow_problem():
    """The LSTM's state tensors are read before any operator writes them (they are variable):
    with another operator unsupported, the one line names that operator only; alone, it compiles."""

    def build(with_exp: bool):
        def make():
            inputs = keras.Input((5, 3), batch_size=1)  # the converter cannot lower an unfixed-batch LSTM
            x = keras.layers.Dense(2)(keras.layers.LSTM(4)(inputs))
            return keras.Model(inputs, keras.layers.Lambda(tf.math.exp)(x) if with_exp else x)

        return make

    with pytest.raises(UnsupportedOperatorError) as info:
        read_model_bytes(convert_int8(build(True)), source="lstm.tflite")
    message = str(info.value)
    assert "1 unsupported operator is used: EXP (x1, first at operator" in message, message
    assert "re-export" not in message and "before any operator writes" not in message
    compiled = compile_graph(read_model_bytes(convert_int8(build(False)), source="lstm.tflite"))
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in [op.opcode for op in compiled.graph.operators]


def test_16x8_model_is_named_as_such():
    def fn(x):
        return tf.nn.relu(tf.matmul(x, tf.constant(np.ones((4, 3), np.float32))))

    concrete = tf.function(fn, input_signature=[tf.TensorSpec((1, 4), tf.float32)]).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], concrete)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: ([rng.uniform(-1, 1, (1, 4)).astype(np.float32)] for _ in range(4))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    graph = read_model_bytes(converter.convert(), source="x16.tflite")
    with pytest.raises(UnsupportedOperatorError, match=r"x16.tflite: operator 0 \(FULLY_CONNECTED\).*16x8.*not supported yet"):
        compile_graph(graph)


def test_degenerate_softmax_input_range_names_the_likely_cause():
    tensors = (
        Tensor(0, "logits", (1, 10), DType.INT8, Quantization((1e-9,), (0,))),
        Tensor(1, "probs", (1, 10), DType.INT8, Quantization((1.0 / 256,), (-128,))),
    )
    graph = Graph(tensors, (Operator(0, "SOFTMAX", (0,), (1,), {"beta": 1.0}),), (0,), (1,), source="flat.tflite")
    with pytest.raises(QuantizationError, match=r"flat.tflite: operator 0 \(SOFTMAX\).*degenerate.*untrained"):
        plan_softmax(graph, graph.operators[0])
