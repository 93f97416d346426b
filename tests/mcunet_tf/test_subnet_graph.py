"""The engine graph of a sub-network: the operators the converter makes, and the parameter count."""

from __future__ import annotations

from collections import Counter

import numpy as np

from mcunet_tf.arch import ArchConfig, BlockChoice
from mcunet_tf.blueprint import blueprint
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace
from mcunet_tf.subnet_graph import build_subnet_graph, forget_shared_pieces
from tinyengine_gen.compiler import compile_graph

SPACE = SearchSpace(num_classes=10)


def _config() -> ArchConfig:
    return ArchConfig(0.5, 64, tuple((BlockChoice(5, 3),) * 2 for _ in SPACE.stages))


def test_operators_in_execution_order():
    built = build_subnet_graph(_config(), SPACE)
    graph = built.graph
    counts = Counter(op.opcode for op in graph.operators)
    residuals = sum(b.residual for b in blueprint(_config(), SPACE).blocks)
    expected = {"CONV_2D": 2 + 12 * 2 + 1, "DEPTHWISE_CONV_2D": 13, "ADD": residuals, "MEAN": 1, "FULLY_CONNECTED": 1}
    assert counts == expected
    assert [op.opcode for op in graph.operators[:4]] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "CONV_2D"]
    assert [op.opcode for op in graph.operators[-3:]] == ["CONV_2D", "MEAN", "FULLY_CONNECTED"]
    assert graph.tensor(graph.inputs[0]).shape == (1, 64, 64, 3)
    assert graph.tensor(graph.outputs[0]).shape == (1, 10)
    assert len(built.signatures) == len(graph.operators)


def test_graph_compiles_and_counts_parameters():
    built = build_subnet_graph(_config(), SPACE)
    compiled = compile_graph(built.graph)
    assert compiled.peak_sram_bytes > 64 * 64 * 3
    parameters = [t for t in built.graph.tensors if t.is_constant and t.name.endswith(("/filter", "/bias"))]
    weights = sum(t.num_elements for t in parameters)
    assert built.params == weights


def _contents(built) -> tuple:
    graph = built.graph
    tensors = [
        (t.index, t.name, t.shape, t.dtype, t.quant, None if t.data is None else (t.data.shape, t.data.dtype.str))
        for t in graph.tensors
    ]
    operators = [(op.index, op.opcode, op.inputs, op.outputs, dict(op.options)) for op in graph.operators]
    return tensors, operators, graph.inputs, graph.outputs, built.params, built.signatures


def test_recurring_blocks_share_their_objects_and_build_what_a_fresh_build_does():
    rng = np.random.default_rng(3)
    configs = [sample_arch(SPACE, rng, width=0.5, resolution=64) for _ in range(25)]
    configs += [sample_arch(SPACE, rng) for _ in range(5)]  # other (W, R) in between
    shared = [build_subnet_graph(config, SPACE) for config in configs * 2]
    for config, built in zip(configs * 2, shared):
        forget_shared_pieces()
        fresh = build_subnet_graph(config, SPACE)
        assert _contents(fresh) == _contents(built)
        sketch = build_subnet_graph(config, SPACE, materialize=False)
        assert (sketch.params, sketch.signatures) == (built.params, built.signatures)
    again = build_subnet_graph(configs[0], SPACE)
    first_block = next(t for t in again.graph.tensors if t.name.endswith("/depthwise"))
    assert build_subnet_graph(configs[0], SPACE).graph.tensor(first_block.index) is first_block
