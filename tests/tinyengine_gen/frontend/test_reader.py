"""The reader: real files into the IR, and every broken file into one clear error."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.tiny_model import pack as _pack
from tests.fuzz.tiny_model import tiny_tree as _tiny_tree
from tests.shared_assets import MODEL_NAMES, shared_model
from tinyengine_gen.errors import MalformedModelError, QuantizationError, TinyEngineError, UnsupportedModelError
from tinyengine_gen.ir import DType
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.frontend.reader import ReadLimits, read_model, read_model_bytes
from tinyengine_gen.frontend.schema import schema


def test_reads_mcunet_vww_structure():
    graph = read_model(shared_model("mcunet_vww.tflite"))
    assert graph.tensor(graph.inputs[0]).shape == (1, 80, 80, 3)
    assert graph.tensor(graph.inputs[0]).dtype == DType.FLOAT32
    assert graph.operators[0].opcode == "QUANTIZE"
    conv = next(op for op in graph.operators if op.opcode == "CONV_2D")
    weights = graph.tensor(conv.inputs[1])
    assert weights.is_constant and weights.dtype == DType.INT8 and weights.quant.per_channel


def test_old_converter_deprecated_builtin_codes_are_read():
    graph = read_model(shared_model("mbv2_224_int8.tflite"))
    assert graph.operators[0].opcode == "TRANSPOSE"
    assert {op.opcode for op in graph.operators} >= {"PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "MEAN"}


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.tflite"
    with pytest.raises(MalformedModelError, match="nope.tflite: cannot read"):
        read_model(missing)


def test_not_a_flatbuffer():
    with pytest.raises(MalformedModelError, match="x.tflite: not a TFLite flatbuffer"):
        read_model_bytes(b"\x00" * 64, source="x.tflite")


def test_too_short():
    with pytest.raises(MalformedModelError, match="too short"):
        read_model_bytes(b"TFL3", source="x.tflite")


@pytest.mark.parametrize("keep", [16, 200, 1000, 5000])
def test_truncated_model_is_a_clear_error(keep):
    data = shared_model("mlperf_kws_ref_int8.tflite").read_bytes()
    with pytest.raises((MalformedModelError, UnsupportedModelError), match="kws.tflite"):
        read_model_bytes(data[:keep], source="kws.tflite")


# --- hostile input: a tiny conv model built with the schema object API (no TensorFlow) ----------


def _tensor(name, shape, dtype, buffer, scales=None, zero_points=None):
    tensor = schema.TensorT()
    tensor.name, tensor.shape, tensor.type, tensor.buffer = name.encode(), list(shape), dtype, buffer
    tensor.quantization = schema.QuantizationParametersT()
    tensor.quantization.scale, tensor.quantization.zeroPoint = list(scales), list(zero_points)
    return tensor


def _edited(edit) -> bytes:
    tree = _tiny_tree()
    edit(tree)
    return _pack(tree)


def _vector_length_position(data: bytes, path: str) -> int:
    """Byte position of the length word of one vector of the tiny model (found with the accessors)."""
    model = schema.Model.GetRootAs(data, 0)
    tables = {
        "operator_codes": (model, 6),
        "subgraphs": (model, 8),
        "buffers": (model, 12),
        "tensors": (model.Subgraphs(0), 4),
        "operators": (model.Subgraphs(0), 10),
        "graph inputs": (model.Subgraphs(0), 6),
        "shape": (model.Subgraphs(0).Tensors(0), 4),
        "name": (model.Subgraphs(0).Tensors(0), 10),
        "scale": (model.Subgraphs(0).Tensors(1).Quantization(), 8),
        "data": (model.Buffers(1), 4),
        "op inputs": (model.Subgraphs(0).Operators(0), 6),
    }
    table, vtable_offset = tables[path]
    field = table._tab.Offset(vtable_offset)
    assert field, path
    position = table._tab.Pos + field
    return position + struct.unpack_from("<I", data, position)[0]


def test_tiny_model_reads_and_compiles():
    graph = read_model_bytes(_pack(_tiny_tree()), source="tiny.tflite")
    assert [t.name for t in graph.tensors] == ["input", "weights", "bias", "output"]
    assert graph.tensor(1).quant.scales == (np.float32(0.01), np.float32(0.02)) and graph.tensor(1).quant.axis == 0
    assert graph.operators[0].options["strideW"] == 1
    assert generate(graph).report["ops"][0]["name"] == "CONV_2D"


@pytest.mark.parametrize(
    "path,where",
    [
        ("operator_codes", "model operator_codes"),
        ("subgraphs", "model subgraphs"),
        ("buffers", "model buffers"),
        ("tensors", "subgraph 0 tensors"),
        ("operators", "subgraph 0 operators"),
        ("graph inputs", "subgraph 0 subgraph inputs"),
        ("shape", "tensor 0 shape"),
        ("name", "tensor 0 name"),
        ("scale", "tensor 1 quantization quantization scale"),
        ("data", "buffer 1 data"),
        ("op inputs", "operator 0 inputs"),
    ],
)
def test_billion_entry_vector_fails_at_once(path, where):
    data = bytearray(_pack(_tiny_tree()))
    struct.pack_into("<I", data, _vector_length_position(bytes(data), path), 10**9)
    start = time.perf_counter()
    expected = rf"^big.tflite: corrupt or truncated flatbuffer: {where}: vector claims 1000000000 elements"
    with pytest.raises(MalformedModelError, match=expected):
        read_model_bytes(bytes(data), source="big.tflite")
    assert time.perf_counter() - start < 1.0


def test_root_offset_past_the_end():
    data = bytearray(_pack(_tiny_tree()))
    struct.pack_into("<I", data, 0, len(data) + 100)
    with pytest.raises(MalformedModelError, match=r"x.tflite: corrupt or truncated flatbuffer: model: offset at"):
        read_model_bytes(bytes(data), source="x.tflite")


def test_vtable_outside_the_file():
    data = bytearray(_pack(_tiny_tree()))
    root = struct.unpack_from("<I", data, 0)[0]
    struct.pack_into("<i", data, root, -(2**30))
    with pytest.raises(MalformedModelError, match=r"x.tflite: corrupt or truncated flatbuffer: model: a vtable entry"):
        read_model_bytes(bytes(data), source="x.tflite")


def test_field_outside_its_table():
    data = bytearray(_pack(_tiny_tree()))
    model = schema.Model.GetRootAs(bytes(data), 0)
    tab = model._tab
    vtable = tab.Pos - struct.unpack_from("<i", data, tab.Pos)[0]
    struct.pack_into("<H", data, vtable + 2, 4)  # the table claims 4 inline bytes: every field is now outside
    with pytest.raises(MalformedModelError, match=r"field lies outside its table"):
        read_model_bytes(bytes(data), source="x.tflite")


@pytest.mark.parametrize(
    "edit,error,message",
    [
        (lambda m: setattr(m.subgraphs[0].tensors[3], "shape", [1 << 15] * 3), MalformedModelError,
         r"tensor 3 'output' claims 35184372088832 bytes, more than any microcontroller model"),
        (lambda m: setattr(m.subgraphs[0].tensors[3], "shape", [2**31 - 1] * 8), MalformedModelError,
         r"tensor 3 'output' claims \d+ bytes"),
        (lambda m: setattr(m.subgraphs[0].tensors[3], "shape", [1] * 9), UnsupportedModelError,
         r"tensor 3 'output' has rank 9; at most 8"),
        (lambda m: setattr(m.subgraphs[0].tensors[0], "shape", [-1, 3, 3, 2]), UnsupportedModelError,
         r"tensor 0 'input' has dynamic shape \[-1, 3, 3, 2\]"),
        (lambda m: setattr(m.subgraphs[0].tensors[0], "type", schema.TensorType.STRING), UnsupportedModelError,
         r"tensor 0 'input' has dtype STRING; supported dtypes are BOOL, FLOAT16, FLOAT32, INT16"),
        (lambda m: setattr(m.subgraphs[0].tensors[1], "buffer", 7), MalformedModelError,
         r"tensor 1 'weights' refers to buffer 7; the model has 3"),
        (lambda m: setattr(m.buffers[2], "data", np.zeros(7, np.uint8)), MalformedModelError,
         r"tensor 2 'bias' has 7 bytes of data but shape \[2\] of int32 needs 8"),
        (lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 5), MalformedModelError,
         r"operator 0 uses opcode index 5; the model has 1"),
        (lambda m: setattr(m.operatorCodes[0], "builtinCode", 9999), MalformedModelError,
         r"operator code 0 has unknown builtin code 9999"),
        (lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [0, 1, 9]), MalformedModelError,
         r"operator 0 \(CONV_2D\) names tensor 9; the model has 4"),
        (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", [-1]), MalformedModelError,
         r"operator 0 \(CONV_2D\) has an omitted output"),
        (lambda m: setattr(m.subgraphs[0], "outputs", [4]), MalformedModelError,
         r"subgraph outputs name tensor 4, but the model has 4 tensors"),
        (lambda m: setattr(m, "subgraphs", []), UnsupportedModelError, r"the model has 0 subgraphs"),
        (lambda m: m.subgraphs.append(m.subgraphs[0]), UnsupportedModelError, r"the model has 2 subgraphs"),
        (lambda m: setattr(m.subgraphs[0].tensors[1], "sparsity", schema.SparsityParametersT()), UnsupportedModelError,
         r"tensor 1 'weights' is stored sparse"),
    ],
)  # fmt: skip
def test_inconsistent_model_is_refused(edit, error, message):
    with pytest.raises(error, match=r"^tiny.tflite: " + message):
        read_model_bytes(_edited(edit), source="tiny.tflite")


def _quant(tensor_index, **fields):
    def edit(m):
        q = m.subgraphs[0].tensors[tensor_index].quantization
        for key, value in fields.items():
            setattr(q, key, value)

    return edit


@pytest.mark.parametrize(
    "edit,message",
    [
        (_quant(1, zeroPoint=[0]), r"tensor 1 'weights' has 2 scales but 1 zero points"),
        (_quant(0, zeroPoint=[]), r"tensor 0 'input' has 1 scales but 0 zero points"),
        (_quant(1, scale=[0.1] * 3, zeroPoint=[0] * 3), r"tensor 1 'weights' has 3 scales for 2 channels on dimension"),
        (_quant(1, quantizedDimension=4), r"tensor 1 'weights' is quantised per channel on dimension 4, outside its"),
        (_quant(1, quantizedDimension=-1), r"tensor 1 'weights' .* on dimension -1, outside its shape \[2, 1, 1, 2\]"),
        (_quant(0, zeroPoint=[128]), r"tensor 0 'input' has zero points outside \[-128, 127\], the range of int8"),
        (_quant(0, zeroPoint=[-129]), r"tensor 0 'input' has zero points outside \[-128, 127\]"),
        (_quant(0, scale=[float("nan")]), r"tensor 0 'input' has a scale that is not a finite number"),
        (_quant(2, zeroPoint=[0, 2**40]), r"tensor 2 'bias' has zero points outside \[-2147483648, 2147483647\]"),
    ],
)
def test_inconsistent_quantisation_is_refused(edit, message):
    with pytest.raises(QuantizationError, match=r"^tiny.tflite: " + message + r".*re-quantise the model"):
        read_model_bytes(_edited(edit), source="tiny.tflite")


def _add_second_conv(m, inputs, outputs):
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, inputs, outputs
    first = m.subgraphs[0].operators[0]
    op.builtinOptionsType, op.builtinOptions = first.builtinOptionsType, first.builtinOptions
    m.subgraphs[0].operators.append(op)


def _extra_activation(m):
    m.subgraphs[0].tensors.append(_tensor("extra", (1, 3, 3, 2), schema.TensorType.INT8, 0, [0.1], [0]))


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda m: (_extra_activation(m), setattr(m.subgraphs[0].operators[0], "inputs", [4, 1, 2])),
         r"operator 0 \(CONV_2D\) reads tensor 4 'extra' \[1, 3, 3, 2\] int8 before any operator writes it"),
        (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", [1]),
         r"operator 0 \(CONV_2D\) writes tensor 1 'weights' \[2, 1, 1, 2\] int8, a constant"),
        (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", [0]),
         r"operator 0 \(CONV_2D\) writes tensor 0 'input' \[1, 3, 3, 2\] int8, which is a graph input"),
        (lambda m: _add_second_conv(m, [0, 1, 2], [3]),
         r"operator 1 \(CONV_2D\) writes tensor 3 'output' \[1, 3, 3, 2\] int8, which is written by an earlier"),
        (lambda m: (_extra_activation(m), setattr(m.subgraphs[0], "outputs", [3, 4])),
         r"graph output tensor 4 'extra' \[1, 3, 3, 2\] int8 is never written by an operator"),
        (lambda m: (_extra_activation(m), _add_second_conv(m, [4, 1, 2], [4]), setattr(m.subgraphs[0], "outputs", [4])),
         r"operator 1 \(CONV_2D\) reads tensor 4 'extra' .* before any operator writes it"),
    ],
)  # fmt: skip
def test_operators_out_of_execution_order_are_refused(edit, message):
    with pytest.raises(MalformedModelError, match=r"^tiny.tflite: " + message):
        read_model_bytes(_edited(edit), source="tiny.tflite")


def test_hostile_names_cannot_break_out_of_c_comments():
    def edit(m):
        m.subgraphs[0].tensors[0].name = b"in*/ int evil; /*\n\x00put"
        m.subgraphs[0].tensors[3].name = b"\xff\xfe*//**/"

    graph = read_model_bytes(_edited(edit), source="tiny.tflite")
    assert graph.tensor(0).name == "in? int evil; ???put"
    assert "*/" not in graph.tensor(3).name and "/*" not in graph.tensor(3).name
    header = generate(graph).files["model.h"]
    assert "int evil" in header and header.count("/*") == header.count("*/")


def test_corrupt_builtin_options_are_a_malformed_model():
    def edit(m):
        op = m.subgraphs[0].operators[0]
        op.builtinOptionsType = schema.BuiltinOptions.ReshapeOptions
        op.builtinOptions = schema.ReshapeOptionsT()
        op.builtinOptions.newShape = [1, 2, 3]

    data = bytearray(_edited(edit))
    model = schema.Model.GetRootAs(bytes(data), 0)
    options = model.Subgraphs(0).Operators(0).BuiltinOptions()
    vtable = options.Pos - struct.unpack_from("<i", data, options.Pos)[0]
    field = options.Pos + struct.unpack_from("<H", data, vtable + 4)[0]  # slot 0: new_shape
    struct.pack_into("<I", data, field + struct.unpack_from("<I", data, field)[0], 10**9)
    expected = r"^x.tflite: corrupt or truncated flatbuffer: operator 0 \(CONV_2D\) builtin options"
    with pytest.raises(MalformedModelError, match=expected):
        read_model_bytes(bytes(data), source="x.tflite")


def test_size_limits_are_checked_before_reading(tmp_path):
    big = tmp_path / "big.tflite"
    with open(big, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: costs no disk, and must not be read
    start = time.perf_counter()
    with pytest.raises(UnsupportedModelError, match=r"big.tflite: the file is 314572800 bytes, more than the"):
        read_model(big)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(UnsupportedModelError, match=r"more than the 100 bytes"):
        read_model_bytes(_pack(_tiny_tree()), source="tiny.tflite", limits=ReadLimits(max_file_bytes=100))
    expected = r"^tiny.tflite: subgraph 0 tensors has 4 entries, more than the 3 a microcontroller model can have"
    with pytest.raises(MalformedModelError, match=expected):
        read_model_bytes(_pack(_tiny_tree()), source="tiny.tflite", limits=ReadLimits(max_tensors=3))


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=600))
def test_random_bytes_after_the_identifier_are_refused_cleanly(tail):
    data = tail[:4] + b"TFL3" + tail[4:]
    try:
        read_model_bytes(data, source="random.tflite")
    except TinyEngineError as exc:
        assert str(exc).startswith("random.tflite: ")


def _reference_ir(data: bytes):
    """What the schema module's object API reads: the reader must see exactly the same model."""
    tree = schema.ModelT.InitFromPackedBuf(data, 0)
    subgraph = tree.subgraphs[0]
    tensors = []
    for t in subgraph.tensors:
        q = t.quantization
        scales = None if q is None or q.scale is None or len(q.scale) == 0 else [float(np.float32(s)) for s in q.scale]
        data_bytes = tree.buffers[t.buffer].data
        tensors.append(
            (list(t.shape if t.shape is not None else []), int(t.type), scales,
             None if scales is None else [int(z) for z in q.zeroPoint],
             None if data_bytes is None or len(data_bytes) == 0 else bytes(np.asarray(data_bytes, np.uint8)))
        )  # fmt: skip
    ops = [(int(op.opcodeIndex), list(op.inputs), list(op.outputs)) for op in subgraph.operators]
    return tensors, ops, list(subgraph.inputs), list(subgraph.outputs)


@pytest.mark.parametrize("name", ["tiny", *MODEL_NAMES])
def test_reader_agrees_with_the_schema_object_api(name):
    data = _pack(_tiny_tree()) if name == "tiny" else shared_model(name).read_bytes()
    graph = read_model_bytes(data)
    tensors, ops, inputs, outputs = _reference_ir(data)
    type_codes = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    assert (list(graph.inputs), list(graph.outputs)) == (inputs, outputs)
    for tensor, (shape, type_code, scales, zero_points, raw) in zip(graph.tensors, tensors, strict=True):
        assert list(tensor.shape) == shape and tensor.dtype.name == type_codes[type_code]
        assert (None if tensor.quant is None else list(tensor.quant.scales)) == scales
        assert (None if tensor.quant is None else list(tensor.quant.zero_points)) == zero_points
        assert (None if tensor.data is None else tensor.data.tobytes()) == raw
    assert [(op.inputs, op.outputs) for op in graph.operators] == [(tuple(i), tuple(o)) for _, i, o in ops]
