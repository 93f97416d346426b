"""QUANTIZE and DEQUANTIZE: generated C and the numpy reference against TFLite Micro, bit for bit.

Float outputs are compared as raw bytes by the harness. The converter never writes an
int8 -> int8 QUANTIZE for a small Keras model, so those models are made by re-typing the
one operator of a converted int8 model and giving its output a new scale and zero point.
"""

from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.errors import QuantizationError, UnsupportedOperatorError
from tinyengine_gen.ops.quantize import (
    DequantizePlan,
    QuantizePlan,
    RequantizePlan,
    plan_dequantize,
    plan_quantize,
    quantize_reference,
)
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema

_MODELS = Path(__file__).resolve().parents[3] / ".." / "shared" / "models"
_ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def _patch(model: bytes, edit) -> bytes:
    """Re-serialise ``model`` after ``edit(ModelT)``: for graphs the converter never writes."""
    unpacked = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    edit(unpacked)
    builder = flatbuffers.Builder(1024)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _sigmoid_model(shape, spread=1.0, int8_io=True) -> bytes:
    def build():
        inputs = keras.Input(shape, batch_size=1)
        return keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))

    return convert_int8(build, spread=spread, int8_io=int8_io)


def _set_quant(m, tensor_index: int, scale: float, zero_point: int) -> None:
    quant = m.subgraphs[0].tensors[tensor_index].quantization
    quant.scale, quant.zeroPoint = [scale], [zero_point]


def _logistic_to_requantize(model: bytes, scale_factor: float, zero_point: int) -> bytes:
    """Turn the LOGISTIC into QUANTIZE int8 -> int8 whose output scale is ``scale_factor`` x the input's."""

    def edit(m):
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.QUANTIZE
        code.version = 1
        m.operatorCodes.append(code)
        subgraph = m.subgraphs[0]
        op = next(
            o
            for o in subgraph.operators
            if m.operatorCodes[o.opcodeIndex].builtinCode == schema.BuiltinOperator.LOGISTIC
        )
        op.opcodeIndex = len(m.operatorCodes) - 1
        op.builtinOptionsType, op.builtinOptions = 0, None
        in_scale = float(subgraph.tensors[op.inputs[0]].quantization.scale[0])
        _set_quant(m, op.outputs[0], in_scale * scale_factor, zero_point)

    return _patch(model, edit)


def _ops(model: bytes, source: str = "quantize.tflite"):
    graph = read_model_bytes(model, source=source)
    return graph, graph.operators


@pytest.mark.parametrize(
    "scale_factor,zero_point",
    [(0.37, -5), (3.1, 20), (1.0, -1), (1.0, 40), (1e-3, 0), (250.0, -100)],
)
def test_requantize_int8_to_int8_every_input(tmp_path, scale_factor, zero_point):
    model = _logistic_to_requantize(_sigmoid_model((256,)), scale_factor, zero_point)
    graph, ops = _ops(model)
    assert [op.opcode for op in ops] == ["QUANTIZE"]
    assert isinstance(plan_quantize(graph, ops[0]), RequantizePlan)
    compile_and_compare(model, tmp_path, inputs=[[_ALL_INT8.reshape(1, 256)]])


@pytest.mark.parametrize("spread,input_range", [(1.0, 1.0), (0.2, 3.0), (30.0, 100.0)])
def test_float_edges_quantize_requantize_dequantize(tmp_path, spread, input_range):
    """QUANTIZE f32->s8, QUANTIZE s8->s8, DEQUANTIZE s8->f32, with inputs beyond the calibrated range."""
    model = _logistic_to_requantize(_sigmoid_model((6, 7), spread, int8_io=False), 0.61, 13)
    _, ops = _ops(model)
    assert [op.opcode for op in ops] == ["QUANTIZE", "QUANTIZE", "DEQUANTIZE"]
    rng = np.random.default_rng(7)
    inputs = [[rng.uniform(-input_range, input_range, (1, 6, 7)).astype(np.float32)] for _ in range(4)]
    compile_and_compare(model, tmp_path, inputs=inputs)


