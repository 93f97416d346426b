"""RESHAPE, SQUEEZE and EXPAND_DIMS: views that share one arena buffer, checked against TFLite Micro.

The converter turns tf.squeeze and tf.expand_dims into RESHAPE, so the SQUEEZE and
EXPAND_DIMS models here are RESHAPE models rewritten with the flatbuffer object API.
"""

import copy

import flatbuffers
import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_function, convert_int8, keras, tf
from tinyengine_gen.compiler import compile_graph
from tinyengine_gen.errors import UnsupportedModelError, UnsupportedOperatorError
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.reshape import plan_reshape, plan_squeeze
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema


def _opcodes(model: bytes) -> list[str]:
    return [op.opcode for op in read_model_bytes(model).operators]


def _pack(model: "schema.ModelT") -> bytes:
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _set_opcode(model: "schema.ModelT", op: "schema.OperatorT", code: int) -> None:
    opcode = schema.OperatorCodeT()
    opcode.builtinCode = code
    opcode.deprecatedBuiltinCode = code
    opcode.version = 1
    model.operatorCodes.append(opcode)
    op.opcodeIndex = len(model.operatorCodes) - 1


def _as_squeeze(reshape_model: bytes, squeeze_dims: list[int]) -> bytes:
    """Rewrite a one-RESHAPE model into SQUEEZE(squeeze_dims) with the same tensors."""
    model = schema.ModelT.InitFromPackedBuf(reshape_model, 0)
    (op,) = model.subgraphs[0].operators
    _set_opcode(model, op, schema.BuiltinOperator.SQUEEZE)
    op.inputs = op.inputs[:1]
    op.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
    op.builtinOptions = schema.SqueezeOptionsT()
    op.builtinOptions.squeezeDims = squeeze_dims
    return _pack(model)


def _as_expand_dims(reshape_model: bytes, axis: int) -> bytes:
    """Rewrite a one-RESHAPE model into EXPAND_DIMS; its shape tensor becomes the axis."""
    model = schema.ModelT.InitFromPackedBuf(reshape_model, 0)
    subgraph = model.subgraphs[0]
    (op,) = subgraph.operators
    _set_opcode(model, op, schema.BuiltinOperator.EXPAND_DIMS)
    axis_tensor = subgraph.tensors[op.inputs[1]]
    axis_tensor.shape = [1]
    model.buffers[axis_tensor.buffer].data = np.frombuffer(np.int32(axis).tobytes(), dtype=np.uint8)
    op.builtinOptionsType = schema.BuiltinOptions.ExpandDimsOptions
    op.builtinOptions = schema.ExpandDimsOptionsT()
    return _pack(model)


