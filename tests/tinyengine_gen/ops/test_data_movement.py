"""STRIDED_SLICE, PACK, UNPACK, SPLIT, SPLIT_V, GATHER: generated C and the numpy
reference against TFLite Micro, bit for bit (int8, values copied as TFLM copies them)."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import tf
from tinyengine_gen.errors import UnsupportedOperatorError
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.gather import plan_gather
from tinyengine_gen.frontend.reader import read_model_bytes


def _convert(fn, shapes):
    """A tf.function of float inputs -> fully int8 TFLite flatbuffer."""
    specs = [tf.TensorSpec(s, tf.float32) for s in shapes]
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], concrete)
    rng = np.random.default_rng(0)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.uniform(-1, 1, s).astype(np.float32) for s in shapes] for _ in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def _opcodes(model: bytes) -> list[str]:
    return [op.opcode for op in read_model_bytes(model).operators]


def _check(model: bytes, tmp_path, opcode: str, trials: int = 10):
    assert opcode in _opcodes(model), _opcodes(model)
    compile_and_compare(model, tmp_path, trials=trials)


SLICES = [
    ((1, 8, 8, 4), lambda x: x[:, 1:7, 2:, :3]),
    ((1, 8, 8, 4), lambda x: x[:, ::2, 1::3, :]),
    ((1, 9, 5, 3), lambda x: x[:, ::-1, :, :]),  # negative stride
    ((1, 9, 5, 3), lambda x: x[:, -4:-1, 4:1:-1, 1]),  # negative indices, reverse window, shrink
    ((2, 3, 5, 6), lambda x: x[1, :, 1:4:2, -2:]),
    ((1, 16), lambda x: x[:, 5:6]),
    ((1, 7, 6), lambda x: x[0, 3]),
]


@pytest.mark.parametrize("case", range(len(SLICES)))
def test_strided_slice_bit_exact(tmp_path, case):
    shape, fn = SLICES[case]
    _check(_convert(lambda x: fn(x) * 1.0, [shape]), tmp_path, "STRIDED_SLICE")


@pytest.mark.parametrize("shape,count,axis", [((1, 6, 6, 4), 2, 3), ((1, 6, 6, 4), 3, 1), ((1, 12), 4, 1), ((1, 4, 6, 2), 2, 2)])
def test_split_bit_exact(tmp_path, shape, count, axis):
    model = _convert(lambda x: tuple(tf.split(x, count, axis=axis)), [shape])
    _check(model, tmp_path, "SPLIT")


@pytest.mark.parametrize("sizes,axis", [((1, 3, 2), 3), ((2, -1), 1), ((5, 1, 2), 2)])
def test_split_v_bit_exact(tmp_path, sizes, axis):
    model = _convert(lambda x: tuple(tf.split(x, list(sizes), axis=axis)), [(1, 6, 8, 6)])
    _check(model, tmp_path, "SPLIT_V")


@pytest.mark.parametrize("shape,axis", [((1, 4, 3), 1), ((1, 4, 3), 2), ((3, 5), 0)])
def test_unpack_bit_exact(tmp_path, shape, axis):
    model = _convert(lambda x: tuple(tf.unstack(x, axis=axis)), [shape])
    _check(model, tmp_path, "UNPACK")


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_pack_bit_exact(tmp_path, axis):
    model = _convert(lambda a, b, c: tf.stack([a, b, c], axis=axis), [(1, 5, 3)] * 3)
    _check(model, tmp_path, "PACK")


@pytest.mark.parametrize(
    "shape,indices,axis",
    [((1, 10, 4), [3, 0, 9, 3], 1), ((1, 6, 5), [[4, 1], [0, 2]], 2), ((7, 3), [6, 0, 1], 0), ((1, 4, 4, 8), [7, 1], 3)],
)
def test_gather_constant_indices_bit_exact(tmp_path, shape, indices, axis):
    model = _convert(lambda x: tf.gather(x, tf.constant(indices, tf.int32), axis=axis), [shape])
    _check(model, tmp_path, "GATHER")


def test_gather_rejects_constant_index_out_of_range():
    tensors = (
        Tensor(0, "x", (4, 3), DType.INT8),
        Tensor(1, "i", (2,), DType.INT32, data=np.array([1, 4], np.int32)),
        Tensor(2, "y", (2, 3), DType.INT8),
    )
    graph = Graph(tensors, (Operator(0, "GATHER", (0, 1), (2,), {"axis": 0}),), (0,), (2,), source="g.tflite")
    with pytest.raises(UnsupportedOperatorError, match=r"g.tflite: operator 0 \(GATHER\).*outside \[0, 4\)"):
        plan_gather(graph, graph.operators[0])


def test_strided_slice_refuses_rank_5_like_tflm():
    from tinyengine_gen.ops.strided_slice import plan_strided_slice

    def const(i, values):
        return Tensor(i, f"c{i}", (5,), DType.INT32, data=np.array(values, np.int32))

    tensors = (Tensor(0, "x", (1, 2, 2, 2, 2), DType.INT8), const(1, [0] * 5), const(2, [1] * 5), const(3, [1] * 5),
               Tensor(4, "y", (1, 1, 1, 1, 1), DType.INT8))
    graph = Graph(tensors, (Operator(0, "STRIDED_SLICE", (0, 1, 2, 3), (4,)),), (0,), (4,), source="s.tflite")
    with pytest.raises(UnsupportedOperatorError, match=r"s.tflite: operator 0 \(STRIDED_SLICE\).*rank 5"):
        plan_strided_slice(graph, graph.operators[0])
