"""The cost model against the engine: memoised planning, and real int8 conversions of extracted sub-networks."""

from __future__ import annotations

import dataclasses
import gc

import numpy as np
import pytest

from mcunet_tf.cost_model import SRAM_NOT_PLANNED, Cost, CostModel, emitted
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace
from mcunet_tf.subnet_graph import build_subnet_graph
from mcunet_tf.supernet import largest_arch
from mcunet_tf.space.ranking import smallest_arch
from tinyengine_gen.compiler import CompileOptions, compile_graph

SPACE = SearchSpace(num_classes=10)
#: (W, R) pairs of the conversion test: small, so 20 conversions take about a minute.
CONVERTED_SPACES = ((0.2, 48), (0.2, 64), (0.2, 96), (0.3, 48), (0.3, 80))
CONFIGS_PER_SPACE = 4


def _random_configs(count: int, seed: int, space: SearchSpace = SPACE) -> list:
    rng = np.random.default_rng(seed)
    return [sample_arch(space, rng) for _ in range(count)]


def test_memoized_compile_matches_compile_graph():
    memoized, plain = CostModel(SPACE), CostModel(SPACE, memoize=False)
    rng = np.random.default_rng(4)
    one_space = [sample_arch(SPACE, rng, width=0.4, resolution=96) for _ in range(12)]  # shared blocks and plans
    for config in (_random_configs(12, seed=1) + one_space) * 2:  # the second round runs entirely from the memo
        assert memoized.cost(config) == plain.cost(config)
    assert memoized.stats()["memoized_operators"] > 0


def test_memoized_compile_matches_compile_graph_without_in_place():
    options = CompileOptions(in_place=False)
    memoized, plain = CostModel(SPACE, options=options), CostModel(SPACE, options=options, memoize=False)
    for config in _random_configs(6, seed=2):
        assert memoized.cost(config) == plain.cost(config)


