"""Read a TFLite flatbuffer into the compiler's IR, validating everything before use.

A .tflite file is untrusted input: it may be truncated, corrupted or made to attack the
tools that read it. Nothing here trusts an offset, length, index or size from the file:

* structure (offsets, vtables, vector lengths) is checked by the bounds-checked walker in
  :mod:`tinyengine_gen.frontend.verifier` before each read, so a vector claiming 10^9 entries or
  a tensor claiming a gigabyte fails at once instead of looping or allocating;
* content (tensor, buffer, opcode and operator indices, shapes, dtypes, quantisation
  array lengths and zero-point ranges, constant data lengths, the order operators write
  and read tensors) is checked here, against :class:`~tinyengine_gen.frontend.verifier.ReadLimits`.

Only the builtin-options table of each operator is unpacked with the generated schema
module's object API (its vectors are numpy views, so a bad length fails fast). Every
problem raises a :mod:`tinyengine_gen.errors` type whose message names the file and the
tensor, operator or table, and says what to do.
"""

from __future__ import annotations

import os
import re
import struct
from typing import Any

import numpy as np
from flatbuffers.table import Table as _SchemaTable

from tinyengine_gen.errors import MalformedModelError, QuantizationError, UnsupportedModelError
from tinyengine_gen import ops  # noqa: F401  (registers every operator, for the support check)
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.base import supported_opcodes, unsupported_operators_error
from tinyengine_gen.printable import printable
from tinyengine_gen.frontend.schema import BUILTIN_OPERATOR_NAMES, TENSOR_TYPE_NAMES, schema
from tinyengine_gen.frontend.verifier import FlatBuffer, ReadLimits, Table

__all__ = ["read_model", "read_model_bytes", "MAX_TENSOR_BYTES", "ReadLimits"]

#: A tensor larger than this cannot belong to a microcontroller model; refusing it early
#: stops a corrupt or hostile file from making us allocate gigabytes.
MAX_TENSOR_BYTES = ReadLimits().max_tensor_bytes

_SCHEMA_TYPE_TO_DTYPE = {
    "INT8": DType.INT8,
    "UINT8": DType.UINT8,
    "INT16": DType.INT16,
    "INT32": DType.INT32,
    "INT64": DType.INT64,
    "FLOAT32": DType.FLOAT32,
    "FLOAT16": DType.FLOAT16,
    "BOOL": DType.BOOL,
}

#: Zero points must be representable in the tensor's own integer type.
_ZERO_POINT_RANGE = {
    DType.INT8: (-128, 127),
    DType.UINT8: (0, 255),
    DType.INT16: (-32768, 32767),
    DType.INT32: (-(2**31), 2**31 - 1),
}

# Field slots of the tables we read, numbered as in TFLite's schema.fbs. Flatbuffers'
# schema-evolution rules (fields are only appended) keep them stable across versions.
_MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS, _MODEL_BUFFERS = 1, 2, 4
_OPCODE_DEPRECATED_BUILTIN, _OPCODE_CUSTOM, _OPCODE_BUILTIN = 0, 1, 3
_SUBGRAPH_TENSORS, _SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 0, 1, 2, 3
_TENSOR_SHAPE, _TENSOR_TYPE, _TENSOR_BUFFER, _TENSOR_NAME, _TENSOR_QUANT, _TENSOR_SPARSITY = 0, 1, 2, 3, 4, 6
_TENSOR_IS_VARIABLE = 5
_QUANT_SCALE, _QUANT_ZERO_POINT, _QUANT_DIMENSION = 2, 3, 6
_OP_OPCODE_INDEX, _OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS_TYPE, _OP_OPTIONS = 0, 1, 2, 3, 4
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2

_REEXPORT = " The file is corrupt or was edited inconsistently; re-export it with the TFLite converter."

#: Exceptions the generated options unpacker raises on bytes the verifier cannot vouch for.
_UNPACK_ERRORS = (struct.error, ValueError, TypeError, OverflowError, IndexError)


