"""Step 3, evolutionary search: the best sub-network of the supernet within the SRAM / Flash budget."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcunet_tf.pipeline_steps.config import PipelineError
from mcunet_tf.pipeline_steps.step import StepResult
from mcunet_tf.search.budget import SearchBudget
from mcunet_tf.search.run import SearchJob, run_search
from mcunet_tf.search.tuner import EvaluationOptions

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["SearchResult", "SearchStep"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchResult(StepResult):
    trials: int
    rejected_over_budget: int
    duplicates_skipped: int
    #: the best trial: trial_id, val_accuracy, its metrics (peak_sram_kb, flash_kb ...) and arch_json
    best: dict[str, Any]
    patch_based_trials: int


class SearchStep:
    name = "search"
    title = "evolutionary search"
    result_type = SearchResult

    def run(self, context: RunContext, folder: Path) -> SearchResult:
        o, w = context.options, context.options.work
        job = SearchJob(
            supernet=context.out / "supernet",
            budget=dataclasses.replace(SearchBudget.from_kb(o.sram_kb, o.flash_kb), weight_bits=o.weight_bits),
            trials=w.trials,
            project_dir=folder, seed=o.seed, population_size=w.population,
            evaluation=EvaluationOptions(eval_examples=w.eval_examples),
            patch=o.patch, patch_max_overhead=o.patch_max_overhead,
        )
        outcome = run_search(job, log=lambda line: None)
        if outcome.best is None:
            raise PipelineError("search: no trial completed; raise --trials or the budget.")
        best = outcome.best
        return SearchResult(
            trials=outcome.stats.get("trials", len(outcome.rows)),
            rejected_over_budget=outcome.stats.get("rejected_over_budget", 0),
            duplicates_skipped=outcome.stats.get("duplicates_skipped", 0),
            best={"trial_id": best.trial_id, "val_accuracy": best.accuracy, **dict(best.metrics), "arch_json": best.arch},
            patch_based_trials=sum(1 for r in outcome.rows if r.metrics.get("patch_grid", 0.0) > 0),
            summary=f"best of {len(outcome.rows)} trials: val accuracy {best.accuracy:.3f}, "
                    f"peak SRAM {best.metrics['peak_sram_kb']:.1f} kB, Flash {best.metrics['flash_kb']:.1f} kB",
        )
