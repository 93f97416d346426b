"""Search-space optimisation: budgets, the fit filter, scores, ranking and parallel sampling."""

from __future__ import annotations

import numpy as np
import pytest

from mcunet_tf.cost_model import Cost, CostModel
from mcunet_tf.errors import BudgetError
from mcunet_tf.space import SearchSpace
from mcunet_tf.space.ranking import (
    Budget,
    SpaceSample,
    check_budget_reachable,
    rank_spaces,
    sample_space,
    sample_spaces,
    score_space,
    smallest_arch,
)

SPACE = SearchSpace()


def _sample(width, resolution, macs, sram, flash) -> SpaceSample:
    return SpaceSample(width, resolution, np.array(macs), np.array(sram), np.array(flash))


def test_budget_from_kb_and_fit():
    budget = Budget.from_kb(320, 1024)
    assert (budget.sram_bytes, budget.flash_bytes) == (320 * 1024, 1024 * 1024)
    fits = Cost(macs=1, params=1, weights_bytes=1000 * 1024, code_bytes=24 * 1024, peak_sram_bytes=320 * 1024)
    assert budget.fits(fits)
    assert not budget.fits(Cost(1, 1, 1000 * 1024, 24 * 1024 + 1, 1))
    assert not budget.fits(Cost(1, 1, 1, 1, 320 * 1024 + 1))


@pytest.mark.parametrize(("sram", "flash"), [(-1, 1024), (320, 0)])
def test_non_positive_budgets_are_refused(sram, flash):
    with pytest.raises(BudgetError, match="must both be positive"):
        Budget.from_kb(sram, flash)
    with pytest.raises(BudgetError, match="must both be positive"):
        Budget(sram, flash)


def test_score_keeps_only_fitting_networks():
    sample = _sample(0.5, 96, [10, 20, 30, 40], [1, 1, 5, 1], [1, 9, 1, 1])
    score = score_space(sample, Budget(2, 2), percentile=50)
    assert score.fitting == 2 and score.fitting_fraction == 0.5
    assert score.fitting_macs == (10, 40) and score.mean_macs == 25.0 and score.percentile_macs == 25.0
    assert score.to_dict()["p50_macs"] == 25.0 and "fitting_macs" not in score.to_dict()


def test_rank_by_mean_or_percentile_and_drop_rare_fitters():
    samples = [
        _sample(0.3, 64, [10, 10, 10, 10], [1, 1, 1, 1], [1, 1, 1, 1]),
        _sample(0.4, 64, [5, 5, 5, 40], [1, 1, 1, 1], [1, 1, 1, 1]),
        _sample(0.5, 64, [100, 1, 1, 1], [1, 9, 9, 9], [1, 1, 1, 1]),  # one of four fits
        _sample(0.6, 64, [1, 1, 1, 1], [9, 9, 9, 9], [1, 1, 1, 1]),  # nothing fits
    ]
    budget = Budget(2, 2)
    by_mean = rank_spaces(samples, budget, min_fitting_fraction=0.5)
    assert [s.width for s in by_mean] == [0.4, 0.3]
    by_p20 = rank_spaces(samples, budget, percentile=20, rank_by="percentile", min_fitting_fraction=0.5)
    assert [s.width for s in by_p20] == [0.3, 0.4]
    assert [s.width for s in rank_spaces(samples, budget, min_fitting_fraction=0.0)] == [0.5, 0.4, 0.3]
    with pytest.raises(BudgetError, match="rank_by"):
        rank_spaces(samples, budget, rank_by="median")


def test_smallest_arch_is_the_cheapest_and_unreachable_budgets_fail_fast():
    model = CostModel(SPACE)
    cost = check_budget_reachable(SPACE, Budget.from_kb(320, 1024), model)
    assert cost == model.cost(smallest_arch(SPACE))
    with pytest.raises(BudgetError, match="nothing in the search space fits SRAM 4 kB"):
        check_budget_reachable(SPACE, Budget.from_kb(4, 1024), model)


def test_sample_space_is_deterministic_and_fixes_w_r():
    a = sample_space(SPACE, 0.3, 80, 5, seed=1)
    b = sample_space(SPACE, 0.3, 80, 5, seed=1)
    assert (a.width, a.resolution, a.size) == (0.3, 80, 5)
    assert np.array_equal(a.macs, b.macs) and np.array_equal(a.peak_sram_bytes, b.peak_sram_bytes)
    assert not np.array_equal(a.macs, sample_space(SPACE, 0.3, 80, 5, seed=2).macs)
    with pytest.raises(BudgetError, match="at least 1"):
        sample_space(SPACE, 0.3, 80, 0, seed=1)


def test_parallel_sampling_equals_serial():
    kwargs = {"widths": (0.2, 0.5), "resolutions": (48, 96)}
    serial = sample_spaces(SPACE, 3, seed=4, processes=1, **kwargs)
    parallel = sample_spaces(SPACE, 3, seed=4, processes=2, **kwargs)
    assert [(s.width, s.resolution) for s in parallel] == [(0.2, 48), (0.2, 96), (0.5, 48), (0.5, 96)]
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.macs, b.macs) and np.array_equal(a.flash_bytes, b.flash_bytes)
