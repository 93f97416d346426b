"""TRANSPOSE: generated C and the numpy reference against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras, tf
from tinyengine_gen.errors import UnsupportedOperatorError
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.transpose import plan_transpose, simplify_permutation
from tinyengine_gen.frontend.reader import read_model_bytes


def _convert_function(fn, shape, *, mode="int8"):
    """A one-input tf.function -> TFLite flatbuffer: fully int8, 16x8 (int16 activations) or float."""
    concrete = tf.function(fn, input_signature=[tf.TensorSpec(shape, tf.float32)]).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], concrete)
    if mode != "float":
        rng = np.random.default_rng(0)
        ops = tf.lite.OpsSet
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(8))
        int16 = mode == "int16"
        converter.target_spec.supported_ops = [
            ops.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 if int16 else ops.TFLITE_BUILTINS_INT8
        ]
        converter.inference_input_type = tf.int16 if int16 else tf.int8
        converter.inference_output_type = tf.int16 if int16 else tf.int8
    return converter.convert()


def _opcodes(model: bytes) -> list[str]:
    return [op.opcode for op in read_model_bytes(model).operators]


PERMUTATIONS = [
    # input shape, permutation
    ((1, 3, 17, 13), (0, 2, 3, 1)),  # NCHW -> NHWC, as at the start of mbv2_224
    ((1, 13, 17, 3), (0, 3, 1, 2)),  # NHWC -> NCHW
    ((6, 7), (1, 0)),
    ((3, 5, 7), (2, 0, 1)),
    ((3, 5, 7), (1, 2, 0)),
    ((2, 3, 5, 7), (3, 1, 0, 2)),
    ((2, 3, 4, 5, 3), (4, 2, 0, 3, 1)),
    ((2, 3, 4, 5, 3), (0, 1, 3, 2, 4)),  # inner dimension stays contiguous
    ((1, 5, 1, 7), (2, 3, 0, 1)),  # size-1 dimensions
]


@pytest.mark.parametrize("shape,perm", PERMUTATIONS)
def test_transpose_int8_bit_exact(tmp_path, shape, perm):
    model = _convert_function(lambda x: tf.transpose(x, perm), shape)
    assert _opcodes(model) == ["TRANSPOSE"]
    compile_and_compare(model, tmp_path, trials=2)


@pytest.mark.parametrize("dims", [(3, 1, 2), (2, 1, 3)])
def test_transpose_keras_permute_between_convs(tmp_path, dims):
    def build():
        inputs = keras.Input((7, 9, 5), batch_size=1)
        x = keras.layers.Conv2D(6, 3, padding="same")(inputs)
        x = keras.layers.Permute(dims)(x)
        return keras.Model(inputs, keras.layers.Conv2D(4, 1)(x))

    model = convert_int8(build)
    assert "TRANSPOSE" in _opcodes(model)
    compile_and_compare(model, tmp_path, trials=2)


def test_transpose_float32_bit_exact(tmp_path):
    model = _convert_function(lambda x: tf.transpose(x, (2, 0, 3, 1)), (2, 3, 5, 7), mode="float")
    assert _opcodes(model) == ["TRANSPOSE"]
    compile_and_compare(model, tmp_path, trials=2)


def test_transpose_int16_bit_exact(tmp_path):
    shape = (2, 3, 5, 7)
    model = _convert_function(lambda x: tf.transpose(x, (3, 0, 2, 1)), shape, mode="int16")
    assert _opcodes(model) == ["TRANSPOSE"]
    rng = np.random.default_rng(1)
    inputs = [[rng.integers(-(2**15), 2**15, shape, dtype=np.int16)] for _ in range(2)]
    compile_and_compare(model, tmp_path, inputs=inputs)


@pytest.mark.parametrize(
    "shape,perm,expected",
    [
        ((1, 3, 224, 224), (0, 2, 3, 1), ((3, 50176), (1, 0))),
        ((2, 3, 4), (0, 1, 2), ((24,), (0,))),
        ((1, 5, 1, 7), (2, 3, 0, 1), ((5, 7), (1, 0))),
        ((2, 3, 4, 5), (2, 3, 0, 1), ((6, 20), (1, 0))),
        ((2, 3, 4, 5), (3, 1, 0, 2), ((2, 3, 4, 5), (3, 1, 0, 2))),
    ],
)
def test_transpose_permutation_is_simplified(shape, perm, expected):
    new_shape, new_perm = simplify_permutation(shape, perm)
    assert (new_shape, new_perm) == expected
    x = np.arange(int(np.prod(shape))).reshape(shape)
    assert np.array_equal(np.transpose(x, perm).reshape(-1), np.transpose(x.reshape(new_shape), new_perm).reshape(-1))


def _ir_transpose(dtype: DType, perm: tuple[int, ...], out_shape: tuple[int, ...]) -> Graph:
    tensors = (
        Tensor(0, "x", (2, 3, 4), dtype),
        Tensor(1, "perm", (len(perm),), DType.INT32, data=np.array(perm, dtype=np.int32)),
        Tensor(2, "y", out_shape, dtype),
    )
    op = Operator(0, "TRANSPOSE", (0, 1), (2,))
    return Graph(tensors, (op,), (0,), (2,), source="bad.tflite")


def test_transpose_rejects_int32():
    graph = _ir_transpose(DType.INT32, (2, 0, 1), (4, 2, 3))
    with pytest.raises(UnsupportedOperatorError, match=r"bad.tflite: operator 0 \(TRANSPOSE\).*int32.*int8"):
        plan_transpose(graph, graph.operators[0])


def test_transpose_rejects_repeated_axis():
    graph = _ir_transpose(DType.INT8, (0, 0, 1), (2, 2, 3))
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(TRANSPOSE\).*not a permutation"):
        plan_transpose(graph, graph.operators[0])
