"""keras-tuner oracles over TinyNAS architectures: evolutionary search and its random baseline.

The hyperparameter space is one entry, ``arch``, holding an :class:`~mcunet_tf.arch.ArchConfig`
as canonical JSON. What both oracles share (:class:`ArchOracle`):

* **The budget is enforced before a trial exists.** Every candidate is priced with the
  co-design cost model (peak SRAM from ``tinyengine_gen``'s planner, Flash, estimated
  latency); one over budget is counted in ``rejected_over_budget`` and never becomes a
  trial, so it is never extracted or evaluated.
* **Duplicates are skipped** by the config's canonical JSON (``ArchConfig.key``), counted
  in ``duplicates_skipped``.
* **State is plain JSON** through ``get_state`` / ``set_state``: the numpy generator's
  state, the counters, the configs seen and the evolution's generations, on top of
  keras-tuner's own. It is written atomically (temporary file, fsync, rename), as is
  every trial file, so a search killed at any instant resumes exactly: with the same
  seed, the trials and the best config equal those of an uninterrupted run.
  :meth:`ArchOracle.reload` also repairs the two states a kill can leave between two
  writes (a trial file written before the oracle state that names it; a trial recorded
  complete whose oracle state still shows it running).

:class:`EvolutionOracle` is the evolutionary search of once-for-all / MCUNet: generation 0
is ``population_size`` random configs that fit; each later generation keeps the best
``parent_fraction`` of the population as parents and adds children, ``mutation_share``
of them mutations of a random parent (each choice resampled with ``mutation_prob``) and
the rest uniform crossovers of two random parents, until the population is full again.
A generation is created in one go once the previous one has finished, so with several
workers a request that arrives while the generation is still being evaluated gets an
``IDLE`` answer and asks again. :class:`RandomSearchOracle` draws uniformly random
configs that fit, with the same budget, dedup and trial count.
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras_tuner as kt
import numpy as np

from mcunet_tf.arch import ArchConfig
from mcunet_tf.errors import BudgetError
from mcunet_tf.sampling import crossover_arch, mutate_arch
from mcunet_tf.search.budget import Pricer, SearchBudget
from mcunet_tf.search.persistence import AtomicOracleFiles
from mcunet_tf.space import SearchSpace
from mcunet_tf.training.shrinking import SubnetSampler

__all__ = ["ARCH", "OBJECTIVE", "ArchOracle", "EvolutionOracle", "RandomSearchOracle", "arch_of"]

#: Name of the one hyperparameter (the config's JSON) and of the objective metric.
ARCH = "arch"
OBJECTIVE = "val_accuracy"
_RUNNING, _IDLE, _STOPPED = (
    kt.engine.trial.TrialStatus.RUNNING,
    kt.engine.trial.TrialStatus.IDLE,
    kt.engine.trial.TrialStatus.STOPPED,
)


def arch_of(trial: Any) -> ArchConfig:
    """The architecture a trial evaluates."""
    return ArchConfig.from_json(trial.hyperparameters.get(ARCH))


class ArchOracle(AtomicOracleFiles, kt.Oracle):
    """Budget check, dedup, counters and a JSON-saved numpy generator; subclasses choose candidates."""

    def __init__(
        self,
        space: SearchSpace,
        width: float,
        resolution: int,
        budget: SearchBudget,
        *,
        max_trials: int,
        seed: int = 0,
        max_draws: int = 500,
        pricer: Pricer | None = None,
        **kwargs: Any,
    ) -> None:
        if max_trials < 1:
            raise ValueError(f"search: max_trials must be at least 1, got {max_trials}.")
        self.space, self.width, self.resolution, self.budget = space, float(width), int(resolution), budget
        self.sampler = SubnetSampler(space, self.width, self.resolution)
        hyperparameters = kt.HyperParameters()
        hyperparameters.Fixed(ARCH, self.sampler.smallest().to_json())
        super().__init__(
            objective=kt.Objective(OBJECTIVE, "max"),
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=False,
            tune_new_entries=False,
            seed=seed + 1,  # keras-tuner treats seed 0 as "pick one at random"
            **kwargs,
        )
        self.verbose = 0  # keras-tuner's per-trial printout; the command line prints its own summary
        self.max_draws = int(max_draws)
        self._pricer = pricer
        self._rng = np.random.default_rng(seed)
        self.counters = {
            "candidates_drawn": 0,
            "rejected_over_budget": 0,
            "duplicates_skipped": 0,
            "random_fallbacks": 0,
        }
        self._tried: set[str] = set()
        self._rejected: set[str] = set()
        self._check_reachable()

    # ----- candidates -------------------------------------------------------------------
    @property
    def pricer(self) -> Pricer:
        if self._pricer is None:
            self._pricer = Pricer(self.space)
        return self._pricer

    def _check_reachable(self) -> None:
        smallest = self.sampler.smallest()
        price = self.pricer.price(smallest, self.budget)
        if not self.budget.fits(price):
            raise BudgetError(
                f"budget: not even the smallest sub-network of W={self.width:g}, R={self.resolution} fits "
                f"{self.budget.describe()} ({'; '.join(self.budget.violations(price))}); raise the budget or choose "
                "a smaller (W, R) space."
            )

    def accept(self, config: ArchConfig) -> bool:
        """Whether ``config`` is new and fits; counts what it is not. Accepted configs are marked tried."""
        key = config.key()
        self.counters["candidates_drawn"] += 1
        if key in self._tried:
            self.counters["duplicates_skipped"] += 1
            return False
        if key in self._rejected or not self.budget.fits(self.pricer.price(config, self.budget)):
            self._rejected.add(key)
            self.counters["rejected_over_budget"] += 1
            return False
        self._tried.add(key)
        return True

    def draw(self, propose) -> ArchConfig | None:
        """The first of up to ``max_draws`` proposals (``propose()`` -> config) that :meth:`accept` takes."""
        for _ in range(self.max_draws):
            config = propose()
            if self.accept(config):
                return config
        return None

    def random_config(self) -> ArchConfig:
        return self.sampler.sample(self._rng)

    @staticmethod
    def _values(config: ArchConfig) -> dict[str, Any]:
        return {"status": _RUNNING, "values": {ARCH: config.to_json()}}

    # ----- state ------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["arch_oracle"] = {
            "rng": self._rng.bit_generator.state,
            "counters": dict(self.counters),
            "tried": sorted(self._tried),
            "rejected": sorted(self._rejected),
        }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        mine = state["arch_oracle"]
        self._rng.bit_generator.state = mine["rng"]
        self.counters = dict(mine["counters"])
        self._tried = set(mine["tried"])
        self._rejected = set(mine["rejected"])

    def stats(self) -> dict[str, int]:
        return dict(self.counters, trials=len(self.trials))


class RandomSearchOracle(ArchOracle):
    """Uniformly random configs that fit the budget (the baseline evolution must beat)."""

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        config = self.draw(self.random_config)
        if config is None:
            return {"status": _STOPPED, "values": None}
        return self._values(config)


class EvolutionOracle(ArchOracle):
    """Evolutionary search with mutation and crossover; see the module text for the algorithm."""

    def __init__(
        self,
        space: SearchSpace,
        width: float,
        resolution: int,
        budget: SearchBudget,
        *,
        population_size: int = 16,
        parent_fraction: float = 0.25,
        mutation_prob: float = 0.1,
        mutation_share: float = 0.5,
        idle_wait_s: float = 0.05,
        **kwargs: Any,
    ) -> None:
        shares_ok = 0 <= mutation_share <= 1 and 0 <= mutation_prob <= 1  # False for NaN too
        if population_size < 2 or not 0 < parent_fraction < 1 or not shares_ok:
            raise ValueError(
                "evolution: population_size must be >= 2, parent_fraction in (0, 1), mutation_prob and mutation_share "
                "in [0, 1]."
            )
        self.population_size = int(population_size)
        self.parent_fraction = float(parent_fraction)
        self.mutation_prob = float(mutation_prob)
        self.mutation_share = float(mutation_share)
        self.idle_wait_s = float(idle_wait_s)
        self.generation = -1
        self.queue: list[str] = []
        self.generation_trials: list[str] = []
        self.parents: list[str] = []
        self.trial_generation: dict[str, int] = {}
        super().__init__(space, width, resolution, budget, **kwargs)

    @property
    def num_parents(self) -> int:
        return max(1, math.ceil(self.population_size * self.parent_fraction))

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        if not self.queue:
            if any(t not in self.end_order for t in self.generation_trials):
                time.sleep(self.idle_wait_s)  # another worker is still evaluating this generation
                return {"status": _IDLE}
            self._next_generation()
            if not self.queue:
                return {"status": _STOPPED, "values": None}
        config = ArchConfig.from_json(self.queue.pop(0))
        self.generation_trials.append(trial_id)
        self.trial_generation[trial_id] = self.generation
        return self._values(config)

    def _next_generation(self) -> None:
        """Select parents from the finished generation and queue the children of the next one."""
        population = self.population()
        self.generation += 1
        self.generation_trials = []
        if not population:
            children = [self.draw(self.random_config) for _ in range(self.population_size)]
        else:
            self.parents = [trial_id for trial_id, _ in population[: self.num_parents]]
            parents = [arch_of(self.trials[t]) for t in self.parents]
            wanted = self.population_size - len(parents)
            mutations = round(wanted * self.mutation_share)
            children = [self._child("mutation", parents) for _ in range(mutations)]
            children += [self._child("crossover", parents) for _ in range(wanted - mutations)]
        self.queue = [c.to_json() for c in children if c is not None]

    def _child(self, kind: str, parents: list[ArchConfig]) -> ArchConfig | None:
        """A new config by ``kind`` ('mutation' or 'crossover'), falling back when its neighbourhood is used up.

        Crossovers of near-identical parents run out first: they fall back to mutation.
        Near the budget's edge most mutants of the best parents do not fit: then a random
        config that fits keeps the generation full (counted in ``random_fallbacks``).
        """
        moves = (self._cross, self._mutant) if kind == "crossover" else (self._mutant,)
        for move in moves:
            child = self.draw(lambda move=move: move(parents))
            if child is not None:
                return child
        self.counters["random_fallbacks"] += 1
        return self.draw(self.random_config)

    def population(self) -> list[tuple[str, float]]:
        """(trial id, score) of the current population, best first: parents plus the last generation's results."""
        members = []
        for trial_id in self.parents + self.generation_trials:
            trial = self.trials.get(trial_id)
            if (
                trial is not None
                and trial.status == "COMPLETED"
                and trial.score is not None
                and math.isfinite(trial.score)
            ):
                members.append((trial_id, float(trial.score)))
        members.sort(key=lambda m: (-m[1], m[0]))
        return members[: self.population_size]

    def _mutant(self, parents: list[ArchConfig]) -> ArchConfig:
        parent = parents[int(self._rng.integers(len(parents)))]
        return mutate_arch(parent, self.sampler.phase_space, self._rng, self.mutation_prob)

    def _cross(self, parents: list[ArchConfig]) -> ArchConfig:
        if len(parents) < 2:
            return self._mutant(parents)
        first, second = (parents[int(i)] for i in self._rng.choice(len(parents), size=2, replace=False))
        return crossover_arch(first, second, self.sampler.phase_space, self._rng)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["evolution"] = {
            "generation": self.generation,
            "queue": list(self.queue),
            "generation_trials": list(self.generation_trials),
            "parents": list(self.parents),
            "trial_generation": dict(self.trial_generation),
        }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        evolution = state["evolution"]
        self.generation = int(evolution["generation"])
        self.queue = list(evolution["queue"])
        self.generation_trials = list(evolution["generation_trials"])
        self.parents = list(evolution["parents"])
        self.trial_generation = dict(evolution["trial_generation"])
