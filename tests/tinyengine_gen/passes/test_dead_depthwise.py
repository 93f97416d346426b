"""Dead depthwise channels leave their inverted-residual block: bit-exact with TFLM, only
where the block allows it, dense MACs still reported."""

import numpy as np

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.compiler import compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.dead_depthwise import dead_depthwise_channels, drop_dead_depthwise_channels

DENSE = CompileOptions(drop_dead_channels=False)


def _block(dead: int, stride: int = 1, project_kernel: int = 1, shared: bool = False, expanded: int = 24, seed: int = 0):
    """Conv 3x3 (8) -> expand 1x1 (expanded, ReLU6) -> [ZeroPad] DW 3x3 (`dead` channels zeroed,
    ReLU6) -> project (8, project_kernel) [+ a second reader of the depthwise output] -> Conv 1x1 (4)."""

    def build():
        inputs = keras.Input((8, 8, 3), batch_size=1)
        x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
        h = keras.layers.Conv2D(expanded, 1, activation="relu6")(x)
        if stride == 2:
            h = keras.layers.ZeroPadding2D(((0, 1), (0, 1)))(h)  # MobileNetV2's explicit PAD
        dw = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same" if stride == 1 else "valid", activation="relu6")
        d = dw(h)
        weights, bias = dw.get_weights()
        rng = np.random.default_rng(seed)
        zeroed = rng.choice(expanded, size=dead, replace=False)
        weights[..., zeroed, :] = 0.0
        bias[zeroed] = rng.choice([-1.0, 0.0, 0.7, 9.0], size=dead)  # clamped by ReLU6 to 0, 0, 0.7, 6
        dw.set_weights([weights, bias])
        y = keras.layers.Conv2D(8, project_kernel, padding="same")(d)
        if shared:
            y = keras.layers.Concatenate()([y, d])
        return keras.Model(inputs, keras.layers.Conv2D(4, 1)(y))

    return convert_int8(build, seed=seed)


def _depthwise_channels(model: bytes, options: CompileOptions | None = None) -> list[int]:
    compiled = compile_graph(read_model_bytes(model, source="block.tflite"), options)
    return [p.output_shape[3] for p in compiled.plans if isinstance(p, DepthwiseConv2DPlan)]


def test_dead_depthwise_channels_leave_the_block_bit_exact_with_tflm(tmp_path):
    model = _block(dead=9)
    assert _depthwise_channels(model) == [15] and _depthwise_channels(model, DENSE) == [24]
    graph = read_model_bytes(model)
    compiled, dense = compile_graph(graph), compile_graph(graph, DENSE)
    assert compiled.macs < dense.macs and compiled.network_macs == dense.macs
    assert compiled.arena_bytes <= dense.arena_bytes
    compile_and_compare(model, tmp_path, trials=4)


def test_through_an_explicit_pad_with_stride_2(tmp_path):
    model = _block(dead=6, stride=2, seed=1)
    assert _depthwise_channels(model) == [18]
    compile_and_compare(model, tmp_path, trials=4)


def test_a_kxk_projection_or_a_second_reader_keeps_the_block_whole():
    """A 3x3 projection sees the constant inside the image and zero padding at its border (not
    one bias); a second reader of the depthwise output needs every channel."""
    for model in (_block(dead=9, project_kernel=3), _block(dead=9, shared=True)):
        graph = read_model_bytes(model)
        assert drop_dead_depthwise_channels(graph) is graph
        assert _depthwise_channels(model) == [24]


def test_dead_depthwise_channels_reads_the_last_axis():
    w = np.ones((1, 3, 3, 5), np.int8)
    w[..., 1] = 0
    w[..., 4] = 0
    assert dead_depthwise_channels(w).tolist() == [1, 4]
