"""SUB: generated C (te_sub_s8, and te_add_lut_s8 with a negated table) and numpy against TFLite Micro, bit for bit."""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.sub import plan_sub

ACTIVATIONS = {"NONE": None, "RELU": lambda: keras.layers.ReLU(), "RELU6": lambda: keras.layers.ReLU(6.0)}


def _sub_model(shape1, shape2, activation="NONE"):
    def build():
        a = keras.Input(shape1[1:], batch_size=shape1[0])
        b = keras.Input(shape2[1:], batch_size=shape2[0])
        y = keras.layers.Subtract()([a, b])
        if ACTIVATIONS[activation] is not None:
            y = ACTIVATIONS[activation]()(y)
        return keras.Model([a, b], y)

    return build


def _sub_plan(model: bytes):
    graph = read_model_bytes(model)
    (op,) = graph.operators
    assert op.opcode == "SUB"
    return plan_sub(graph, op)


@pytest.mark.parametrize(
    "shape1,shape2,activation",
    [
        pytest.param((1, 5, 7, 3), (1, 5, 7, 3), "NONE", marks=pytest.mark.slow),  # same shape, generic kernel
        ((1, 5, 7, 6), (1, 1, 1, 6), "RELU"),  # per-channel broadcast
        pytest.param((1, 1, 1, 6), (1, 5, 7, 6), "NONE", marks=pytest.mark.slow),  # the broadcast operand first
        pytest.param((1, 3, 1, 5), (1, 1, 4, 1), "RELU6", marks=pytest.mark.slow),  # both operands broadcast
        pytest.param((1, 2, 3, 4, 5), (1, 1, 3, 1, 5), "NONE", marks=pytest.mark.slow),  # rank 5
        pytest.param((1, 11), (1, 1), "NONE", marks=pytest.mark.slow),  # scalar operand
    ],
)
def test_sub_bit_exact(tmp_path, shape1, shape2, activation):
    model = convert_int8(_sub_model(shape1, shape2, activation))
    assert not _sub_plan(model).add.use_tables
    compile_and_compare(model, tmp_path, trials=10)


def test_large_same_shape_sub_uses_negated_add_tables(tmp_path):
    model = convert_int8(_sub_model((1, 16, 16, 24), (1, 16, 16, 24)), spread=3.0)
    plan = _sub_plan(model)
    assert plan.add.use_tables and "te_add_lut.c" in plan.kernel_sources
    compile_and_compare(model, tmp_path, trials=10)


@pytest.mark.slow
def test_sub_by_constant_with_zero_points(tmp_path):
    """x - c (constant operand) on an asymmetric range: non-zero input and output zero points."""
    from tests.tinyengine_gen.ops._quant_models import convert_fn

    model = convert_fn(lambda x: x - tf.constant([0.5, -1.0, 2.0, 0.25]), (3, 5, 4), low=-0.5, high=3.0)
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["SUB"]
    assert graph.tensor(graph.inputs[0]).quant.zero_point != 0
    compile_and_compare(model, tmp_path, trials=10)
