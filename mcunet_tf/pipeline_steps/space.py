"""Step 1, search-space optimisation: rank the (W, R) spaces by what their fitting sub-networks compute."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcunet_tf.cost_model import CostModel
from mcunet_tf.errors import BudgetError
from mcunet_tf.pipeline_steps.step import StepResult
from mcunet_tf.space.cdf_plot import write_macs_cdf
from mcunet_tf.space.ranking import Budget, check_budget_reachable, rank_spaces, sample_spaces
from tinyengine_gen.atomic_io import write_json_atomically

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["SpaceResult", "SpaceStep"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpaceResult(StepResult):
    width: float
    resolution: int
    fitting_fraction: float
    mean_macs: float
    spaces: int
    samples: int
    patch: str
    patch_max_overhead: float
    #: stages receptive-field redistribution restricts (PipelineOptions.redistributed_stages)
    redistribute_rf: int
    ranking: list[dict[str, Any]]  # the five best spaces, as space.ranking writes them


class SpaceStep:
    name = "space"
    title = "search-space optimisation"
    result_type = SpaceResult

    def run(self, context: RunContext, folder: Path) -> SpaceResult:
        o = context.options
        budget = Budget.from_kb(o.sram_kb, o.flash_kb)
        space = dataclasses.replace(context.layout_space(o.widths[0], o.resolutions[0]), widths=o.widths,
                                    resolutions=o.resolutions)
        check_budget_reachable(space, budget, CostModel(space, options=o.compile_options, weight_bits=o.weight_bits))
        processes = 1 if o.work.space_samples * len(o.widths) * len(o.resolutions) <= 2000 else None
        samples = sample_spaces(space, o.work.space_samples, o.seed, processes=processes,
                                flash_limit=budget.flash_bytes, sram_limit=budget.sram_bytes,
                                options=o.compile_options, weight_bits=o.weight_bits)
        ranked = rank_spaces(samples, budget)
        if not ranked:
            raise BudgetError(f"budget: in no (W, R) space do 10 % of the samples fit {budget.describe()}.")
        best = ranked[0]
        write_macs_cdf(folder / "search_space_cdf.png", ranked[:5], budget)
        write_json_atomically(folder / "ranking.json", [s.to_dict() for s in ranked])
        return SpaceResult(
            width=best.width, resolution=best.resolution, fitting_fraction=best.fitting_fraction,
            mean_macs=best.mean_macs, spaces=len(samples), samples=o.work.space_samples,
            patch=o.patch, patch_max_overhead=o.patch_max_overhead, redistribute_rf=o.redistributed_stages,
            ranking=[s.to_dict() for s in ranked[:5]],
            summary=f"best space W={best.width:g} R={best.resolution} ({best.fitting_fraction:.0%} fit, "
                    f"mean {best.mean_macs / 1e6:.2f} M MACs) of {len(samples)}",
        )
