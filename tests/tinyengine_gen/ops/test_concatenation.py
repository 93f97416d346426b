"""CONCATENATION: generated C and the numpy reference against TFLite Micro, bit for bit."""

import dataclasses

import flatbuffers
import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tflm_backend.tflm_runner import TflmModel, TflmRefusedError
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.concatenation import plan_concatenation
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema


def _concat_model(shapes, axis):
    def build():
        inputs = [keras.Input(shape[1:], batch_size=shape[0]) for shape in shapes]
        return keras.Model(inputs, keras.layers.Concatenate(axis=axis)(inputs))

    return build


def _concat_ops(model: bytes) -> list[Operator]:
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["CONCATENATION"]
    return list(graph.operators)


@pytest.mark.parametrize(
    "shapes,axis",
    [
        (((1, 5, 7, 3), (1, 5, 7, 4)), 3),  # channels, two inputs
        (((1, 5, 7, 3), (1, 5, 7, 1), (1, 5, 7, 6)), 3),  # channels, three inputs
        (((1, 5, 7, 3), (1, 2, 7, 3)), 1),  # height
        (((1, 5, 3, 3), (1, 5, 1, 3), (1, 5, 7, 3), (1, 5, 2, 3)), 2),  # width, four inputs
        (((1, 7), (1, 5), (1, 1)), 1),  # rank 2
        (((1, 3, 5), (1, 4, 5)), 1),  # rank 3
        (((1, 2, 3, 4, 5), (1, 2, 3, 1, 5)), 3),  # rank 5
    ],
)
def test_concatenation_bit_exact(tmp_path, shapes, axis):
    model = convert_int8(_concat_model(shapes, axis))
    _concat_ops(model)
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize("axis", [-1, -3])
def test_concatenation_negative_axis_and_constant_input(tmp_path, axis):
    """tf.concat keeps a negative axis in the options; one operand is a constant."""
    constant_shape = (1, 5, 7, 2) if axis == -1 else (1, 2, 7, 3)
    constant = np.linspace(-1.0, 1.0, int(np.prod(constant_shape))).astype(np.float32).reshape(constant_shape)

    def build():
        x = keras.Input((5, 7, 3), batch_size=1)
        return keras.Model(x, keras.layers.Lambda(lambda t: tf.concat([tf.constant(constant), t], axis=axis))(x))

    model = convert_int8(build)
    (op,) = _concat_ops(model)
    assert op.options["axis"] == axis
    compile_and_compare(model, tmp_path, trials=3)


@pytest.mark.parametrize("per_channel", [True, False])
def test_concatenation_of_convolutions(tmp_path, per_channel):
    """An inception-style join: the converter gives every branch the concatenation's scale."""

    def build():
        x = keras.Input((5, 7, 3), batch_size=1)
        a = keras.layers.Conv2D(4, 3, padding="same")(x)
        b = keras.layers.Conv2D(5, 1, activation="relu")(x)
        return keras.Model(x, keras.layers.Concatenate()([a, b, x]))

    model = convert_int8(build, per_channel=per_channel)
    assert [op.opcode for op in read_model_bytes(model).operators][-1] == "CONCATENATION"
    compile_and_compare(model, tmp_path, trials=3)


def _graph(input_quant: Quantization, options: dict | None = None) -> Graph:
    out_quant = Quantization((0.05,), (3,))
    tensors = (
        Tensor(0, "a", (1, 4, 4, 2), DType.INT8, out_quant),
        Tensor(1, "b", (1, 4, 4, 3), DType.INT8, input_quant),
        Tensor(2, "y", (1, 4, 4, 5), DType.INT8, out_quant),
    )
    op = Operator(0, "CONCATENATION", (0, 1), (2,), options or {"axis": 3, "fusedActivationFunction": 0})
    return Graph(tensors, (op,), (0, 1), (2,), source="built.tflite")


@pytest.mark.parametrize("quant", [Quantization((0.06,), (3,)), Quantization((0.05,), (4,))])
def test_concatenation_rejects_requantisation(quant):
    graph = _graph(quant)
    with pytest.raises(QuantizationError, match=r"built.tflite: operator 0 \(CONCATENATION\).*'b'.*identical"):
        plan_concatenation(graph, graph.operators[0])


def test_concatenation_rejects_fused_activation():
    graph = _graph(Quantization((0.05,), (3,)), {"axis": 3, "fusedActivationFunction": 1})
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(CONCATENATION\).*RELU.*NONE"):
        plan_concatenation(graph, graph.operators[0])


def test_tflm_also_refuses_concatenation_with_different_scales():
    """The behaviour we mirror: TFLite Micro does not requantise int8 concatenation inputs."""
    model = convert_int8(_concat_model(((1, 3, 3, 2), (1, 3, 3, 4)), 3))
    model_t = schema.ModelT.InitFromPackedBuf(model, 0)
    subgraph = model_t.subgraphs[0]
    first_input = subgraph.tensors[subgraph.operators[0].inputs[0]]
    first_input.quantization.scale = [float(first_input.quantization.scale[0]) * 2.0]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model_t.Pack(builder), file_identifier=b"TFL3")
    changed = bytes(builder.Output())
    graph = read_model_bytes(changed, source="rescaled.tflite")
    with pytest.raises(QuantizationError, match=r"rescaled.tflite: operator 0 \(CONCATENATION\)"):
        plan_concatenation(graph, graph.operators[0])
    with pytest.raises(TflmRefusedError, match="allocate"):  # Prepare fails on the scale mismatch
        TflmModel(changed).run([np.zeros((1, 3, 3, 2), np.int8), np.zeros((1, 3, 3, 4), np.int8)])


def test_concatenation_plan_chunks():
    graph = _graph(Quantization((0.05,), (3,)))
    plan = plan_concatenation(graph, graph.operators[0])
    assert (plan.axis, plan.outer, plan.chunks) == (3, 16, (2, 3))
    changed = dataclasses.replace(graph.operators[0], options={"axis": -3, "fusedActivationFunction": 0})
    tensors = list(graph.tensors)
    tensors[1] = dataclasses.replace(tensors[1], shape=(1, 4, 4, 2), quant=tensors[0].quant)
    tensors[2] = dataclasses.replace(tensors[2], shape=(1, 8, 4, 2))
    graph = dataclasses.replace(graph, tensors=tuple(tensors), operators=(changed,))
    plan = plan_concatenation(graph, changed)
    assert (plan.axis, plan.outer, plan.chunks) == (1, 1, (32, 32))
