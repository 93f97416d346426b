"""Pricing under an SRAM limit (what search_space does for its budget) decides exactly as the
exhaustive pricing: same fit, same cost for every config that fits, and the live-bytes lower
bounds it prunes with never exceed what the engine compiles."""

from __future__ import annotations

import numpy as np
import pytest

from mcunet_tf.cost_model import SRAM_NOT_PLANNED, CostModel, patch_options
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace
from mcunet_tf.subnet_graph import build_subnet_graph
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.memory.bounds import live_lower_bounds, lower_bounds_ceiling
from tinyengine_gen.ops.base import plan_operator
from tinyengine_gen.patching.schedule import auto_peak_lower_bound

SPACE = SearchSpace(num_classes=10)
KIB = 1024
#: (W, R) spaces around a 64 kB budget: some configs fit layer-wise, some only with patches,
#: some not at all (and R176's input alone is over it)
SPACES = ((0.2, 64), (0.3, 96), (0.3, 112), (0.4, 80), (0.5, 128), (0.3, 176))


def _configs(per_space: int, seed: int) -> list:
    configs = []
    for width, resolution in SPACES:
        rng = np.random.default_rng((seed, round(width * 1000), resolution))
        configs += [sample_arch(SPACE, rng, width=width, resolution=resolution) for _ in range(per_space)]
    return configs


@pytest.mark.parametrize("patch", ["auto", "off"])
def test_sram_limit_decides_every_config_as_exhaustive_pricing(patch):
    options = patch_options(patch, max_overhead=0.2)
    exhaustive, limited = CostModel(SPACE, options=options), CostModel(SPACE, options=options)
    limit = 64 * KIB
    fitting = skipped = 0
    for config in _configs(4, seed=3):
        exact, fast = exhaustive.cost(config), limited.cost(config, sram_limit=limit)
        fits = exact.peak_sram_bytes <= limit
        assert (fast.peak_sram_bytes <= limit) == fits, config.key()
        if fits:
            assert fast == exact, config.key()
            fitting += 1
        skipped += fast.peak_sram_bytes == SRAM_NOT_PLANNED
    assert fitting >= 3 and skipped >= 4, (fitting, skipped)


def test_a_roomy_sram_limit_skips_the_bounds_and_prices_exactly(monkeypatch):
    """Under a limit no bound could reach (every activation at once, plus the largest
    scratch) the layer-wise bounds are not computed at all, and the price is the exact one."""
    import mcunet_tf.cost_model as cost_model

    asked = []
    monkeypatch.setattr(cost_model, "live_lower_bounds", lambda *a, **k: asked.append(1) or live_lower_bounds(*a, **k))
    exhaustive, limited = CostModel(SPACE), CostModel(SPACE)
    configs = _configs(1, seed=11)
    for config in configs:
        built = build_subnet_graph(config, SPACE)
        roomy = lower_bounds_ceiling(built.graph, [plan_operator(built.graph, op) for op in built.graph.operators])
        assert limited.cost(config, sram_limit=roomy) == exhaustive.cost(config), config.key()
    assert not asked
    for config in configs[:2]:  # a limit below the ceiling does ask for them
        limited.cost(config, sram_limit=16 * KIB)
    assert len(asked) == 2


def test_peak_limit_keeps_the_engine_decision_wherever_it_fits():
    """compile_graph's ``patch_peak_limit``: the same schedule (grid, split, peak, MACs) as the
    full search wherever that peak is within the limit, and a peak above it elsewhere."""
    options = CompileOptions(patch="auto", patch_max_overhead=0.2)
    limit = 64 * KIB
    within = 0
    for config in _configs(2, seed=5)[:10]:
        graph = build_subnet_graph(config, SPACE).graph
        full, fast = compile_graph(graph, options), compile_graph(graph, options, patch_peak_limit=limit)
        if full.peak_sram_bytes <= limit:
            within += 1
            assert fast.patch_decision.to_json(fast.graph) == full.patch_decision.to_json(full.graph)
            assert (fast.peak_sram_bytes, fast.macs) == (full.peak_sram_bytes, full.macs)
        else:
            assert fast.peak_sram_bytes > limit
    assert within >= 3, within


def test_lower_bounds_never_exceed_the_compiled_peak_and_come_close_to_it():
    """The bound takes each op's in-place choice alone; the planner joins an expansion's
    output to its input's whole storage group (a buffer of the larger size from the group's
    first step), which often does not pay, so the peak usually sits at an inverted
    residual's expansion written apart, a few kB above the bound. Close enough to prune."""
    auto = CompileOptions(patch="auto", patch_max_overhead=0.2)
    ratios = []
    configs = _configs(2, seed=7)[:10]
    for config in configs:
        graph = build_subnet_graph(config, SPACE).graph
        plans = [plan_operator(graph, op) for op in graph.operators]
        per_step = live_lower_bounds(graph, plans, [op.opcode for op in graph.operators])
        layer_wise = compile_graph(graph)
        assert max(per_step) <= layer_wise.peak_sram_bytes, config.key()
        assert max(per_step) <= lower_bounds_ceiling(graph, plans), config.key()
        assert auto_peak_lower_bound(graph, plans, auto) <= compile_graph(graph, auto).peak_sram_bytes, config.key()
        ratios.append(max(per_step) / layer_wise.peak_sram_bytes)
    assert np.mean(ratios) >= 0.8 and np.median(ratios) >= 0.85, ratios  # a bound that prunes