def _with_constant_reshape(reshape_model: bytes, seed: int = 3) -> bytes:
    """Add a second RESHAPE whose input is a constant int8 tensor and whose output is a graph output."""
    model = schema.ModelT.InitFromPackedBuf(reshape_model, 0)
    subgraph = model.subgraphs[0]
    (op,) = subgraph.operators
    x, y = subgraph.tensors[op.inputs[0]], subgraph.tensors[op.outputs[0]]
    values = np.random.default_rng(seed).integers(-128, 128, size=list(x.shape), dtype=np.int8)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(values.tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    constant = copy.deepcopy(x)
    constant.name, constant.buffer = "constant", len(model.buffers) - 1
    output = copy.deepcopy(y)
    output.name, output.buffer = "constant_reshaped", 0
    subgraph.tensors += [constant, output]
    second = copy.deepcopy(op)
    second.inputs = [len(subgraph.tensors) - 2, op.inputs[1]]
    second.outputs = [len(subgraph.tensors) - 1]
    subgraph.operators.append(second)
    subgraph.outputs = list(subgraph.outputs) + [len(subgraph.tensors) - 1]
    return _pack(model)


RESHAPES = [
    ((1, 3, 5, 7), lambda x: tf.reshape(x, (1, 35, 3))),
    ((1, 3, 5, 7), lambda x: tf.reshape(x, (-1,))),
    ((2, 3, 1, 7), lambda x: tf.squeeze(x, [2])),
    ((3, 5, 7), lambda x: tf.expand_dims(x, 1)),
]


@pytest.mark.parametrize("shape,fn", RESHAPES)
def test_reshape_graph_input_to_graph_output_shares_buffer(tmp_path, shape, fn):
    model = convert_function(fn, shape)
    assert _opcodes(model) == ["RESHAPE"]
    result = compile_and_compare(model, tmp_path, trials=2)
    compiled = result.project.compiled
    (x,), (y,) = compiled.graph.inputs, compiled.graph.outputs
    assert compiled.tensor_offsets[x] == compiled.tensor_offsets[y]
    lib = result.host._lib
    assert lib.te_input(0) == lib.te_output(0)
    assert compiled.plans[0].kernel_sources == ()


def test_reshape_float32(tmp_path):
    model = convert_function(lambda x: tf.reshape(x, (5, 21)), (1, 3, 5, 7), int8=False)
    assert _opcodes(model) == ["RESHAPE"]
    compile_and_compare(model, tmp_path, trials=2)


def test_reshape_between_convs_with_input_still_live(tmp_path):
    """conv -> reshape -> reshape -> conv, while a later conv still reads the first conv's output."""

    def build():
        inputs = keras.Input((6, 8, 3), batch_size=1)
        a = keras.layers.Conv2D(4, 3, padding="same")(inputs)
        b = keras.layers.Reshape((12, 16, 1))(a)
        b = keras.layers.Reshape((3, 16, 4))(b)
        b = keras.layers.Conv2D(5, 3, padding="same", activation="relu")(b)
        c = keras.layers.Conv2D(2, 1)(a)
        return keras.Model(inputs, [b, c])

    model = convert_int8(build)
    assert _opcodes(model).count("RESHAPE") >= 1
    result = compile_and_compare(model, tmp_path, trials=3)
    compiled = result.project.compiled
    for plan in compiled.plans:
        for out, inp in plan.aliases:
            assert compiled.tensor_offsets[out] == compiled.tensor_offsets[inp]


@pytest.mark.parametrize("shape,dims,out_shape", [((1, 3, 1, 7), [2], (1, 3, 7)), ((1, 3, 1, 7), [], (3, 7))])
def test_squeeze_bit_exact(tmp_path, shape, dims, out_shape):
    reshape = convert_function(lambda x: tf.reshape(x, out_shape), shape)
    model = _as_squeeze(reshape, dims)
    assert _opcodes(model) == ["SQUEEZE"]
    compile_and_compare(model, tmp_path, trials=2)


@pytest.mark.parametrize("axis,out_shape", [(1, (3, 1, 5, 7)), (-1, (3, 5, 7, 1))])
def test_expand_dims_bit_exact(tmp_path, axis, out_shape):
    reshape = convert_function(lambda x: tf.reshape(x, out_shape), (3, 5, 7))
    model = _as_expand_dims(reshape, axis)
    assert _opcodes(model) == ["EXPAND_DIMS"]
    compile_and_compare(model, tmp_path, trials=2)


def test_reshape_of_constant_is_copied(tmp_path):
    reshape = convert_function(lambda x: tf.reshape(x, (5, 21)), (1, 3, 5, 7))
    model = _with_constant_reshape(reshape)
    assert read_model_bytes(model).tensor(read_model_bytes(model).operators[1].inputs[0]).is_constant
    result = compile_and_compare(model, tmp_path, trials=2)  # compares both outputs with TFLM
    assert result.project.compiled.plans[1].aliases == ()


def _ir_reshape(opcode: str, x_shape, y_shape, y_dtype=DType.INT8, options=None) -> Graph:
    tensors = (Tensor(0, "x", x_shape, DType.INT8), Tensor(1, "y", y_shape, y_dtype))
    op = Operator(0, opcode, (0,), (1,), options or {})
    return Graph(tensors, (op,), (0,), (1,), source="bad.tflite")


def test_reshape_rejects_element_count_change():
    graph = _ir_reshape("RESHAPE", (1, 4, 4, 2), (1, 30))
    with pytest.raises(UnsupportedModelError, match=r"bad.tflite: operator 0 \(RESHAPE\).*30 elements.*32"):
        plan_reshape(graph, graph.operators[0])


def test_reshape_rejects_dtype_change():
    graph = _ir_reshape("RESHAPE", (1, 4, 4, 2), (1, 32), y_dtype=DType.INT16)
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(RESHAPE\).*same dtype"):
        plan_reshape(graph, graph.operators[0])


def test_squeeze_rejects_non_unit_dimension():
    graph = _ir_reshape("SQUEEZE", (1, 4, 4, 2), (4, 4, 2), options={"squeezeDims": (0, 1)})
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(SQUEEZE\).*size 1"):
        plan_squeeze(graph, graph.operators[0])


def test_reshape_compiles_to_no_code():
    graph = _ir_reshape("RESHAPE", (1, 4, 4, 2), (1, 32))
    compiled = compile_graph(graph)
    assert compiled.arena_bytes == 32
