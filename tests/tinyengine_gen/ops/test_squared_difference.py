"""SQUARED_DIFFERENCE: generated C and numpy against TFLite Micro, bit for bit."""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tests.tinyengine_gen.ops._quant_models import convert_fn
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.squared_difference import plan_squared_difference


def _model(shape1, shape2, spread):
    def build():
        a = keras.Input(shape1[1:], batch_size=shape1[0])
        b = keras.Input(shape2[1:], batch_size=shape2[0])
        y = keras.layers.Lambda(lambda t: tf.math.squared_difference(t[0], t[1]))([a, b])
        return keras.Model([a, b], y)

    return convert_int8(build, spread=spread)


@pytest.mark.parametrize(
    "shape1,shape2,spread",
    [
        pytest.param((1, 5, 7, 3), (1, 5, 7, 3), 1.0, marks=pytest.mark.slow),
        ((1, 5, 7, 6), (1, 1, 1, 6), 4.0),  # per-channel mean, as in a normalisation
        pytest.param((1, 3, 1, 5), (1, 1, 4, 1), 0.1, marks=pytest.mark.slow),
    ],
)
def test_squared_difference_bit_exact(tmp_path, shape1, shape2, spread):
    model = _model(shape1, shape2, spread)
    assert [op.opcode for op in read_model_bytes(model).operators] == ["SQUARED_DIFFERENCE"]
    compile_and_compare(model, tmp_path, trials=10)


@pytest.mark.slow
def test_squared_difference_with_constant_and_zero_points(tmp_path):
    centre = tf.constant([0.5, 1.5, -0.5])
    model = convert_fn(lambda x: tf.math.squared_difference(x, centre), (4, 6, 3), low=-0.5, high=2.5)
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["SQUARED_DIFFERENCE"]
    plan = plan_squared_difference(graph, graph.operators[0])
    assert plan.input1_offset != 0 and plan.input1_shift <= 0 and plan.input2_shift <= 0
    compile_and_compare(model, tmp_path, trials=10)
