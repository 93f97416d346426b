"""Mutations of TFLite flatbuffers: raw bytes, and model structure through the schema object API.

Byte mutations find what a corrupted or truncated file does to the flatbuffer walker
(they prefer the structural bytes: vtables, offsets and vector lengths, not weights).
Structure mutations keep the file a valid flatbuffer and change what it says: shapes,
dtypes, buffers, quantisation arrays, operator inputs and outputs, opcode indices,
builtin options. Both are pure functions of (seed model, ``random.Random``), so a failing
input is reproducible from its seed.
"""

from __future__ import annotations

import copy
import random
import struct
from collections.abc import Callable, Sequence

import numpy as np

from tests.fuzz.tiny_model import pack
from tinyengine_gen.frontend.schema import schema

__all__ = ["Seed", "byte_mutation", "structure_mutation"]

_INTERESTING_U32 = (
    0, 1, 2, 3, 4, 7, 8, 16, 255, 256, 0x7FFF, 0xFFFF, 0x10000, 10**6, 10**9, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
)  # fmt: skip
_INTERESTING_DIMS = (0, 1, 1, 2, 3, 4, 5, 7, 8, 16, 31, 64, 255, 1024, 65535, 10**6, 2**31 - 1, -1, -2, -(2**31))
_INTERESTING_INTS = (0, 1, 2, 3, -1, -2, 4, 5, 7, 8, 100, 127, 128, 255, 256, 2**15, 2**31 - 1, -(2**31))
_INTERESTING_SCALES = (
    0.0, -1.0, 1e-30, 1e-12, 1e30, 3.4e38, float("nan"), float("inf"), 1e-40, 1.4e-45, 1.0, 0.5, 2**-31,
)  # fmt: skip
_PLAUSIBLE_SCALES = _INTERESTING_SCALES[10:]
_INTERESTING_ZERO_POINTS = (0, -128, 127, 128, -129, 255, 256, -(2**31), 2**31, 2**62)


class Seed:
    """A valid model to mutate: its bytes, the byte ranges that are not weights, and its unpacked tree."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data
        self.tree = schema.ModelT.InitFromPackedBuf(data, 0)
        self.structural = _structural_ranges(data)


def _structural_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges outside every buffer's payload (where offsets, vtables and lengths live)."""
    model = schema.Model.GetRootAs(data, 0)
    payloads = []
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        length = buffer.DataLength()
        if length > 0:
            start = buffer._tab.Vector(buffer._tab.Offset(4))
            payloads.append((start, start + length))
    ranges, position = [], 0
    for start, end in sorted(payloads):
        if start > position:
            ranges.append((position, start))
        position = max(position, end)
    if position < len(data):
        ranges.append((position, len(data)))
    return ranges


# --- byte level -------------------------------------------------------------------------


def _position(seed: Seed, rng: random.Random, width: int, size: int) -> int:
    """An aligned position for a ``width``-byte write into data now ``size`` bytes long."""
    if rng.random() < 0.85 and seed.structural:
        start, end = rng.choice(seed.structural)
        position = rng.randrange(start, max(end - width, start + 1))
    else:
        position = rng.randrange(0, max(size - width, 1))
    position = min(position, size - width)
    return max(position - position % width, 0)