def test_quantize_rounds_halves_away_from_zero(tmp_path):
    """With a power-of-two scale, x / scale is exactly k + 0.5: std::round, not round-half-even."""

    def edit(m):
        _set_quant(m, m.subgraphs[0].operators[0].outputs[0], 1.0 / 64, 3)

    model = _patch(_sigmoid_model((64,), int8_io=False), edit)
    halves = (np.arange(-32, 32) + 0.5).astype(np.float32) / 64
    # |x / scale| stays below 2^31: beyond it TFLM's float -> int32 cast is undefined behaviour.
    extremes = np.array([-1e6, -2.5, 2.5, 1e6, 0.0, -0.0, 1.9921875, -2.0078125], dtype=np.float32)
    inputs = [[halves.reshape(1, 64)], [np.resize(extremes, 64).reshape(1, 64)]]
    compile_and_compare(model, tmp_path, inputs=inputs)


def test_quantize_saturates_where_tflm_is_undefined():
    """Huge quotients and NaN: TFLM's cast is undefined there (x86 gives -128 for +1e9); we saturate like Arm."""
    values = np.array([1e9, -1e9, np.inf, -np.inf, np.nan, 3e38], dtype=np.float32)
    np.testing.assert_array_equal(quantize_reference(values, 1.0 / 64, -3), [127, -128, 127, -128, -128, 127])


def _single_op_model(model: bytes, position: int) -> bytes:
    """Keep only operator ``position``; its input and output become the graph's."""

    def edit(m):
        subgraph = m.subgraphs[0]
        op = subgraph.operators[position]
        subgraph.operators = [op]
        subgraph.inputs, subgraph.outputs = [op.inputs[0]], list(op.outputs)

    return _patch(model, edit)


@pytest.mark.parametrize("position,opcode", [(0, "QUANTIZE"), (-1, "DEQUANTIZE")])
def test_mcunet_vww_edges(tmp_path, position, opcode):
    path = _MODELS / "mcunet_vww.tflite"
    if not path.exists():
        pytest.skip(f"{path} not found: the shared reference models are not on this machine")
    model = _single_op_model(path.read_bytes(), position)
    _, ops = _ops(model, "mcunet_vww.tflite")
    assert [op.opcode for op in ops] == [opcode]
    compile_and_compare(model, tmp_path, trials=2)


def test_plans_carry_float32_scales():
    graph, ops = _ops(_sigmoid_model((3,), int8_io=False))
    quantize, dequantize = plan_quantize(graph, ops[0]), plan_dequantize(graph, ops[-1])
    assert isinstance(quantize, QuantizePlan) and isinstance(dequantize, DequantizePlan)
    assert quantize.scale == float(np.float32(graph.tensor(ops[0].outputs[0]).quant.scale))
    assert (dequantize.scale, dequantize.zero_point) == (1.0 / 256, -128)
    assert (quantize.size, quantize.macs, quantize.scratch_bytes) == (3, 0, 0)


def test_quantize_rejects_int16_output():
    def edit(m):
        m.subgraphs[0].tensors[m.subgraphs[0].operators[0].outputs[0]].type = schema.TensorType.INT16

    graph, ops = _ops(_patch(_sigmoid_model((3,), int8_io=False), edit))
    with pytest.raises(UnsupportedOperatorError, match=r"quantize.tflite: operator 0 \(QUANTIZE\).*int16.*int8"):
        plan_quantize(graph, ops[0])


def test_dequantize_rejects_per_channel_input():
    def edit(m):
        quant = m.subgraphs[0].tensors[m.subgraphs[0].operators[-1].inputs[0]].quantization
        quant.scale, quant.zeroPoint, quant.quantizedDimension = [0.1, 0.2, 0.3], [0, 0, 0], 1

    graph, ops = _ops(_patch(_sigmoid_model((3,), int8_io=False), edit))
    with pytest.raises(QuantizationError, match=r"quantize.tflite: operator 2 \(DEQUANTIZE\).*per channel"):
        plan_dequantize(graph, ops[-1])
