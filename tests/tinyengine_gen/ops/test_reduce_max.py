"""REDUCE_MAX: generated C and numpy against TFLite Micro, bit for bit."""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import tf
from tests.tinyengine_gen.ops._quant_models import convert_fn, with_quantization
from tinyengine_gen.errors import QuantizationError
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.reduce_max import plan_reduce_max


@pytest.mark.parametrize(
    "shape,axis,keepdims",
    [
        ((6, 7, 5), [1, 2], True),  # global max pool
        pytest.param((6, 7, 5), [1, 2], False, marks=pytest.mark.slow),
        pytest.param((6, 7, 5), [3], False, marks=pytest.mark.slow),  # over channels
        ((6, 7, 5), [-1, 1], True),  # two reduced groups with a kept group between
        pytest.param((4, 3, 2, 5), [2], False, marks=pytest.mark.slow),  # rank 5
        pytest.param((12,), [1], True, marks=pytest.mark.slow),
    ],
)
def test_reduce_max_bit_exact(tmp_path, shape, axis, keepdims):
    model = convert_fn(lambda x: tf.reduce_max(x, axis=axis, keepdims=keepdims), shape)
    assert [op.opcode for op in read_model_bytes(model).operators] == ["REDUCE_MAX"]
    compile_and_compare(model, tmp_path, trials=10)


def test_reduce_max_rejects_different_quantisation():
    model = convert_fn(lambda x: tf.reduce_max(x, axis=[1, 2]), (4, 4, 3))
    graph = read_model_bytes(model)
    output = graph.outputs[0]
    graph = read_model_bytes(with_quantization(model, 0.5, 3, {output}), source="requant.tflite")
    with pytest.raises(QuantizationError, match=r"requant.tflite: operator 0 \(REDUCE_MAX\).*same scale"):
        plan_reduce_max(graph, graph.operators[0])