def byte_mutation(seed: Seed, rng: random.Random, others: Sequence[Seed] = ()) -> bytes:
    """``seed.data`` with one to three byte-level corruptions."""
    data = bytearray(seed.data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.randrange(8)
        if kind == 0:  # interesting 32-bit value at an aligned offset: offsets, lengths, soffsets
            position = _position(seed, rng, 4, len(data))
            data[position : position + 4] = struct.pack("<I", rng.choice(_INTERESTING_U32))
        elif kind == 1:  # small signed delta to an aligned 32-bit value
            position = _position(seed, rng, 4, len(data))
            (value,) = struct.unpack_from("<I", data, position)
            delta = rng.choice((-8, -4, -2, -1, 1, 2, 4, 8))
            data[position : position + 4] = struct.pack("<I", (value + delta) % 2**32)
        elif kind == 2:  # 16-bit value: vtable sizes and field offsets
            position = _position(seed, rng, 2, len(data))
            data[position : position + 2] = struct.pack("<H", rng.choice((0, 1, 2, 3, 4, 6, 0xFF, 0x7FFF, 0xFFFF)))
        elif kind == 3:  # flip a bit
            position = _position(seed, rng, 1, len(data))
            data[position] ^= 1 << rng.randrange(8)
        elif kind == 4:  # random byte
            position = _position(seed, rng, 1, len(data))
            data[position] = rng.randrange(256)
        elif kind == 5:  # truncate
            del data[rng.randrange(8, len(data)) :]
        elif kind == 6:  # insert or delete a few bytes (shifts every later offset)
            position = _position(seed, rng, 1, len(data))
            if rng.random() < 0.5:
                data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
            else:
                del data[position : position + rng.randrange(1, 9)]
        else:  # splice a chunk of another model over this one
            donor = rng.choice(others or (seed,)).data
            length = rng.randrange(4, 64)
            source = rng.randrange(0, max(len(donor) - length, 1))
            position = _position(seed, rng, 1, len(data))
            data[position : position + length] = donor[source : source + length]
        if len(data) < 16:
            break
    return bytes(data)


# --- structure level --------------------------------------------------------------------


def structure_mutation(seed: Seed, rng: random.Random) -> bytes:
    """``seed`` re-packed with one to three of its fields changed."""
    tree = copy.deepcopy(seed.tree)
    for _ in range(rng.choice((1, 1, 2, 3))):
        rng.choice(_STRUCTURE_MUTATIONS)(tree, rng)
    return pack(tree)


def _subgraph(tree):
    return tree.subgraphs[0]


def _some_tensor(tree, rng):
    return rng.choice(_subgraph(tree).tensors)


def _some_operator(tree, rng):
    ops = _subgraph(tree).operators or []
    return rng.choice(ops) if ops else None


def _index(rng: random.Random, count: int) -> int:
    return rng.choice((-2, -1, 0, count - 1, count, count + 1, 2**31 - 1, rng.randrange(max(count, 1))))


def _mutate_shape(tree, rng):
    activations = [t for t in _subgraph(tree).tensors if not _has_data(tree, t)]
    tensor = rng.choice(activations) if activations and rng.random() < 0.7 else _some_tensor(tree, rng)
    shape = [int(d) for d in (tensor.shape if tensor.shape is not None else [])]
    choice = rng.randrange(4)
    if choice == 0 and shape:
        shape[rng.randrange(len(shape))] = rng.choice(_INTERESTING_DIMS)
    elif choice == 1:
        shape.append(rng.choice(_INTERESTING_DIMS[:10]))
    elif choice == 2 and shape:
        shape.pop(rng.randrange(len(shape)))
    else:
        shape = [rng.choice(_INTERESTING_DIMS[:10]) for _ in range(rng.randrange(0, 10))]
    tensor.shape = np.asarray(shape, dtype=np.int32)


def _has_data(tree, tensor) -> bool:
    return 0 <= tensor.buffer < len(tree.buffers) and tree.buffers[tensor.buffer].data is not None


def _mutate_type(tree, rng):
    supported = (schema.TensorType.INT8, schema.TensorType.INT16, schema.TensorType.INT32, schema.TensorType.FLOAT32)
    _some_tensor(tree, rng).type = rng.choice(supported) if rng.random() < 0.6 else rng.randrange(-2, 20)


def _mutate_buffer_index(tree, rng):
    _some_tensor(tree, rng).buffer = _index(rng, len(tree.buffers)) % 2**32


def _mutate_buffer_data(tree, rng):
    buffer = rng.choice(tree.buffers)
    data = np.asarray(buffer.data if buffer.data is not None else [], dtype=np.uint8)
    choice = rng.randrange(5)
    if choice == 0:
        data = data[: rng.randrange(len(data) + 1)]
    elif choice == 1:
        data = np.concatenate([data, np.full(rng.choice((1, 3, 4, 64)), 7, np.uint8)])
    elif choice == 2:
        data = np.frombuffer(rng.randbytes(len(data)), dtype=np.uint8)
    elif choice == 3:
        data = np.zeros(0, np.uint8)
    else:  # extreme values: int32 biases of +-2^31, int8 of -128
        data = np.full(len(data), rng.choice((0x00, 0x80, 0x7F, 0xFF)), np.uint8)
    buffer.data = data if len(data) else None


def _mutate_quantization(tree, rng):
    tensor = _some_tensor(tree, rng)
    q = tensor.quantization
    if q is None or rng.random() < 0.1:
        tensor.quantization = None if q is not None else schema.QuantizationParametersT()
        return
    scales = list(q.scale if q.scale is not None else [])
    zeros = list(q.zeroPoint if q.zeroPoint is not None else [])
    choice = rng.randrange(6)
    if choice == 0:
        scales = scales + [rng.choice(_INTERESTING_SCALES)] if rng.random() < 0.5 else scales[:-1]
    elif choice == 1:
        zeros = zeros + [0] if rng.random() < 0.5 else zeros[:-1]
    elif choice == 2 and scales:
        scales[rng.randrange(len(scales))] = rng.choice(_INTERESTING_SCALES)
    elif choice == 3 and zeros:
        zeros[rng.randrange(len(zeros))] = rng.choice(_INTERESTING_ZERO_POINTS)
    elif choice == 4:
        q.quantizedDimension = rng.choice((-1, 0, 1, 2, 3, 4, 100))
    else:
        count = rng.choice((1, 2, 3, 8, 16))
        scales, zeros = [rng.choice(_PLAUSIBLE_SCALES)] * count, [0] * count
    q.scale = np.asarray(scales, dtype=np.float32)
    q.zeroPoint = np.asarray(zeros, dtype=np.int64)


def _mutate_op_tensors(tree, rng):
    op = _some_operator(tree, rng)
    if op is None:
        return
    count = len(_subgraph(tree).tensors)
    field = rng.choice(("inputs", "outputs"))
    values = [int(v) for v in (getattr(op, field) if getattr(op, field) is not None else [])]
    choice = rng.randrange(5)
    if choice == 0 and values:
        values[rng.randrange(len(values))] = _index(rng, count)
    elif choice == 1:
        values.append(_index(rng, count))
    elif choice == 2 and values:
        values.pop(rng.randrange(len(values)))
    elif choice == 3 and len(values) > 1:
        rng.shuffle(values)
    elif values:  # read or write another existing tensor
        values[rng.randrange(len(values))] = rng.randrange(count)
    setattr(op, field, np.asarray(values, dtype=np.int32))


def _mutate_graph_io(tree, rng):
    subgraph = _subgraph(tree)
    field = rng.choice(("inputs", "outputs"))
    values = [int(v) for v in getattr(subgraph, field)]
    if rng.random() < 0.3:
        values = values[:-1] if rng.random() < 0.5 else values + [rng.randrange(len(subgraph.tensors))]
    elif values:
        values[rng.randrange(len(values))] = _index(rng, len(subgraph.tensors))
    setattr(subgraph, field, np.asarray(values, dtype=np.int32))


def _mutate_opcode(tree, rng):
    choice = rng.randrange(3)
    op = _some_operator(tree, rng)
    if choice == 0 and op is not None:
        op.opcodeIndex = _index(rng, len(tree.operatorCodes)) % 2**32
    else:
        code = rng.choice(tree.operatorCodes)
        names = sorted(k for k in vars(schema.BuiltinOperator) if not k.startswith("_"))
        value = getattr(schema.BuiltinOperator, rng.choice(names)) if rng.random() < 0.8 else rng.randrange(-5, 400)
        code.builtinCode = value
        code.deprecatedBuiltinCode = max(min(value, 127), -128) if rng.random() < 0.5 else 0


def _mutate_options(tree, rng):
    op = _some_operator(tree, rng)
    if op is None:
        return
    if op.builtinOptions is None or rng.random() < 0.15:
        op.builtinOptionsType = rng.randrange(0, 130)  # a mismatched union type
        if op.builtinOptions is None:
            op.builtinOptionsType = 0
        return
    fields = sorted(vars(op.builtinOptions))
    if not fields:
        return
    field = rng.choice(fields)
    value = getattr(op.builtinOptions, field)
    if isinstance(value, (np.ndarray, list)):
        values = [int(v) for v in value] + ([rng.choice(_INTERESTING_INTS)] if rng.random() < 0.3 else [])
        if values:
            values[rng.randrange(len(values))] = rng.choice(_INTERESTING_INTS[:14])
        setattr(op.builtinOptions, field, np.asarray(values, dtype=np.int32))
    elif isinstance(value, bool):
        setattr(op.builtinOptions, field, not value)
    elif isinstance(value, float):
        setattr(op.builtinOptions, field, rng.choice(_INTERESTING_SCALES))
    elif isinstance(value, int):
        setattr(op.builtinOptions, field, rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 100, 127, -1, -128)))


