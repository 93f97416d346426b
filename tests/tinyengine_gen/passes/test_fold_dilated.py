"""The converter's SPACE_TO_BATCH_ND -> convolution -> BATCH_TO_SPACE_ND becomes one
dilated convolution, bit-exact with TFLite Micro running the three operators."""

import pytest

from tests.harness import compile_and_compare, compile_and_compare_with_oracle
from tests.model_factory import convert_int8, keras
from tinyengine_gen.compiler import compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes


def _models(layer, shape) -> tuple[bytes, bytes]:
    """(unfixed-batch export, batch-1 export) of the same weights.

    Only the unfixed-batch export has the pattern; TFLM runs it wrongly (it does not resize
    SPACE_TO_BATCH's output to the 4 phase images the file's placeholder shapes leave out),
    so the batch-1 export, where the converter writes a dilated convolution, is the oracle.
    """

    def build(batch_size):
        def make():
            inputs = keras.Input(shape, batch_size=batch_size)
            return keras.Model(inputs, layer()(inputs))

        return make

    return convert_int8(build(None)), convert_int8(build(1))


CASES = [
    (lambda: keras.layers.Conv2D(5, 3, dilation_rate=2, padding="same"), (13, 11, 3)),
    (lambda: keras.layers.Conv2D(4, 3, dilation_rate=(2, 3), padding="valid"), (14, 15, 2)),
    (lambda: keras.layers.Conv2D(4, (3, 2), dilation_rate=3, padding="same"), (12, 12, 2)),
    (lambda: keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same"), (10, 9, 4)),
    (lambda: keras.layers.DepthwiseConv2D(3, dilation_rate=4, padding="valid"), (16, 16, 3)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_dilated_pattern_folds_and_is_bit_exact(tmp_path, case):
    layer, shape = CASES[case]
    model, oracle = _models(layer, shape)
    graph = read_model_bytes(model)
    assert "SPACE_TO_BATCH_ND" in [op.opcode for op in graph.operators]
    compiled = compile_graph(graph)
    assert [op.opcode for op in compiled.graph.operators][:1] in (["CONV_2D"], ["DEPTHWISE_CONV_2D"])
    assert "SPACE_TO_BATCH_ND" not in [op.opcode for op in compiled.graph.operators]
    compile_and_compare_with_oracle(model, oracle, tmp_path, trials=10)


def _convert_function(fn, shape):
    import numpy as np

    from tests.model_factory import tf

    concrete = tf.function(fn, input_signature=[tf.TensorSpec(shape, tf.float32)]).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], concrete)
    rng = np.random.default_rng(0)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.uniform(-0.5, 1, shape).astype(np.float32)] for _ in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.mark.parametrize(
    "shape,block,paddings,crops",
    [
        ((1, 8, 6, 3), (2, 2), [[0, 0], [0, 0]], [[0, 0], [0, 0]]),
        ((1, 8, 6, 3), (2, 3), [[1, 1], [2, 1]], [[1, 1], [2, 1]]),
        ((1, 6, 6, 3), (3, 1), [[2, 1], [0, 0]], [[2, 1], [0, 0]]),
        ((1, 6, 6, 3), (3, 3), [[0, 0], [0, 0]], [[1, 0], [0, 2]]),
        ((2, 8, 6, 3), (2, 3), [[1, 1], [2, 1]], [[1, 1], [2, 1]]),
        pytest.param((3, 6, 4, 2), (3, 2), [[0, 0], [0, 0]], [[0, 2], [1, 0]], marks=pytest.mark.slow),
    ],
)
def test_space_to_batch_and_back_on_their_own(tmp_path, shape, block, paddings, crops):
    """TFLite Micro pads SPACE_TO_BATCH_ND with an ``output_offset`` it never sets (memory
    left over in its arena), so no padded value may reach the output for TFLM to be an
    oracle: the crops remove exactly the padding, or cut real values. A batch of N images
    gives N entries per phase."""
    from tests.model_factory import tf

    def fn(x):
        phases = tf.space_to_batch_nd(x, block, paddings)
        return tf.batch_to_space(phases * 0.5 + 0.25, block, crops)

    model = _convert_function(fn, shape)
    opcodes = [op.opcode for op in read_model_bytes(model).operators]
    assert "SPACE_TO_BATCH_ND" in opcodes and "BATCH_TO_SPACE_ND" in opcodes, opcodes
    compile_and_compare(model, tmp_path, trials=10)
