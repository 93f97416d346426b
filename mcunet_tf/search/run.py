"""One search job end to end: oracle + tuner over a trained supernet, then the result files.

:func:`run_search` is what ``python -m mcunet_tf.search`` runs and what the benchmark
calls in process. A project folder that already holds a search is resumed (keras-tuner
reloads the oracle and its trials); ``overwrite`` starts over. In keras-tuner's
distributed mode (``KERASTUNER_TUNER_ID`` / ``KERASTUNER_ORACLE_IP`` / ``_PORT`` set) the
chief serves the oracle and writes the results once every worker is done; workers only
evaluate trials.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcunet_tf.firmware_cost import FirmwareCostModel, firmware_cost_model
from mcunet_tf.cost_model import patch_options
from mcunet_tf.search.budget import Pricer, SearchBudget
from mcunet_tf.search.latency import CORTEX_M7_216MHZ, LatencyModel
from mcunet_tf.search.oracle import ArchOracle, EvolutionOracle, RandomSearchOracle
from mcunet_tf.search.results import TrialRow, best_row, trial_rows, write_results
from mcunet_tf.search.tuner import EvaluationOptions, SubnetTuner
from mcunet_tf.training.checkpointing import SupernetManifest, check_checkpoint
from tinyengine_gen.compiler import CompileOptions

__all__ = ["ALGORITHMS", "SearchJob", "SearchOutcome", "is_distributed_worker", "make_oracle", "run_search"]

ALGORITHMS = ("evolution", "random")


@dataclasses.dataclass(frozen=True)
class SearchJob:
    supernet: Path
    budget: SearchBudget
    trials: int
    project_dir: Path
    algorithm: str = "evolution"
    seed: int = 0
    population_size: int = 16
    parent_fraction: float = 0.25
    mutation_prob: float = 0.1
    mutation_share: float = 0.5
    evaluation: EvaluationOptions = dataclasses.field(default_factory=EvaluationOptions)
    latency: LatencyModel = CORTEX_M7_216MHZ
    overwrite: bool = False
    #: a board with a firmware calibration (mcunet_tf/calibration/<board>.json): the budget
    #: is then checked against the firmware's Flash and SRAM and latency is its estimate
    board: str | None = None
    #: "auto": price and compile with the patch schedule tinyengine_gen --patch=auto picks; "off": layer-wise
    patch: str = "auto"
    patch_max_overhead: float = 0.2

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"search: algorithm {self.algorithm!r} is not one of {list(ALGORITHMS)}.")
        if self.trials < 1:
            raise ValueError(f"search: --trials must be at least 1, got {self.trials}.")
        if self.patch not in ("auto", "off") or self.patch_max_overhead < 0:
            raise ValueError(
                f"search: --patch must be auto or off and --patch_max_overhead at least 0, got "
                f"{self.patch!r} and {self.patch_max_overhead}."
            )

    @property
    def compile_options(self) -> CompileOptions:
        return patch_options(self.patch, self.patch_max_overhead)


@dataclasses.dataclass(frozen=True, eq=False)
class SearchOutcome:
    rows: list[TrialRow]
    best: TrialRow | None
    stats: dict[str, int]
    files: dict[str, Path]
    #: False in a distributed worker (the chief writes the files)
    wrote_results: bool


def is_distributed_worker() -> bool:
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def _firmware(job: SearchJob) -> FirmwareCostModel | None:
    return firmware_cost_model(job.board) if job.board is not None else None


def make_oracle(job: SearchJob, manifest: SupernetManifest) -> ArchOracle:
    pricer = Pricer(manifest.space, job.latency, _firmware(job), job.compile_options, job.budget.weight_bits)
    common: dict[str, Any] = {"max_trials": job.trials, "seed": job.seed, "pricer": pricer}
    args = (manifest.space, manifest.width, manifest.resolution, job.budget)
    if job.algorithm == "random":
        return RandomSearchOracle(*args, **common)
    return EvolutionOracle(
        *args,
        population_size=job.population_size,
        parent_fraction=job.parent_fraction,
        mutation_prob=job.mutation_prob,
        mutation_share=job.mutation_share,
        **common,
    )


def run_search(job: SearchJob, log: Callable[[str], None] = print) -> SearchOutcome:
    """Search, then write the result files; a bad supernet or setup stops it first (nothing written).

    The checkpoint is read whole before the tuner (and its folder) exists, and a trial that
    cannot load what every trial needs raises keras-tuner's ``FatalError``
    (:class:`~mcunet_tf.search.tuner.SearchSetupError`), which ends ``tuner.search`` at
    once: the result files are only written after a search that ran.
    """
    manifest = SupernetManifest.read(job.supernet)
    oracle = make_oracle(job, manifest)  # refuses a budget nothing fits
    check_checkpoint(job.supernet)
    tuner = SubnetTuner(
        oracle,
        job.supernet,
        project_dir=job.project_dir,
        evaluation=job.evaluation,
        latency=job.latency,
        firmware=_firmware(job),
        overwrite=job.overwrite,
        compile_options=job.compile_options,
        weight_bits=job.budget.weight_bits,
    )
    tuner.search(verbose=0)
    if is_distributed_worker():
        return SearchOutcome([], None, {}, {}, False)
    rows = trial_rows(oracle)
    stats = oracle.stats()
    summary = {
        "algorithm": job.algorithm,
        "seed": job.seed,
        "budget": job.budget.to_dict(),
        "latency_model": (_firmware(job) or job.latency).describe(),
        "patch": {"mode": job.patch, "max_overhead": job.patch_max_overhead},
        "supernet": {"width": manifest.width, "resolution": manifest.resolution, "dataset": manifest.data.name},
        "counters": stats,
        "title": f"{job.algorithm} search, W={manifest.width:g} R={manifest.resolution}, {job.budget.describe()}",
    }
    files = write_results(job.project_dir, rows, summary)
    best = best_row(rows)
    log(_summary_line(job, rows, best, stats))
    return SearchOutcome(rows, best, stats, files, True)


def _summary_line(job: SearchJob, rows: list[TrialRow], best: TrialRow | None, stats: dict[str, int]) -> str:
    counters = (
        f"{stats.get('trials', 0)} trials, {stats.get('rejected_over_budget', 0)} candidates rejected over budget "
        f"before evaluation, {stats.get('duplicates_skipped', 0)} duplicates skipped"
    )
    if best is None:
        return f"{job.algorithm} search under {job.budget.describe()}: no completed trial ({counters})."
    m = best.metrics
    return (
        f"{job.algorithm} search under {job.budget.describe()}: best trial {best.trial_id} val accuracy "
        f"{best.accuracy:.4f}, {m['macs'] / 1e6:.2f} M MACs, peak SRAM {m['peak_sram_kb']:.1f} kB, Flash "
        f"{m['flash_kb']:.1f} kB, latency {m['latency_ms']:.2f} ms ({counters}); results in {job.project_dir}"
    )