def _mutate_activation_scale(tree, rng):
    """A degenerate scale on a tensor an operator writes (0, denormal, huge, NaN): what
    the requantisation multipliers and the fused-activation bounds are computed from."""
    written = [t for op in (_subgraph(tree).operators or []) for t in (op.outputs if op.outputs is not None else [])]
    tensors = _subgraph(tree).tensors
    candidates = [tensors[t] for t in written if 0 <= t < len(tensors) and tensors[t].quantization is not None]
    if not candidates:
        return
    q = rng.choice(candidates).quantization
    if q.scale is not None and len(q.scale):
        scale = np.asarray(q.scale, dtype=np.float32).copy()
        scale[rng.randrange(len(scale))] = rng.choice(_INTERESTING_SCALES[:10])
        q.scale = scale


def _drop_options(tree, rng):
    """No builtin options at all: TFLite Micro reads them as zeros (stride 0, beta 0)."""
    op = _some_operator(tree, rng)
    if op is not None:
        op.builtinOptionsType, op.builtinOptions = 0, None


def _zero_stride_or_dilation(tree, rng):
    op = _some_operator(tree, rng)
    options = op.builtinOptions if op is not None else None
    fields = sorted(f for f in vars(options) if "stride" in f.lower() or "dilation" in f.lower()) if options else []
    if fields:
        setattr(options, rng.choice(fields), rng.choice((0, 0, -1)))


