"""The oracles: budget checked before a trial exists, duplicates skipped, JSON state that resumes exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from keras_tuner.engine.trial import TrialStatus

from mcunet_tf.errors import BudgetError
from mcunet_tf.search.budget import Pricer, SearchBudget
from mcunet_tf.search.oracle import EvolutionOracle, RandomSearchOracle, arch_of
from mcunet_tf.space import SearchSpace, StageSpec
from tests.mcunet_tf.search._drive import LOOSE, SPACE, TIGHT, capacity, configs, drive


def _evolution(tmp_path, budget=TIGHT, trials=12, seed=0, **kwargs):
    oracle = EvolutionOracle(SPACE, 0.3, 32, budget, max_trials=trials, seed=seed, population_size=4, **kwargs)
    oracle._set_project_dir(str(tmp_path), "project")
    return oracle


def _random(tmp_path, budget=TIGHT, trials=12, seed=0, space=SPACE):
    oracle = RandomSearchOracle(space, 0.3, 32, budget, max_trials=trials, seed=seed)
    oracle._set_project_dir(str(tmp_path), "project")
    return oracle


@pytest.mark.parametrize("make", [_evolution, _random])
def test_configs_over_budget_never_become_trials(tmp_path, make):
    oracle = make(tmp_path)
    drive(oracle, 12)
    pricer = Pricer(SPACE)
    assert len(oracle.trials) == 12
    assert all(TIGHT.fits(pricer.price(arch_of(t))) for t in oracle.trials.values())
    assert oracle.counters["rejected_over_budget"] > 0
    assert len(set(configs(oracle))) == 12


def test_rejected_candidates_are_never_evaluated(tmp_path):
    oracle, evaluated = _evolution(tmp_path), []

    def score(config):
        evaluated.append(config)
        return capacity(config)

    drive(oracle, 12, score)
    pricer = Pricer(SPACE)
    assert all(TIGHT.fits(pricer.price(c)) for c in evaluated) and len(evaluated) == 12


def test_duplicates_are_skipped_and_an_exhausted_space_stops(tmp_path):
    space = SearchSpace(
        num_classes=4,
        stages=(StageSpec(24, 2), StageSpec(40, 2)),
        depths=(1, 2),
        kernel_sizes=(3,),
        expand_ratios=(3,),
        widths=(0.3,),
        resolutions=(32,),
        head_channels=64,
    )
    oracle = _random(tmp_path, budget=LOOSE, space=space)
    assert len(drive(oracle, 12)) == 4  # 2 stages x 2 depths: four sub-networks in all
    assert oracle.counters["duplicates_skipped"] > 0
    assert oracle.create_trial("tuner0").status == TrialStatus.STOPPED


def test_generations_have_population_then_children_sizes(tmp_path):
    oracle = _evolution(tmp_path, parent_fraction=0.5)
    drive(oracle, 12)
    generations = [oracle.trial_generation[t] for t in sorted(oracle.trials)]
    assert generations == [0] * 4 + [1] * 2 + [2] * 2 + [3] * 2 + [4] * 2
    assert len(oracle.parents) == 2


def test_a_request_during_an_unfinished_generation_waits(tmp_path):
    oracle = _evolution(tmp_path, idle_wait_s=0.0)
    running = [oracle.create_trial(f"worker{i}") for i in range(4)]
    assert all(t.status == TrialStatus.RUNNING for t in running)
    assert oracle.create_trial("worker4").status == TrialStatus.IDLE
    assert len(oracle.trials) == 4


def test_evolution_beats_random_on_a_synthetic_score(tmp_path):
    best = {}
    for name, make in (("evolution", _evolution), ("random", _random)):
        results = []
        for seed in range(3):
            oracle = make(tmp_path / f"{name}{seed}", budget=LOOSE, trials=24, seed=seed)
            drive(oracle, 24)
            results.append(max(capacity(arch_of(t)) for t in oracle.trials.values()))
        best[name] = float(np.mean(results))
    assert best["evolution"] > best["random"]


def test_state_is_json_and_a_reloaded_oracle_continues_identically(tmp_path):
    first = _evolution(tmp_path / "a")
    drive(first, 5)
    json.dumps(first.get_state())  # plain JSON
    reloaded = _evolution(tmp_path / "a")
    reloaded.reload()
    assert reloaded.counters == first.counters and reloaded.queue == first.queue
    drive(first, 7)
    drive(reloaded, 7)
    assert configs(reloaded) == configs(first)
    uninterrupted = _evolution(tmp_path / "b")
    drive(uninterrupted, 12)
    assert configs(uninterrupted) == configs(first)


def test_an_unreachable_budget_is_reported_before_any_trial():
    with pytest.raises(BudgetError, match="not even the smallest sub-network of W=0.3, R=32 fits SRAM 4 kB"):
        EvolutionOracle(SPACE, 0.3, 32, SearchBudget.from_kb(4, 1024), max_trials=4)


def test_bad_evolution_settings_are_refused():
    with pytest.raises(ValueError, match="parent_fraction"):
        EvolutionOracle(SPACE, 0.3, 32, TIGHT, max_trials=4, parent_fraction=1.5)
    for prob in (-1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="mutation_prob"):
            EvolutionOracle(SPACE, 0.3, 32, TIGHT, max_trials=4, mutation_prob=prob)
    with pytest.raises(ValueError, match="max_trials"):
        RandomSearchOracle(SPACE, 0.3, 32, TIGHT, max_trials=0)
