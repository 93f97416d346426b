"""Grouped CONV_2D (Keras ``groups=G``): split into one convolution per group, bit-exact
with TFLite Micro's grouped reference convolution, per channel and per tensor."""

import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.compiler import compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes

CASES = [
    # input (H, W, C), filters, kernel, groups, strides, padding, per_channel
    ((8, 8, 8), 8, 3, 2, 1, "same", True),
    ((9, 7, 12), 6, 3, 3, 2, "valid", True),
    ((6, 6, 8), 16, 1, 4, 1, "valid", True),
    ((8, 8, 8), 4, (3, 2), 2, (2, 1), "same", False),
    ((5, 5, 6), 6, 3, 6, 1, "same", True),  # as many groups as channels
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_grouped_convolution_bit_exact(tmp_path, case):
    shape, filters, kernel, groups, strides, padding, per_channel = CASES[case]

    def build():
        inputs = keras.Input(shape, batch_size=1)
        conv = keras.layers.Conv2D(filters, kernel, strides, padding, groups=groups, activation="relu")
        return keras.Model(inputs, conv(inputs))

    model = convert_int8(build, per_channel=per_channel)
    graph = read_model_bytes(model)
    assert [op.opcode for op in graph.operators] == ["CONV_2D"]
    compiled = compile_graph(graph)
    assert [op.opcode for op in compiled.graph.operators].count("CONV_2D") == groups
    compile_and_compare(model, tmp_path, trials=10)
