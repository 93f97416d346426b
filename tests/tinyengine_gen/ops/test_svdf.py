"""SVDF (int8, int16 state): generated C and numpy against TFLite Micro over invokes in sequence.

The converter makes no SVDF from Keras, so the one-op models are written with the TFLite
schema's object API: int8 input and feature weights, int16 time weights and a variable
int16 state, int32 bias. Several invokes run back to back in both runtimes, so the state
each one leaves behind is checked too; te_reset() and TFLM's reset clear it alike.
"""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema
from tinyengine_gen.memory.lifetimes import layout_memory
from tinyengine_gen.ops.svdf import plan_svdf


def _tensor(tensors, buffers, name, shape, type_, scale, zero_point, data=None, variable=False):
    tensor = schema.TensorT()
    tensor.name, tensor.shape, tensor.type = name, list(shape), type_
    buffer = schema.BufferT()
    if data is not None:
        buffer.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
    buffers.append(buffer)
    tensor.buffer = len(buffers) - 1
    tensor.quantization = schema.QuantizationParametersT()
    tensor.quantization.scale, tensor.quantization.zeroPoint = [scale], [zero_point]
    tensor.isVariable = variable
    tensors.append(tensor)
    return len(tensors) - 1


def svdf_model(batch=1, n_input=12, n_filter=8, n_memory=5, rank=2, state_zero_point=0, seed=0) -> bytes:
    import flatbuffers

    rng = np.random.default_rng(seed)
    n_unit = n_filter // rank
    buffers, tensors = [schema.BufferT()], []
    t = schema.TensorType
    state_scale, time_scale = 0.004, 1.5e-4
    feature = rng.integers(-127, 128, (n_filter, n_input), dtype=np.int8)
    time = rng.integers(-3000, 3000, (n_filter, n_memory), dtype=np.int16)
    bias = rng.integers(-30000, 30000, n_unit, dtype=np.int32)
    state_shape = (batch, n_filter * n_memory)
    inputs = [
        _tensor(tensors, buffers, "input", (batch, n_input), t.INT8, 0.05, 3),
        _tensor(tensors, buffers, "weights_feature", feature.shape, t.INT8, 0.01, 0, feature),
        _tensor(tensors, buffers, "weights_time", time.shape, t.INT16, time_scale, 0, time),
        _tensor(tensors, buffers, "bias", bias.shape, t.INT32, state_scale * time_scale, 0, bias),
        _tensor(tensors, buffers, "state", state_shape, t.INT16, state_scale, state_zero_point, variable=True),
    ]
    output = _tensor(tensors, buffers, "output", (batch, n_unit), t.INT8, 0.6, -4)
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.SVDF
    code.version = 1
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, inputs, [output]
    op.builtinOptionsType = schema.BuiltinOptions.SVDFOptions
    op.builtinOptions = schema.SVDFOptionsT()
    op.builtinOptions.rank = rank
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs, subgraph.operators = tensors, [inputs[0]], [output], [op]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, [code], [subgraph], buffers
    model.description = "svdf"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize(
    "batch,n_input,n_filter,n_memory,rank",
    [(1, 12, 8, 5, 2), (2, 7, 6, 10, 1), pytest.param(1, 40, 12, 3, 3, marks=pytest.mark.slow)],
)
def test_svdf_sequence_bit_exact(tmp_path, batch, n_input, n_filter, n_memory, rank):
    model = svdf_model(batch, n_input, n_filter, n_memory, rank)
    comparison = compile_and_compare(model, tmp_path, trials=12, reference_trials=4)
    outputs = [comparison.host.run(case) for case in [[np.full((batch, n_input), 60, np.int8)]] * 3]
    assert not np.array_equal(outputs[0][0], outputs[2][0])  # the same input gives new outputs: state carries


def test_svdf_reset_matches_tflm(tmp_path):
    model = svdf_model()
    comparison = compile_and_compare(model, tmp_path, trials=4)
    host, tflm = comparison.host, comparison.tflm
    rng = np.random.default_rng(9)
    case = [rng.integers(-128, 128, (1, 12), dtype=np.int8)]
    host.reset()
    tflm.reset()
    for _ in range(6):
        assert np.array_equal(host.run(case)[0], tflm.run(case)[0])
    host.reset()
    fresh = host.run(case)[0]
    tflm.reset()
    assert np.array_equal(fresh, tflm.run(case)[0])


def test_state_is_never_shared_and_zero_point_state(tmp_path):
    model = svdf_model(state_zero_point=5)
    graph = read_model_bytes(model)
    plan = plan_svdf(graph, graph.operators[0])
    state = graph.tensor(plan.state)
    assert state.is_variable and plan.scratch_bytes == 4 * (8 + 4)
    memory, offsets, scratch = layout_memory(graph, (plan,))
    state_range = range(offsets[state.index], offsets[state.index] + state.nbytes)
    others = [(offsets[t], graph.tensor(t).nbytes) for t in offsets if t != state.index]
    others.append((scratch[0], plan.scratch_bytes))
    assert all(start + size <= state_range.start or start >= state_range.stop for start, size in others)
    compile_and_compare(model, tmp_path, trials=10, reference_trials=3)