def _strip_op_inputs(tree, rng):
    """An operator with no inputs, or every input out of range."""
    op = _some_operator(tree, rng)
    if op is None:
        return
    count = len(_subgraph(tree).tensors)
    values = [] if rng.random() < 0.5 else [rng.choice((count, count + 7, 2**31 - 1, -5)) for _ in range(rng.randrange(1, 4))]
    op.inputs = np.asarray(values, dtype=np.int32)


def _mutate_operator_order(tree, rng):
    ops = _subgraph(tree).operators or []
    if len(ops) < 2:
        return
    choice = rng.randrange(3)
    i, j = rng.randrange(len(ops)), rng.randrange(len(ops))
    if choice == 0:
        ops[i], ops[j] = ops[j], ops[i]
    elif choice == 1:
        ops.pop(i)
    else:
        ops.insert(j, copy.deepcopy(ops[i]))


_STRUCTURE_MUTATIONS: tuple[Callable, ...] = (
    _mutate_shape,
    _mutate_shape,
    _mutate_type,
    _mutate_buffer_index,
    _mutate_buffer_data,
    _mutate_quantization,
    _mutate_quantization,
    _mutate_op_tensors,
    _mutate_op_tensors,
    _mutate_graph_io,
    _mutate_opcode,
    _mutate_options,
    _mutate_options,
    _mutate_operator_order,
    _mutate_activation_scale,
    _drop_options,
    _zero_stride_or_dilation,
    _strip_op_inputs,
)