def read_model(path: str | os.PathLike[str], limits: ReadLimits | None = None) -> Graph:
    """Read the file at ``path``; raises MalformedModelError naming it if it cannot."""
    path = os.fspath(path)
    shown = printable(path)
    limits = limits or ReadLimits()
    try:
        size = os.path.getsize(path)
        if size > limits.max_file_bytes:
            raise _too_big(shown, size, limits)
        with open(path, "rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise MalformedModelError(f"{shown}: cannot read the model file ({exc.strerror}).") from exc
    return read_model_bytes(data, source=shown, limits=limits)



def read_model_bytes(data: bytes, source: str = "<memory>", limits: ReadLimits | None = None) -> Graph:
    """Parse and validate flatbuffer bytes into a Graph."""
    limits = limits or ReadLimits()
    data = bytes(data)
    if len(data) < 8:
        raise MalformedModelError(f"{source}: file is {len(data)} bytes, too short to be a TFLite model.")
    if data[4:8] != b"TFL3":
        raise MalformedModelError(
            f"{source}: not a TFLite flatbuffer (missing the 'TFL3' identifier); pass a .tflite file."
        )
    if len(data) > limits.max_file_bytes:
        raise _too_big(source, len(data), limits)
    return _ModelReader(FlatBuffer(data, source), limits).graph()


def _too_big(source: str, size: int, limits: ReadLimits) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"{source}: the file is {size} bytes, more than the {limits.max_file_bytes} bytes any microcontroller "
        "model needs; pass an int8 model for a microcontroller."
    )


