"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8, int16 gates and cell): generated C and numpy against TFLite Micro.

The models are Keras LSTMs converted to int8 with a representative dataset, as a user
converts them (batch fixed: the converter cannot quantise an unfixed-batch LSTM). Each
comparison runs 12 inputs back to back in both runtimes, so the hidden and cell states
each invoke leaves behind are checked through the next outputs; te_reset() and TFLM's
reset clear them alike. The int16 sigmoid/tanh table the gates interpolate is checked
against TFLM's own int16 TANH and LOGISTIC kernels.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import full_int8, keras, tf
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema
from tinyengine_gen.memory.lifetimes import layout_memory
from tinyengine_gen.ops.lstm import plan_lstm
from tinyengine_gen.ops.lut16 import SIGMOID_TABLE, sigmoid_s16, tanh_s16

TRIALS = 12


@functools.cache
def lstm_model(
    units: int = 8,
    steps: int = 6,
    features: int = 4,
    batch: int = 1,
    return_sequences: bool = True,
    time_major: bool = False,
    stacked: bool = False,
    spread: float = 1.0,
) -> bytes:
    """A Keras LSTM (optionally two stacked, or time-major behind a transpose) as an int8 file."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((steps, features), batch_size=batch)
    x = inputs
    if time_major:
        x = keras.layers.Lambda(lambda t: tf.transpose(t, [1, 0, 2]))(x)
    if stacked:
        x = keras.layers.LSTM(units + 4, return_sequences=True, time_major=time_major)(x)
    x = keras.layers.LSTM(units, return_sequences=return_sequences, time_major=time_major)(x)
    model = keras.Model(inputs, x)
    rng = np.random.default_rng(1)

    def representative():
        for _ in range(16):
            yield [rng.uniform(-spread, spread, (batch, steps, features)).astype(np.float32)]

    return full_int8(tf.lite.TFLiteConverter.from_keras_model(model), representative).convert()


def _rewritten(model: bytes, *, cell_clip: float | None = None, cell_scale: float | None = None) -> bytes:
    """``model`` with its LSTM's cell clip option or cell state scale changed (TFLM reads both)."""
    import flatbuffers

    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    subgraph = tree.subgraphs[0]
    for op in subgraph.operators:
        if isinstance(op.builtinOptions, schema.UnidirectionalSequenceLSTMOptionsT):
            if cell_clip is not None:
                op.builtinOptions.cellClip = cell_clip
            if cell_scale is not None:
                subgraph.tensors[op.inputs[19]].quantization.scale = [cell_scale]
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _lstm_op(model: bytes):
    graph = read_model_bytes(model)
    return graph, next(op for op in graph.operators if op.opcode == "UNIDIRECTIONAL_SEQUENCE_LSTM")


def _constant_sequence(model: bytes, value: int) -> list[np.ndarray]:
    graph = read_model_bytes(model)
    return [np.full(graph.tensor(graph.inputs[0]).shape, value, np.int8)]


@pytest.mark.parametrize(
    "options",
    [
        {"units": 8, "return_sequences": True},
        pytest.param({"units": 16, "steps": 10, "features": 5, "return_sequences": False}, marks=pytest.mark.slow),
        pytest.param({"units": 6, "steps": 5, "features": 3, "batch": 2}, marks=pytest.mark.slow),
        pytest.param({"units": 6, "steps": 5, "features": 3, "batch": 2, "time_major": True}, marks=pytest.mark.slow),
        pytest.param({"units": 5, "steps": 7, "stacked": True, "return_sequences": False}, marks=pytest.mark.slow),
        pytest.param({"units": 12, "steps": 16, "spread": 6.0}, marks=pytest.mark.slow),
    ],
    ids=["seq8", "last16", "batch2", "time_major", "stacked", "long_wide_range"],
)
def test_keras_lstm_sequence_bit_exact(tmp_path, options):
    model = lstm_model(**options)
    graph, op = _lstm_op(model)
    assert op.options["timeMajor"] == options.get("time_major", False)
    comparison = compile_and_compare(model, tmp_path, trials=TRIALS, reference_trials=3)
    assert comparison.checked == TRIALS
    same = _constant_sequence(model, 90)
    first, second = comparison.host.run(same)[0], comparison.host.run(same)[0]
    assert not np.array_equal(first, second)  # the same input gives new outputs: the state carries over


@pytest.mark.parametrize(
    "cell_clip,cell_scale",
    [(0.3, 2.0**-13), pytest.param(0.3, None, marks=pytest.mark.slow), pytest.param(2.0, 2.0**-11, marks=pytest.mark.slow)],
)
def test_cell_clip_and_cell_scale(tmp_path, cell_clip, cell_scale):
    """A quantised clip inside the int16 range, and cell scales whose tanh input needs a
    right shift (2^-13) or a left shift (2^-11) instead of the converter's 2^-15."""
    model = _rewritten(lstm_model(spread=4.0), cell_clip=cell_clip, cell_scale=cell_scale)
    graph, op = _lstm_op(model)
    plan = plan_lstm(graph, op)
    assert plan.clip_cell == (cell_clip > 0)
    compile_and_compare(model, tmp_path, trials=TRIALS, reference_trials=4)


