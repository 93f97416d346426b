"""BATCH_MATMUL: generated C and the numpy reference against TFLite Micro, bit for bit
(broadcast batches, adjoint operands, as in attention blocks)."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import tf
from tinyengine_gen.frontend.reader import read_model_bytes


def _convert(fn, shapes):
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


CASES = [
    # lhs shape, rhs shape, adjoint_a, adjoint_b
    ((1, 4, 6), (1, 6, 5), False, False),
    ((1, 2, 4, 6), (1, 2, 6, 3), False, False),
    ((1, 2, 6, 4), (1, 2, 6, 3), True, False),
    ((1, 2, 4, 6), (1, 2, 3, 6), False, True),
    ((2, 3, 4, 5), (1, 1, 5, 2), False, False),  # broadcast batch
    ((3, 5), (5, 7), False, False),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_batch_matmul_bit_exact(tmp_path, case):
    a_shape, b_shape, adj_a, adj_b = CASES[case]
    model = _convert(lambda a, b: tf.linalg.matmul(a, b, adjoint_a=adj_a, adjoint_b=adj_b), [a_shape, b_shape])
    assert "BATCH_MATMUL" in [op.opcode for op in read_model_bytes(model).operators]
    compile_and_compare(model, tmp_path, trials=10)
