"""Files a hostile user can write that TFLite Micro cannot run as we would: refused in one line.

Each case edits the tiny schema-built model (tests/fuzz/tiny_model.py) the way the fuzzer
does: degenerate scales (the generated C would shift by 34-129 bits), missing options
(TFLite Micro reads them as zeros: stride 0, beta 0), dilation 0, an operator without
inputs in a graph the PAD-folding pass visits.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.tiny_model import _buffer, _tensor, pack, tiny_tree
from tinyengine_gen.errors import QuantizationError, TinyEngineError, UnsupportedModelError, UnsupportedOperatorError
from tinyengine_gen.fixedpoint import ScaleRangeError
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema


def _compile(tree, name: str = "hostile.tflite"):
    return generate(read_model_bytes(pack(tree), source=name))


def _conv(tree):
    return tree.subgraphs[0].operators[-1]


def _scales(tree, input_scale=None, weight_scales=None, output_scale=None):
    tensors = tree.subgraphs[0].tensors
    for position, value in ((0, input_scale), (1, weight_scales), (3, output_scale)):
        if value is not None:
            tensors[position].quantization.scale = [float(np.float32(v)) for v in np.atleast_1d(value)]
    if input_scale is not None or weight_scales is not None:  # keep the bias scale consistent
        w = np.asarray(tensors[1].quantization.scale, np.float32)
        with np.errstate(over="ignore"):
            tensors[2].quantization.scale = [float(v) for v in np.float32(tensors[0].quantization.scale[0]) * w]
    return tree


def _with_op(code: int, tree=None):
    tree = tree or tiny_tree()
    opcode = schema.OperatorCodeT()
    opcode.builtinCode = opcode.deprecatedBuiltinCode = code
    opcode.version = 1
    tree.operatorCodes.append(opcode)
    return len(tree.operatorCodes) - 1


def _depthwise_tree(dilation: int):
    tree = tiny_tree()
    tree.operatorCodes[0].builtinCode = tree.operatorCodes[0].deprecatedBuiltinCode = schema.BuiltinOperator.DEPTHWISE_CONV_2D
    weights = tree.subgraphs[0].tensors[1]
    weights.shape, weights.quantization.quantizedDimension = [1, 1, 1, 2], 3
    tree.buffers[1] = _buffer(np.array([[[[3, -5]]]], np.int8))
    op = _conv(tree)
    op.builtinOptionsType = schema.BuiltinOptions.DepthwiseConv2DOptions
    op.builtinOptions = schema.DepthwiseConv2DOptionsT()
    op.builtinOptions.padding, op.builtinOptions.strideW, op.builtinOptions.strideH = schema.Padding.VALID, 1, 1
    op.builtinOptions.depthMultiplier = 1
    op.builtinOptions.dilationWFactor, op.builtinOptions.dilationHFactor = dilation, 1
    return tree


def _softmax_tree(with_options: bool, input_scale: float = 0.1):
    tree = tiny_tree()
    tree.operatorCodes[0].builtinCode = tree.operatorCodes[0].deprecatedBuiltinCode = schema.BuiltinOperator.SOFTMAX
    int8 = schema.TensorType.INT8
    sub = tree.subgraphs[0]
    sub.tensors = [_tensor("logits", (1, 4), int8, 0, [input_scale], [0]), _tensor("probs", (1, 4), int8, 0, [1 / 256], [-128])]
    op = sub.operators[0]
    op.inputs, op.outputs = [0], [1]
    op.builtinOptionsType, op.builtinOptions = 0, None
    if with_options:
        op.builtinOptionsType = schema.BuiltinOptions.SoftmaxOptions
        op.builtinOptions = schema.SoftmaxOptionsT()
        op.builtinOptions.beta = 1.0
    sub.inputs, sub.outputs = [0], [1]
    tree.buffers = tree.buffers[:1]
    return tree


def test_the_tiny_model_compiles():
    assert _compile(tiny_tree()).report["ops"]


@pytest.mark.parametrize(
    "scales, culprit",
    [
        (dict(output_scale=1e-30), "'output' scale 1e-30"),
        (dict(weight_scales=[3e38, 0.02]), "'weights' scale 0.02..3e+38"),
        (dict(output_scale=1e-40), "'output' scale 1e-40"),  # a float32 denormal
    ],
)
def test_requantisation_multiplier_beyond_a_30_bit_shift_is_refused(scales, culprit):
    with pytest.raises(ScaleRangeError, match=rf"operator 0 \(CONV_2D\) \(.*{re.escape(culprit)}.*left shift of \d+ bits \(at most 30\)"):
        _compile(_scales(tiny_tree(), **scales))


def test_activation_bound_beyond_int32_is_refused():
    tree = _scales(tiny_tree(), input_scale=1e-6, weight_scales=[1e-6, 1e-6], output_scale=1e-12)
    _conv(tree).builtinOptions.fusedActivationFunction = schema.ActivationFunctionType.RELU6
    with pytest.raises(ScaleRangeError, match=r"operator 0 \(CONV_2D\).*the RELU6 bound 6.0 is .* beyond int32"):
        _compile(tree)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-45, 38.5).map(lambda e: 10.0**e),
    st.floats(-45, 38.5).map(lambda e: 10.0**e),
    st.floats(-45, 38.5).map(lambda e: 10.0**e),
    st.sampled_from([0, 1, 3]),  # NONE, RELU, RELU6
)
def test_every_accepted_scale_gives_shifts_the_c_can_apply(input_scale, weight_scale, output_scale, activation):
    tree = _scales(tiny_tree(), input_scale=input_scale, weight_scales=[weight_scale, weight_scale], output_scale=output_scale)
    _conv(tree).builtinOptions.fusedActivationFunction = activation
    try:
        compiled = _compile(tree).compiled
    except QuantizationError:
        return
    for plan in compiled.plans:
        assert int(np.max(plan.shifts)) <= 30 and int(np.min(plan.shifts)) >= -31
        assert np.all(np.asarray(plan.multipliers) >= 0) and np.all(np.asarray(plan.multipliers) < 2**31)
        assert -128 <= plan.act_min <= plan.act_max <= 127


def test_conv_without_options_is_refused_as_tflm_reads_it_as_stride_0():
    tree = tiny_tree()
    _conv(tree).builtinOptionsType, _conv(tree).builtinOptions = 0, None
    with pytest.raises(UnsupportedOperatorError, match=r"CONV_2D\): has no builtin options; .*stride 0"):
        _compile(tree)


@pytest.mark.parametrize("field", ["strideW", "strideH", "dilationWFactor", "dilationHFactor"])
def test_conv_zero_stride_or_dilation_is_refused(field):
    tree = tiny_tree()
    setattr(_conv(tree).builtinOptions, field, 0)
    with pytest.raises(UnsupportedOperatorError, match=r"must be positive"):
        _compile(tree)


def test_depthwise_dilation_0_is_refused_and_1_compiles():
    assert _compile(_depthwise_tree(1)).report["ops"]
    with pytest.raises(UnsupportedOperatorError, match=r"DEPTHWISE_CONV_2D\): strides \(1, 1\) and dilations \(1, 0\)"):
        _compile(_depthwise_tree(0))


def test_softmax_without_options_is_refused_as_tflm_reads_beta_0():
    assert _compile(_softmax_tree(with_options=True)).report["ops"]
    with pytest.raises(UnsupportedOperatorError, match=r"SOFTMAX\): has no builtin options; .*beta 0"):
        _compile(_softmax_tree(with_options=False))


def test_operator_without_inputs_is_refused_before_the_pad_folding_pass():
    tree = tiny_tree()
    sub = tree.subgraphs[0]
    pad_code = _with_op(schema.BuiltinOperator.PAD, tree)
    tree.buffers.append(_buffer(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)))
    padded = copy.deepcopy(sub.tensors[0])
    padded.name, padded.shape = b"padded", [1, 5, 5, 2]
    paddings = _tensor("paddings", (4, 2), schema.TensorType.INT32, len(tree.buffers) - 1)
    sub.tensors += [padded, paddings]
    pad = schema.OperatorT()
    pad.opcodeIndex, pad.inputs, pad.outputs = pad_code, [0, 5], [4]
    sub.operators.insert(0, pad)
    sub.tensors[3].shape = [1, 5, 5, 2]
    _conv(tree).inputs = [4, 1, 2]
    assert _compile(tree).report["ops"]  # the PAD folds into the convolution
    _conv(tree).inputs = []
    with pytest.raises(UnsupportedModelError, match=r"operator 1 \(CONV_2D\): input 0 is missing \(0 inputs; CONV_2D needs 2\)"):
        _compile(tree)


def test_hostile_files_are_one_line_errors_not_crashes():
    """What the fuzzer's quantisation and option mutations reach, as TinyEngineError only."""
    tree = tiny_tree()
    for scale in (0.0, float("nan"), float("inf"), -1.0, 1e-45):
        edited = _scales(copy.deepcopy(tree), output_scale=scale)
        with pytest.raises(TinyEngineError):
            _compile(edited)
