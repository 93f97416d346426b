"""The cost model at 4-bit weights: Flash priced as the engine stores them, packed two per byte."""

import numpy as np
import pytest

from mcunet_tf.cost_model import CostModel
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace
from mcunet_tf.space.ranking import Budget, sample_space
from mcunet_tf.supernet import largest_arch

SPACE = SearchSpace(num_classes=10)


def test_four_bit_weights_cost_a_little_over_half_and_the_same_sram():
    config = largest_arch(SPACE, max(SPACE.widths), min(SPACE.resolutions))
    int8 = CostModel(SPACE).cost(config)
    int4 = CostModel(SPACE, weight_bits=4).cost(config)
    ratio = int4.weights_bytes / int8.weights_bytes
    assert 0.5 < ratio <= 0.6, ratio  # the weights halve; biases, multipliers, shifts do not
    assert int4.macs == int8.macs
    assert int4.peak_sram_bytes <= int8.peak_sram_bytes * 1.05


def test_memoized_pricing_agrees_with_plain_compiles_at_4_bits():
    from tinyengine_gen.codegen.emitter import ConstantCounter

    config = sample_arch(SPACE, np.random.default_rng(3))
    plain = CostModel(SPACE, weight_bits=4, memoize=False)
    compiled = plain.compile(config)
    assert compiled.options.pack_int4
    counter = ConstantCounter(compiled.graph, merge_identical=False)  # placeholder weights would merge
    for plan in compiled.plans:
        plan.emit(counter)
    assert plain.cost(config).weights_bytes == counter.total
    assert CostModel(SPACE, weight_bits=4).cost(config) == plain.cost(config)


def test_a_flash_budget_fits_more_of_a_wide_space_at_4_bits():
    wide, low = max(SPACE.widths), min(SPACE.resolutions)
    samples = {bits: sample_space(SPACE, wide, low, 12, 0, CostModel(SPACE, weight_bits=bits)) for bits in (8, 4)}
    median_kb = float(np.median(samples[8].flash_bytes)) / 1024  # half the int8 samples fit this Flash
    budget = Budget.from_kb(4096, median_kb)
    fits = {bits: int(sample.fitting(budget).sum()) for bits, sample in samples.items()}
    assert fits[4] == 12 and fits[8] <= 7, fits


def test_other_weight_widths_are_refused():
    with pytest.raises(ValueError, match="weight_bits"):
        CostModel(SPACE, weight_bits=3)
