"""All-zero output channels of a CONV_2D: computed as constants, bit-exact with TFLM, only
where they pay and never at a higher peak."""

import numpy as np

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tests.shared_assets import shared_model
from tinyengine_gen.compiler import compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.conv2d import Conv2DPlan
from tinyengine_gen.ops.gather import GatherPlan
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.dead_channels import dead_output_channels, drop_dead_channels

DENSE = CompileOptions(drop_dead_channels=False)


def _pruned(dead: int, channels: int = 32, depth: int = 32, size: int = 6, residual: bool = False, seed: int = 0, stem: bool = True):
    """[Conv 3x3 (24) at 2 x size] -> Conv 3x3 (depth) -> Conv 1x1 (channels, `dead` of them
    all-zero, ReLU) -> Conv 1x1 (8): a pruned layer after the peak (with the stem) or at it."""

    def build():
        inputs = keras.Input((2 * size if stem else size, 2 * size if stem else size, 3), batch_size=1)
        x = keras.layers.Conv2D(24, 3, padding="same", activation="relu")(inputs) if stem else inputs
        x = keras.layers.Conv2D(depth, 3, strides=2 if stem else 1, padding="same", activation="relu")(x)
        pruned = keras.layers.Conv2D(channels, 1, activation="relu", name="pruned")
        y = pruned(x)
        weights, bias = pruned.get_weights()
        rng = np.random.default_rng(seed)
        zeroed = rng.choice(channels, size=dead, replace=False)
        weights[..., zeroed] = 0.0
        bias[zeroed] = rng.choice([-3.0, 0.0, 0.5], size=dead)  # constants: 0 (ReLU), 0, a positive one
        pruned.set_weights([weights, bias])
        if residual:
            y = keras.layers.Add()([y, keras.layers.Conv2D(channels, 1)(x)])
        return keras.Model(inputs, keras.layers.Conv2D(8, 1)(y))

    return convert_int8(build, seed=seed)


def _plans(model: bytes, options: CompileOptions | None = None):
    return compile_graph(read_model_bytes(model, source="pruned.tflite"), options)


def test_dead_channels_become_a_gather_of_constants_bit_exact_with_tflm(tmp_path):
    model = _pruned(dead=24)
    compiled, dense = _plans(model), _plans(model, DENSE)
    gathers = [p for p in compiled.plans if isinstance(p, GatherPlan)]
    assert len(gathers) == 1 and gathers[0].inner_bytes == 1 and gathers[0].count == 32
    narrow = [p for p in compiled.plans if isinstance(p, Conv2DPlan) and p.outputs[0] == gathers[0].inputs[0]]
    assert len(narrow) == 1 and 8 < narrow[0].output_shape[3] <= 8 + 3  # live + one per distinct constant
    assert compiled.macs < dense.macs and compiled.network_macs == dense.network_macs == dense.macs
    assert compiled.arena_bytes <= dense.arena_bytes
    compile_and_compare(model, tmp_path, trials=4)


def test_a_few_dead_channels_keep_the_layer_and_take_fast_requantisable_constants(tmp_path):
    """Too few to pay for a GATHER: the layer keeps every channel, and the dead ones get a
    scale and bias of their own that requantise (on the fast path) to the same constant."""
    model = _pruned(dead=2)
    compiled = _plans(model)
    assert not any(isinstance(p, GatherPlan) for p in compiled.plans)
    graph = read_model_bytes(model)
    rewritten = drop_dead_channels(graph)
    assert rewritten is not graph and len(rewritten.operators) == len(graph.operators)
    pruned = [p for p in compiled.plans if isinstance(p, Conv2DPlan) and p.output_shape[3] == 32]
    assert pruned and all(p.fast_requant for p in pruned)
    compile_and_compare(model, tmp_path, trials=4)


def test_a_conv_that_feeds_an_add_stays_whole_for_the_residual_fusion():
    compiled = _plans(_pruned(dead=24, residual=True))
    assert not any(isinstance(p, GatherPlan) for p in compiled.plans)


def test_the_rewrite_is_dropped_where_it_would_raise_the_peak():
    """A 32-channel layer expanded to 128 channels at the peak, 96 of them dead: the narrow
    output (32 live + the constants) and the full one, live together during the GATHER,
    outgrow the layer's input + output."""
    model = _pruned(dead=96, channels=128, depth=32, size=12, stem=False)
    graph = read_model_bytes(model)
    assert len(drop_dead_channels(graph).operators) == len(graph.operators) + 1  # the pass alone rewrites it
    compiled, dense = _plans(model), _plans(model, DENSE)
    assert compiled.arena_bytes == dense.arena_bytes
    assert not any(isinstance(p, GatherPlan) for p in compiled.plans)


def test_dead_output_channels_reads_axis_0():
    w = np.ones((4, 1, 1, 3), np.int8)
    w[1] = 0
    w[3] = 0
    assert dead_output_channels(w).tolist() == [1, 3]


def test_pruned_mlperf_vww_skips_its_zero_channels_at_the_same_arena():
    path = shared_model("mlperf_vww_96_int8.tflite")
    graph = read_model_bytes(path.read_bytes(), source=path.name)
    compiled, dense = compile_graph(graph), compile_graph(graph, DENSE)
    assert compiled.arena_bytes <= dense.arena_bytes
    assert compiled.macs < 0.7 * dense.macs and compiled.network_macs == dense.macs
    assert all(p.fast_requant for p in compiled.plans if isinstance(p, Conv2DPlan))