class _ModelReader:
    def __init__(self, buf: FlatBuffer, limits: ReadLimits) -> None:
        self._buf = buf
        self._limits = limits
        self._source = buf.source

    def _fail(self, message: str) -> MalformedModelError:
        if "re-export" not in message:
            message += _REEXPORT
        return MalformedModelError(f"{self._source}: {message}")

    def graph(self) -> Graph:
        limits = self._limits
        model = self._buf.root("model")
        subgraphs = model.tables(_MODEL_SUBGRAPHS, "subgraphs", "subgraph", limits.max_opcodes)
        subgraph = subgraphs[0] if subgraphs else None
        raw_codes = model.tables(_MODEL_OPERATOR_CODES, "operator_codes", "operator code", limits.max_opcodes)
        opcodes = [self._opcode_name(i, code) for i, code in enumerate(raw_codes)]
        raw_ops = subgraph.tables(_SUBGRAPH_OPERATORS, "operators", "operator", limits.max_operators) if subgraph else []
        # The support check comes first: an unsupported operator (an LSTM's state tensors, a
        # WHILE loop's subgraphs) explains every later oddity of the file better than a data-flow
        # or structure message would.
        self._check_supported(raw_ops, opcodes)
        if subgraph is None or len(subgraphs) != 1:
            raise UnsupportedModelError(
                f"{self._source}: the model has {len(subgraphs)} subgraphs; only single-subgraph "
                "models (no control flow) are supported."
            )
        buffers = model.tables(_MODEL_BUFFERS, "buffers", "buffer", limits.max_buffers)
        raw_tensors = subgraph.tables(_SUBGRAPH_TENSORS, "tensors", "tensor", limits.max_tensors)
        tensors = tuple(self._tensor(i, t, buffers) for i, t in enumerate(raw_tensors))
        operators = tuple(self._operator(i, op, opcodes, len(tensors)) for i, op in enumerate(raw_ops))
        inputs = self._tensor_list(subgraph, _SUBGRAPH_INPUTS, len(tensors), "subgraph inputs")
        outputs = self._tensor_list(subgraph, _SUBGRAPH_OUTPUTS, len(tensors), "subgraph outputs")
        if not inputs or not outputs:
            raise self._fail("the subgraph declares no inputs or no outputs.")
        graph = Graph(tensors=tensors, operators=operators, inputs=inputs, outputs=outputs, source=self._source)
        _check_dataflow(graph)
        return graph

    def _check_supported(self, raw_ops: list[Table], opcodes: list[str]) -> None:
        """One error naming every operator type of the main subgraph without a planner here."""
        supported = set(supported_opcodes())
        found: dict[str, list[int]] = {}
        for index, raw in enumerate(raw_ops):
            opcode_index = int(raw.scalar(_OP_OPCODE_INDEX, "I", 0, "opcode_index"))
            if not 0 <= opcode_index < len(opcodes):
                raise self._fail(f"operator {index} uses opcode index {opcode_index}; the model has {len(opcodes)}.")
            if opcodes[opcode_index] not in supported:
                found.setdefault(opcodes[opcode_index], []).append(index)
        if found:
            raise unsupported_operators_error(self._source, found)

    def _tensor_list(self, table: Table, slot: int, count: int, what: str) -> tuple[int, ...]:
        values = table.numbers(slot, "int32", what, self._limits.max_io)
        result = tuple(int(v) for v in (values if values is not None else ()))
        for v in result:
            if not 0 <= v < count:
                raise self._fail(f"{what} name tensor {v}, but the model has {count} tensors.")
        return result

    def _opcode_name(self, index: int, code: Table) -> str:
        deprecated = int(code.scalar(_OPCODE_DEPRECATED_BUILTIN, "b", 0, "deprecated_builtin_code"))
        builtin = max(int(code.scalar(_OPCODE_BUILTIN, "i", 0, "builtin_code")), deprecated)
        name = BUILTIN_OPERATOR_NAMES.get(builtin)
        if name is None:
            raise self._fail(f"operator code {index} has unknown builtin code {builtin}.")
        if name == "CUSTOM":
            custom = code.string(_OPCODE_CUSTOM, "custom_code", self._limits.max_name_bytes)
            return f"CUSTOM:{_clean_name(custom) if custom else '?'}"
        return name

    def _tensor(self, index: int, raw: Table, buffers: list[Table]) -> Tensor:
        limits = self._limits
        raw_name = raw.string(_TENSOR_NAME, "name", limits.max_name_bytes)
        name = _clean_name(raw_name) if raw_name else f"tensor_{index}"
        type_code = int(raw.scalar(_TENSOR_TYPE, "b", 0, "type"))
        type_name = TENSOR_TYPE_NAMES.get(type_code, f"type {type_code}")
        dtype = _SCHEMA_TYPE_TO_DTYPE.get(type_name)
        if dtype is None:
            raise UnsupportedModelError(
                f"{self._source}: tensor {index} '{name}' has dtype {type_name}; supported dtypes are "
                + ", ".join(sorted(_SCHEMA_TYPE_TO_DTYPE))
                + "."
            )
        dims = raw.numbers(_TENSOR_SHAPE, "int32", "shape", limits.max_io)
        shape = tuple(int(d) for d in (dims if dims is not None else ()))
        if len(shape) > limits.max_rank:
            raise UnsupportedModelError(
                f"{self._source}: tensor {index} '{name}' has rank {len(shape)}; at most {limits.max_rank} "
                "dimensions are supported."
            )
        if any(d < 0 for d in shape):
            raise UnsupportedModelError(
                f"{self._source}: tensor {index} '{name}' has dynamic shape {list(shape)}; "
                "give the model a fixed batch and input size before converting."
            )
        num_elements = 1
        for d in shape:  # exact Python integers: no int64 overflow on a hostile shape
            num_elements *= d
        nbytes = num_elements * dtype.itemsize
        if nbytes > limits.max_tensor_bytes:
            raise self._fail(f"tensor {index} '{name}' claims {nbytes} bytes, more than any microcontroller model.")
        if raw.has(_TENSOR_SPARSITY):
            raise UnsupportedModelError(
                f"{self._source}: tensor {index} '{name}' is stored sparse; convert the model without sparsity."
            )
        buffer_index = int(raw.scalar(_TENSOR_BUFFER, "I", 0, "buffer"))
        data = self._buffer(index, name, buffer_index, buffers, dtype, shape, nbytes)
        quant = self._quant(index, name, raw.table(_TENSOR_QUANT, "quantization"), dtype, shape)
        is_variable = bool(raw.scalar(_TENSOR_IS_VARIABLE, "B", 0, "is_variable")) and data is None
        return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=data, is_variable=is_variable)

    def _buffer(
        self,
        index: int,
        name: str,
        buffer_index: int,
        buffers: list[Table],
        dtype: DType,
        shape: tuple[int, ...],
        nbytes: int,
    ) -> np.ndarray | None:
        if not 0 <= buffer_index < len(buffers):
            raise self._fail(f"tensor {index} '{name}' refers to buffer {buffer_index}; the model has {len(buffers)}.")
        buffer = buffers[buffer_index]
        offset = int(buffer.scalar(_BUFFER_OFFSET, "Q", 0, "offset"))
        if offset > 1:  # data stored after the flatbuffer (models over 2 GB); 1 is a placeholder
            start, size = offset, int(buffer.scalar(_BUFFER_SIZE, "Q", 0, "size"))
            if start + size > self._buf.size:
                raise self._fail(f"tensor {index} '{name}': its buffer lies past the end of the file (truncated?).")
        else:
            found = buffer.vector(_BUFFER_DATA, 1, "data", self._limits.max_tensor_bytes)
            start, size = found if found is not None else (0, 0)
        if size == 0:
            return None
        if size != nbytes:
            raise self._fail(
                f"tensor {index} '{name}' has {size} bytes of data but shape {list(shape)} "
                f"of {dtype.value} needs {nbytes}."
            )
        stored = dtype.numpy.newbyteorder("<")  # flatbuffers are little endian
        array = np.frombuffer(self._buf.data, dtype=stored, count=nbytes // dtype.itemsize, offset=start)
        array = array.astype(dtype.numpy).reshape(shape)
        array.setflags(write=False)
        return array

    def _quant(
        self, index: int, name: str, raw: Table | None, dtype: DType, shape: tuple[int, ...]
    ) -> Quantization | None:
        if raw is None:
            return None
        limits = self._limits
        scales = raw.numbers(_QUANT_SCALE, "float32", "quantization scale", limits.max_tensor_bytes // 4)
        if scales is None or len(scales) == 0:
            return None
        where = f"{self._source}: tensor {index} '{name}'"
        advice = "re-quantise the model with the TFLite converter."
        zero_points = raw.numbers(_QUANT_ZERO_POINT, "int64", "quantization zero_point", limits.max_tensor_bytes // 8)
        if zero_points is None:
            zero_points = np.zeros(len(scales), dtype=np.int64)
        if len(zero_points) != len(scales):
            raise QuantizationError(f"{where} has {len(scales)} scales but {len(zero_points)} zero points; {advice}")
        axis = int(raw.scalar(_QUANT_DIMENSION, "i", 0, "quantized_dimension"))
        if len(scales) > 1 and len(shape) == 1 and len(scales) == shape[0]:
            # Older converters wrote the filter's quantized_dimension (3 for a depthwise
            # filter) on the 1-D bias too, as in TFLM's person_detect.tflite. A vector has
            # only axis 0, and TFLite Micro never reads a bias's quantized_dimension.
            axis = 0
        if len(scales) > 1:
            if not 0 <= axis < len(shape):
                raise QuantizationError(
                    f"{where} is quantised per channel on dimension {axis}, outside its shape {list(shape)}; {advice}"
                )
            if shape[axis] != len(scales):
                raise QuantizationError(
                    f"{where} has {len(scales)} scales for {shape[axis]} channels on dimension {axis}; {advice}"
                )
        if not np.all(np.isfinite(scales)):
            raise QuantizationError(f"{where} has a scale that is not a finite number; {advice}")
        low, high = _ZERO_POINT_RANGE.get(dtype, (-(2**63), 2**63 - 1))
        if len(zero_points) and not (low <= int(zero_points.min()) and int(zero_points.max()) <= high):
            raise QuantizationError(
                f"{where} has zero points outside [{low}, {high}], the range of {dtype.value}; {advice}"
            )
        return Quantization(
            scales=tuple(float(np.float32(s)) for s in scales),
            zero_points=tuple(int(z) for z in zero_points),
            axis=axis,
        )

    def _operator(self, index: int, raw: Table, opcodes: list[str], num_tensors: int) -> Operator:
        opcode_index = int(raw.scalar(_OP_OPCODE_INDEX, "I", 0, "opcode_index"))
        if not 0 <= opcode_index < len(opcodes):
            raise self._fail(f"operator {index} uses opcode index {opcode_index}; the model has {len(opcodes)}.")
        opcode = opcodes[opcode_index]
        ins = raw.numbers(_OP_INPUTS, "int32", "inputs", self._limits.max_io)
        outs = raw.numbers(_OP_OUTPUTS, "int32", "outputs", self._limits.max_io)
        inputs = tuple(int(v) for v in (ins if ins is not None else ()))
        outputs = tuple(int(v) for v in (outs if outs is not None else ()))
        for v in inputs + outputs:
            if not -1 <= v < num_tensors:
                raise self._fail(f"operator {index} ({opcode}) names tensor {v}; the model has {num_tensors}.")
        if any(v < 0 for v in outputs):
            raise self._fail(f"operator {index} ({opcode}) has an omitted output.")
        options = self._options(index, opcode, raw)
        return Operator(index=index, opcode=opcode, inputs=inputs, outputs=outputs, options=options)

    def _options(self, index: int, opcode: str, raw: Table) -> dict[str, Any]:
        options_type = int(raw.scalar(_OP_OPTIONS_TYPE, "B", 0, "builtin_options_type"))
        table = raw.table(_OP_OPTIONS, "builtin_options") if options_type else None
        if table is None:
            return {}
        try:
            unpacked = schema.BuiltinOptionsCreator(options_type, _SchemaTable(self._buf.data, table.position))
        except _UNPACK_ERRORS as exc:
            raise self._fail(
                f"corrupt or truncated flatbuffer: operator {index} ({opcode}) builtin options: "
                f"{type(exc).__name__}: {exc}; re-export the model with the TFLite converter."
            ) from exc
        options = _options_dict(unpacked)
        for key, value in options.items():
            if isinstance(value, tuple) and len(value) > self._limits.max_io:
                raise self._fail(f"operator {index} ({opcode}) option {key} has {len(value)} values (corrupt file?).")
        return options


def _check_dataflow(graph: Graph) -> None:
    """Operators must be stored in execution order: each tensor written once, before it is read.

    The memory planner derives every tensor's lifetime from this order, so a file that
    breaks it would make the generated code read arena bytes another tensor owns.
    """
    written = set(graph.inputs) | {t.index for t in graph.tensors if t.is_variable}  # state: valid from te_reset()
    for op in graph.operators:
        for t in op.inputs:
            tensor = graph.tensors[t] if t >= 0 else None
            if tensor is not None and not tensor.is_constant and tensor.num_elements and t not in written:
                raise MalformedModelError(
                    f"{graph.source}: {op.describe()} reads {tensor.describe()} before any operator writes it; "
                    "operators must be stored in execution order (re-export the model)."
                )
        for t in op.outputs:
            tensor = graph.tensors[t]
            if tensor.is_constant:
                raise MalformedModelError(
                    f"{graph.source}: {op.describe()} writes {tensor.describe()}, a constant.{_REEXPORT}"
                )
            if t in written:
                role = "a graph input" if t in graph.inputs else "written by an earlier operator"
                raise MalformedModelError(
                    f"{graph.source}: {op.describe()} writes {tensor.describe()}, which is {role}.{_REEXPORT}"
                )
            written.add(t)
    for t in graph.outputs:
        tensor = graph.tensors[t]
        if not tensor.is_constant and t not in written:
            raise MalformedModelError(
                f"{graph.source}: graph output {tensor.describe()} is never written by an operator.{_REEXPORT}"
            )


_COMMENT_DELIMITERS = re.compile(r"/\*|\*/")


def _clean_name(raw: bytes) -> str:
    """A printable one-line name: names end up in messages, report.json and C comments."""
    text = "".join(ch if ch.isprintable() else "?" for ch in raw.decode("utf-8", "replace"))
    while _COMMENT_DELIMITERS.search(text):
        text = _COMMENT_DELIMITERS.sub("?", text)
    return text


def _options_dict(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    result = {}
    for key, value in sorted(vars(options).items()):
        if isinstance(value, np.ndarray):
            value = tuple(value.tolist())
        result[key] = value
    return result
