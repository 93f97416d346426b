"""The latency table: per-operator sums, scaling to a measurement, and operator kinds."""

from __future__ import annotations

import dataclasses

import pytest

from mcunet_tf.cost_model import CostModel
from mcunet_tf.search.latency import CORTEX_M7_216MHZ, LatencyModel, operator_kind
from mcunet_tf.training.shrinking import SubnetSampler
from tests.mcunet_tf.search._drive import SPACE

SAMPLER = SubnetSampler(SPACE, 0.3, 32)


def _compiled(config):
    return CostModel(SPACE).compile(config)


def test_estimate_is_the_sum_of_the_table_over_operators():
    compiled = _compiled(SAMPLER.smallest())
    graph = compiled.graph
    by_hand = 0.0
    for op, plan in zip(graph.operators, compiled.plans):
        kind = operator_kind(graph, op)
        if kind in CORTEX_M7_216MHZ.cycles_per_mac:
            by_hand += plan.macs * CORTEX_M7_216MHZ.cycles_per_mac[kind] + CORTEX_M7_216MHZ.cycles_per_op
        else:
            elements = 1
            for d in graph.tensor(op.inputs[0]).shape:
                elements *= d
            by_hand += elements * CORTEX_M7_216MHZ.cycles_per_element.get(kind, 2.0) + CORTEX_M7_216MHZ.cycles_per_op
    assert CORTEX_M7_216MHZ.estimate_ms(compiled) == pytest.approx(1000 * by_hand / 216e6)
    kinds = {operator_kind(graph, op) for op in graph.operators}
    assert {"CONV_2D_KxK", "CONV_2D_1x1", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN"} <= kinds


def test_bigger_networks_are_slower_and_the_clock_scales_inversely():
    small, large = _compiled(SAMPLER.smallest()), _compiled(SAMPLER.largest())
    assert CORTEX_M7_216MHZ.estimate_ms(large) > 3 * CORTEX_M7_216MHZ.estimate_ms(small)
    faster = dataclasses.replace(CORTEX_M7_216MHZ, clock_hz=432e6)
    assert faster.estimate_ms(small) == pytest.approx(CORTEX_M7_216MHZ.estimate_ms(small) / 2)


def test_scaling_to_a_measurement_reproduces_it_and_keeps_the_ranking():
    small, large = _compiled(SAMPLER.smallest()), _compiled(SAMPLER.largest())
    scaled = CORTEX_M7_216MHZ.scaled_to(small, 7.5)
    assert scaled.estimate_ms(small) == pytest.approx(7.5)
    ratio = CORTEX_M7_216MHZ.estimate_ms(large) / CORTEX_M7_216MHZ.estimate_ms(small)
    assert scaled.estimate_ms(large) / scaled.estimate_ms(small) == pytest.approx(ratio)
    with pytest.raises(ValueError, match="must be positive"):
        CORTEX_M7_216MHZ.scaled_to(small, 0.0)


def test_a_bad_table_is_refused():
    with pytest.raises(ValueError, match="clock must be positive"):
        LatencyModel("bad", 0.0, {}, {})


def test_a_patch_stage_costs_its_recomputed_halos_and_records_its_schedule():
    import numpy as np

    from mcunet_tf.cost_model import patch_options
    from mcunet_tf.sampling import sample_arch
    from mcunet_tf.search.budget import Pricer
    from mcunet_tf.space import SearchSpace

    space = SearchSpace(num_classes=10)
    config = sample_arch(space, np.random.default_rng(3), width=0.3, resolution=160)
    flat = Pricer(space).price(config)
    joint = Pricer(space, options=patch_options("auto")).price(config)
    assert joint.patch_grid is not None and joint.metrics()["patch_grid"] == joint.patch_grid[0]
    assert joint.metrics()["patch_mac_overhead"] > 0 and joint.cost.macs > flat.cost.macs
    assert joint.latency_ms > flat.latency_ms  # more MACs and one kernel call per op per patch
    assert flat.metrics()["patch_grid"] == 0.0 and flat.metrics()["patch_split_op"] == -1.0
