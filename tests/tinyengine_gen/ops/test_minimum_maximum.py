"""MINIMUM and MAXIMUM: generated C and numpy against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.tinyengine_gen.ops._quant_models import convert_fn
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.minimum_maximum import plan_maximum

@pytest.mark.parametrize("opcode", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize(
    "shape1,shape2",
    [
        pytest.param((1, 5, 7, 3), (1, 5, 7, 3), marks=pytest.mark.slow),  # same shape
        ((1, 3, 1, 5), (1, 1, 4, 1)),  # both broadcast
    ],
)
def test_minimum_maximum_bit_exact(tmp_path, opcode, shape1, shape2):
    def build():
        a = keras.Input(shape1[1:], batch_size=shape1[0])
        b = keras.Input(shape2[1:], batch_size=shape2[0])
        fn = tf.maximum if opcode == "MAXIMUM" else tf.minimum
        return keras.Model([a, b], keras.layers.Lambda(lambda t: fn(t[0], t[1]))([a, b]))

    model = convert_int8(build)
    assert [op.opcode for op in read_model_bytes(model).operators] == [opcode]
    compile_and_compare(model, tmp_path, trials=10)


@pytest.mark.parametrize("opcode", ["MAXIMUM", pytest.param("MINIMUM", marks=pytest.mark.slow)])
def test_clip_by_constants(tmp_path, opcode):
    """x against a per-channel constant (a [C] operand of lower rank), on an asymmetric range."""
    bound = tf.constant([0.0, 0.5, -0.25, 1.0])
    fn = (lambda x: tf.maximum(x, bound)) if opcode == "MAXIMUM" else (lambda x: tf.minimum(x, bound))
    model = convert_fn(fn, (6, 5, 4), low=-1.0, high=2.0)
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == [opcode]
    compile_and_compare(model, tmp_path, trials=10)


def test_maximum_plan_is_a_row_kernel_on_the_shared_driver():
    model = convert_fn(lambda x: tf.maximum(x, tf.constant([0.0, 0.5])), (3, 2), low=-1.0, high=2.0)
    graph = read_model_bytes(model)
    plan = plan_maximum(graph, graph.operators[0])
    assert plan.kernel_sources[:3] == ("te_minmax.c", "te_minmax.h", "te_broadcast.h")
    out = plan.reference({plan.inputs[0]: np.full((1, 3, 2), -5, np.int8), plan.inputs[1]: np.array([3, -9], np.int8)})
    assert np.array_equal(out[plan.outputs[0]], np.tile(np.array([3, -5], np.int8), (1, 3, 1)))