def test_flash_limit_skips_memory_planning_only_for_configs_over_it():
    model = CostModel(SPACE)
    for config in _random_configs(8, seed=5):
        full = model.cost(config)
        skipped = model.cost(config, flash_limit=full.flash_bytes // 2)
        assert skipped.peak_sram_bytes == SRAM_NOT_PLANNED
        assert skipped.macs == full.macs and skipped.params == full.params
        assert skipped.flash_bytes >= full.flash_bytes  # an upper bound: fusion can only remove constants
        assert model.cost(config, flash_limit=full.flash_bytes) == full


def test_pricing_leaves_no_cyclic_garbage_and_restores_the_collector():
    """cost() pauses the cyclic collector: that is only safe while pricing creates no cycles."""
    model = CostModel(SPACE)
    configs = _random_configs(6, seed=7)
    for config in configs:
        model.cost(config)  # fill the memo
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for config in configs + _random_configs(6, seed=8):
            model.cost(config, flash_limit=1)
            model.cost(config)
        gc.collect()
        assert [type(o).__name__ for o in gc.garbage] == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert gc.isenabled()
    gc.disable()
    try:
        model.cost(configs[0])
        assert not gc.isenabled()  # a caller's choice is left as it was
    finally:
        gc.enable()


def test_peak_sram_is_the_engine_arena_of_the_subnet_graph():
    config = _random_configs(1, seed=3)[0]
    compiled = compile_graph(build_subnet_graph(config, SPACE).graph)
    assert CostModel(SPACE).cost(config).peak_sram_bytes == compiled.peak_sram_bytes


def test_flash_is_weights_plus_code_and_to_dict_lists_it():
    cost = Cost(macs=1, params=2, weights_bytes=300, code_bytes=40, peak_sram_bytes=5)
    assert cost.flash_bytes == 340
    assert cost.to_dict() == {
        "macs": 1,
        "params": 2,
        "weights_bytes": 300,
        "code_bytes": 40,
        "peak_sram_bytes": 5,
        "flash_bytes": 340,
    }


def test_larger_choices_cost_more():
    model = CostModel(SearchSpace())
    small, large = model.cost(smallest_arch(SearchSpace())), model.cost(largest_arch(SearchSpace(), 1.0))
    for field in ("macs", "params", "weights_bytes", "peak_sram_bytes"):
        assert getattr(large, field) > getattr(small, field), field
    wider = model.cost(dataclasses.replace(smallest_arch(SearchSpace()), width=0.5))
    higher = model.cost(dataclasses.replace(smallest_arch(SearchSpace()), resolution=96))
    assert wider.flash_bytes > small.flash_bytes and wider.peak_sram_bytes >= small.peak_sram_bytes
    assert higher.peak_sram_bytes > small.peak_sram_bytes and higher.params == small.params


# --- real conversions --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converted():
    """[(config, keras sub-network, int8 flatbuffer)] for 20 random configs over five (W, R) spaces."""
    from mcunet_tf.extract import extract_subnet
    from mcunet_tf.supernet import Supernet
    from tests.mcunet_tf._subnets import convert_subnet_int8, randomize_supernet

    rng = np.random.default_rng(2024)
    supernets: dict[float, Supernet] = {}
    result = []
    for width, resolution in CONVERTED_SPACES:
        if width not in supernets:
            supernets[width] = Supernet(SPACE, width)
            randomize_supernet(supernets[width], rng)
        for _ in range(CONFIGS_PER_SPACE):
            config = sample_arch(SPACE, rng, width=width, resolution=resolution)
            model = extract_subnet(supernets[width], config)
            result.append((config, model, convert_subnet_int8(model, resolution, rng)))
    return result


def _op_table(graph):
    """Opcode, tensor shapes and the options that change plans, per operator (names and scales ignored)."""
    keys = ("padding", "strideH", "strideW", "fusedActivationFunction", "keepDims")
    return [
        (
            op.opcode,
            tuple(graph.tensor(t).shape for t in op.inputs if t >= 0),
            tuple(graph.tensor(t).shape for t in op.outputs),
            tuple((k, op.options[k]) for k in keys if k in op.options),
        )
        for op in graph.operators
    ]


def _reference_flash(project, model: CostModel) -> int:
    """The report's weights_bytes plus the same code estimate, from the real model's plans."""
    compiled = project.compiled
    parts = [emitted(compiled.graph, plan) for plan in compiled.plans]
    code = model.code_size.estimate(
        [k for plan in compiled.plans for k in plan.kernel_sources],
        [op.opcode for op in compiled.graph.operators],
        set().union(*(p.definitions for p in parts)),
    )
    return project.report["weights_bytes"] + code


def test_graph_matches_the_converter_and_costs_match_the_engine_report(converted):
    from tinyengine_gen.codegen.project import generate
    from tinyengine_gen.frontend.reader import read_model_bytes

    model = CostModel(SPACE)
    assert len(converted) >= 20
    for config, _keras_model, flatbuffer in converted:
        real = read_model_bytes(flatbuffer)
        ours = build_subnet_graph(config, SPACE)
        assert _op_table(real) == _op_table(ours.graph), config.key()
        project = generate(real)
        cost = model.cost(config)
        assert cost.peak_sram_bytes == project.report["peak_sram_bytes"], config.key()
        assert cost.macs == project.report["macs"], config.key()
        reference = _reference_flash(project, model)
        assert abs(cost.flash_bytes - reference) <= 0.02 * reference, (config.key(), cost, reference)
        assert cost.weights_bytes >= project.report["weights_bytes"]  # the emitter may merge identical arrays


def test_params_are_the_keras_weights_with_batch_norm_folded(converted):
    for config, keras_model, _ in converted[:3]:
        kernels = sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights if "kernel" in w.name)
        biases = sum(int(w.shape[0]) for w in keras_model.trainable_weights if "gamma" in w.name or "/bias" in w.name)
        assert build_subnet_graph(config, SPACE).params == kernels + biases