def test_reset_matches_tflm_and_state_is_never_shared(tmp_path):
    model = lstm_model()
    graph, op = _lstm_op(model)
    plan = plan_lstm(graph, op)
    hidden, cell = graph.tensor(plan.hidden), graph.tensor(plan.cell)
    assert hidden.is_variable and cell.is_variable and hidden.quant.zero_point != 0
    memory, offsets, scratch = layout_memory(graph, (plan,))
    for state in (hidden, cell):
        start, stop = offsets[state.index], offsets[state.index] + state.nbytes
        others = [(offsets[t], graph.tensor(t).nbytes) for t in offsets if t != state.index]
        others.append((scratch[0], plan.scratch_bytes))
        assert all(at + size <= start or at >= stop for at, size in others)
    comparison = compile_and_compare(model, tmp_path, trials=2, reference_trials=0)
    host, tflm = comparison.host, comparison.tflm
    case = _constant_sequence(model, -70)
    host.reset()
    tflm.reset()
    for _ in range(4):
        assert np.array_equal(host.run(case)[0], tflm.run(case)[0])
    host.reset()
    tflm.reset()
    assert np.array_equal(host.run(case)[0], tflm.run(case)[0])


def _int16_unary_model(opcode: str, size: int, input_scale: float) -> bytes:
    """One int16 TANH or LOGISTIC (output Q0.15, zero points 0), written with the schema's object API."""
    import flatbuffers

    tensors, buffers = [], [schema.BufferT()]
    for name, scale in (("x", input_scale), ("y", 2.0**-15)):
        tensor = schema.TensorT()
        tensor.name, tensor.shape, tensor.type = name, [1, size], schema.TensorType.INT16
        buffers.append(schema.BufferT())
        tensor.buffer = len(buffers) - 1
        tensor.quantization = schema.QuantizationParametersT()
        tensor.quantization.scale, tensor.quantization.zeroPoint = [scale], [0]
        tensors.append(tensor)
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = getattr(schema.BuiltinOperator, opcode)
    code.version = 1
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs, subgraph.operators = tensors, [0], [1], [op]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, [code], [subgraph], buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_sigmoid_table_is_tflms():
    """TFLM's int16 TANH at the table's knots returns the entries themselves: with input
    scale just above 2 / 12288 its input scaling is exactly x -> 2x, so x = 128 k lands on
    entry k with no interpolation (out = table[k] - 32768); the last entry shows in the
    slope between the last two knots."""
    scale = float(np.nextafter(np.float32(2.0 / 12288), np.float32(1)))
    knots = 128 * np.arange(256)
    knots[255] = 128 * 254 + 127  # entry 254, 254/256 of the way to entry 255
    out = TflmModel(_int16_unary_model("TANH", 256, scale)).run([knots.astype(np.int16).reshape(1, -1)])[0]
    measured = out.reshape(-1).astype(np.int64) + 32768
    assert np.array_equal(measured[:255], SIGMOID_TABLE[:255])
    slope = SIGMOID_TABLE[255] - SIGMOID_TABLE[254]
    assert measured[255] == SIGMOID_TABLE[254] + (254 * slope + 128) // 256
    assert np.all(np.abs(SIGMOID_TABLE - 65536 / (1 + np.exp(-np.arange(256) / 24))) < 1.5)  # close to the formula, not its rounding


@pytest.mark.parametrize("opcode,scale,multiplier", [("LOGISTIC", 2.0**-12, None), ("TANH", 2.0**-12, 3), ("TANH", 2.0**-11, 6)])
def test_int16_sigmoid_tanh_twins_match_tflm(opcode, scale, multiplier):
    """Every int16 value through TFLM's int16 kernels at the power-of-two scales the LSTM uses."""
    every = np.arange(-32768, 32768, dtype=np.int64)
    out = TflmModel(_int16_unary_model(opcode, every.size, scale)).run([every.astype(np.int16).reshape(1, -1)])[0]
    ours = sigmoid_s16(every) if opcode == "LOGISTIC" else tanh_s16(every, multiplier, 0)
    assert np.array_equal(ours, out.reshape(-1))


def test_refusals_name_the_variant_and_the_state():
    model = lstm_model()
    graph, op = _lstm_op(model)
    inputs = list(op.inputs)
    peephole = dataclasses.replace(op, inputs=tuple(inputs[:10] + [inputs[12]] + inputs[11:]))
    with pytest.raises(UnsupportedOperatorError, match=r"UNIDIRECTIONAL_SEQUENCE_LSTM\).*peephole.*standard Keras LSTM"):
        plan_lstm(graph, peephole)
    hidden = graph.tensor(inputs[18])
    tensors = list(graph.tensors)
    tensors[hidden.index] = dataclasses.replace(hidden, is_variable=False)
    with pytest.raises(UnsupportedOperatorError, match=r"\(the hidden state\) must be a variable tensor"):
        plan_lstm(dataclasses.replace(graph, tensors=tuple(tensors)), op)
    cifg = dataclasses.replace(op, inputs=tuple([inputs[0], -1] + inputs[2:]))
    with pytest.raises(UnsupportedOperatorError, match=r"input 1 is missing.*no CIFG"):
        plan_lstm(graph, cifg)
    weights = graph.tensor(inputs[2])
    tensors = list(graph.tensors)
    tensors[weights.index] = dataclasses.replace(
        weights, quant=dataclasses.replace(weights.quant, zero_points=(3,))
    )
    with pytest.raises(QuantizationError, match="must be symmetric"):
        plan_lstm(dataclasses.replace(graph, tensors=tuple(tensors)), op)
