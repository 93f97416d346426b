"""Search-space optimisation, the first stage of TinyNAS: which (W, R) space to search in.

For every width multiplier W and resolution R, sample ``m`` sub-networks uniformly, price
them with the cost model, keep those that fit the memory budget, and look at the
distribution of their MACs. MCUNet's observation is that, under the same memory budget,
a space whose fitting networks have more MACs tends to hold more accurate networks, so
spaces are ranked by the mean MACs of their fitting networks (a percentile is reported
beside it and can be used instead).

Sampling and pricing does not depend on the budget, so :func:`sample_spaces` runs once
(in parallel over processes) and :func:`rank_spaces` scores any number of budgets from
its result; that is what makes the paper's budget grid cheap.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from mcunet_tf.arch import ArchConfig, BlockChoice
from mcunet_tf.cost_model import Cost, CostModel
from tinyengine_gen.compiler import CompileOptions
from mcunet_tf.errors import BudgetError
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace

__all__ = [
    "Budget",
    "SpaceSample",
    "SpaceScore",
    "smallest_arch",
    "sample_space",
    "sample_spaces",
    "score_space",
    "rank_spaces",
    "check_budget_reachable",
]

KIB = 1024


@dataclasses.dataclass(frozen=True)
class Budget:
    """Memory of the target microcontroller: SRAM for the arena, Flash for weights and code (bytes)."""

    sram_bytes: int
    flash_bytes: int

    def __post_init__(self) -> None:
        if self.sram_bytes <= 0 or self.flash_bytes <= 0:
            raise BudgetError(
                f"budget: SRAM {self.sram_bytes} B and Flash {self.flash_bytes} B must both be positive."
            )

    @classmethod
    def from_kb(cls, sram_kb: float, flash_kb: float) -> "Budget":
        """Budget in kB (1 kB = 1024 bytes, as microcontroller datasheets count)."""
        if sram_kb <= 0 or flash_kb <= 0:
            raise BudgetError(f"budget: SRAM {sram_kb} kB and Flash {flash_kb} kB must both be positive.")
        return cls(int(sram_kb * KIB), int(flash_kb * KIB))

    def fits(self, cost: Cost) -> bool:
        return cost.peak_sram_bytes <= self.sram_bytes and cost.flash_bytes <= self.flash_bytes

    def describe(self) -> str:
        return f"SRAM {self.sram_bytes / KIB:g} kB, Flash {self.flash_bytes / KIB:g} kB"


@dataclasses.dataclass(frozen=True, eq=False)
class SpaceSample:
    """The priced random sub-networks of one (W, R) space (independent of any budget)."""

    width: float
    resolution: int
    macs: np.ndarray
    peak_sram_bytes: np.ndarray
    flash_bytes: np.ndarray

    @property
    def size(self) -> int:
        return int(self.macs.size)

    def fitting(self, budget: Budget) -> np.ndarray:
        """Boolean mask of the samples that meet ``budget``."""
        return (self.peak_sram_bytes <= budget.sram_bytes) & (self.flash_bytes <= budget.flash_bytes)


@dataclasses.dataclass(frozen=True)
class SpaceScore:
    """How good a (W, R) space is under one budget: its fitting fraction and fitting MACs."""

    width: float
    resolution: int
    sampled: int
    fitting: int
    mean_macs: float
    percentile_macs: float
    percentile: float
    #: sorted MACs of the fitting sub-networks (the empirical CDF)
    fitting_macs: tuple[int, ...]

    @property
    def fitting_fraction(self) -> float:
        return self.fitting / self.sampled if self.sampled else 0.0

    def to_dict(self, include_macs: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {
            "width": self.width,
            "resolution": self.resolution,
            "sampled": self.sampled,
            "fitting": self.fitting,
            "fitting_fraction": self.fitting_fraction,
            "mean_macs": self.mean_macs,
            f"p{self.percentile:g}_macs": self.percentile_macs,
        }
        if include_macs:
            result["fitting_macs"] = list(self.fitting_macs)
        return result


def smallest_arch(space: SearchSpace) -> ArchConfig:
    """The cheapest sub-network of the whole search space (every choice at its minimum)."""
    stages = []
    for index in range(len(space.stages)):
        choices = space.stage_choices(index)
        block = BlockChoice(min(choices.kernel_sizes), min(choices.expand_ratios))
        stages.append((block,) * min(choices.depths))
    return ArchConfig(space.widths[0], space.resolutions[0], tuple(stages))


def check_budget_reachable(
    space: SearchSpace, budget: Budget, cost_model: CostModel | None = None, options: CompileOptions | None = None
) -> Cost:
    """Fail fast, before any sampling, when not even the smallest sub-network fits ``budget``."""
    cost = (cost_model or CostModel(space, options=options)).cost(smallest_arch(space))
    if not budget.fits(cost):
        raise BudgetError(
            f"budget: nothing in the search space fits {budget.describe()}: the smallest sub-network needs "
            f"{cost.peak_sram_bytes / KIB:.1f} kB SRAM and {cost.flash_bytes / KIB:.1f} kB Flash."
        )
    return cost


def sample_space(
    space: SearchSpace,
    width: float,
    resolution: int,
    samples: int,
    seed: int,
    cost_model: CostModel | None = None,
    flash_limit: int | None = None,
    sram_limit: int | None = None,
) -> SpaceSample:
    """Price ``samples`` uniform sub-networks of the (W, R) space; the seed and (W, R) fix the draws.

    Sub-networks whose Flash exceeds ``flash_limit`` (the largest Flash budget that will be
    scored) get ``SRAM_NOT_PLANNED`` as their peak SRAM: they fit none of those budgets.
    Likewise ``sram_limit``, the largest SRAM budget that will be scored: a sub-network whose
    peak surely exceeds it is not planned, and the patch search skips the schedules that
    could only matter above it (:meth:`CostModel.price`); every sub-network that fits such a
    budget is priced exactly as without the limits.
    """
    if samples < 1:
        raise BudgetError(f"samples per space must be at least 1, got {samples}.")
    model = cost_model or CostModel(space)
    rng = np.random.default_rng((seed, round(width * 1000), resolution))
    with model.batch():
        costs = [
            model.cost(
                sample_arch(space, rng, width=width, resolution=resolution), flash_limit=flash_limit,
                sram_limit=sram_limit,
            )
            for _ in range(samples)
        ]
    return SpaceSample(
        width=width,
        resolution=resolution,
        macs=np.array([c.macs for c in costs], dtype=np.int64),
        peak_sram_bytes=np.array([c.peak_sram_bytes for c in costs], dtype=np.int64),
        flash_bytes=np.array([c.flash_bytes for c in costs], dtype=np.int64),
    )


_WORKER_MODEL: CostModel | None = None


def _init_worker(space: SearchSpace, options: CompileOptions | None = None, weight_bits: int = 8) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = CostModel(space, options=options, weight_bits=weight_bits)


def _sample_task(args: tuple[SearchSpace, float, int, int, int, int | None, int | None]) -> SpaceSample:
    space, width, resolution, samples, seed, flash_limit, sram_limit = args
    return sample_space(space, width, resolution, samples, seed, _WORKER_MODEL, flash_limit, sram_limit)


def sample_spaces(
    space: SearchSpace,
    samples: int,
    seed: int = 0,
    *,
    processes: int | None = None,
    widths: Sequence[float] | None = None,
    resolutions: Sequence[int] | None = None,
    flash_limit: int | None = None,
    options: CompileOptions | None = None,
    weight_bits: int = 8,
    sram_limit: int | None = None,
) -> list[SpaceSample]:
    """Sample every (W, R) space, in parallel over ``processes`` (default: all cores), in (W, R) order.

    ``flash_limit`` is the largest Flash budget the samples will be scored against (see
    :func:`sample_space`); leave it None to plan the memory of every sample; ``sram_limit``
    likewise for the largest SRAM budget (None: every sample's exact peak). ``options`` are
    the engine's compile options the cost model prices with (``patch_options("auto")``: peak
    SRAM with the patch schedule ``tinyengine_gen --patch=auto`` would pick, MACs with its
    recomputed halos).
    ``weight_bits`` 4 prices Flash with 4-bit weights packed two per byte.
    """
    tasks = [
        (space, float(w), int(r), samples, seed, flash_limit, sram_limit)
        for w in (space.widths if widths is None else widths)
        for r in (space.resolutions if resolutions is None else resolutions)
    ]
    processes = max(1, min(processes or os.cpu_count() or 1, len(tasks)))
    if processes == 1:
        _init_worker(space, options, weight_bits)
        results = [_sample_task(t) for t in tasks]
    else:
        # spawn, not fork: the caller may have started TensorFlow's threads, which fork would copy mid-lock.
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes, initializer=_init_worker, initargs=(space, options, weight_bits)) as pool:
            results = pool.map(_sample_task, tasks, chunksize=1)
    return results


def score_space(sample: SpaceSample, budget: Budget, percentile: float = 80.0) -> SpaceScore:
    """Fitting fraction and MACs statistics of one sampled space under ``budget``."""
    if not 0.0 <= percentile <= 100.0:
        raise BudgetError(f"percentile {percentile} must lie in [0, 100].")
    fitting = np.sort(sample.macs[sample.fitting(budget)])
    has_fitting = fitting.size > 0
    return SpaceScore(
        width=sample.width,
        resolution=sample.resolution,
        sampled=sample.size,
        fitting=int(fitting.size),
        mean_macs=float(fitting.mean()) if has_fitting else 0.0,
        percentile_macs=float(np.percentile(fitting, percentile)) if has_fitting else 0.0,
        percentile=float(percentile),
        fitting_macs=tuple(int(v) for v in fitting),
    )


def rank_spaces(
    samples: Iterable[SpaceSample],
    budget: Budget,
    *,
    percentile: float = 80.0,
    rank_by: str = "mean",
    min_fitting_fraction: float = 0.1,
) -> list[SpaceScore]:
    """Spaces best first by the mean (or percentile) MACs of their fitting sub-networks.

    Spaces where fewer than ``min_fitting_fraction`` of the samples fit are left out: their
    statistics rest on a handful of networks, and the second search stage would find
    little to choose from in them.
    """
    if rank_by not in ("mean", "percentile"):
        raise BudgetError(f"rank_by must be 'mean' or 'percentile', got {rank_by!r}.")
    scores = [score_space(s, budget, percentile) for s in samples]
    eligible = [s for s in scores if s.fitting > 0 and s.fitting_fraction >= min_fitting_fraction]

    def key(score: SpaceScore) -> tuple[float, float, float, int]:
        primary = score.mean_macs if rank_by == "mean" else score.percentile_macs
        return (-primary, -score.fitting_fraction, score.width, score.resolution)

    return sorted(eligible, key=key)
