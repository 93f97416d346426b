"""python -m mcunet_tf.search_space: rank the 108 (W, R) spaces of TinyNAS under a memory budget.

    python -m mcunet_tf.search_space --sram_kb=320 --flash_kb=1024 [--samples=1000] [--patch=auto|off] [--out=DIR]
    python -m mcunet_tf.search_space --grid      # the paper's table: best (W, R) per SRAM x Flash

Prints the best spaces with their fitting fraction and MACs statistics, and writes
``search_space_sram{S}_flash{F}.json`` (every space's scores) and a CDF plot of the best
spaces' fitting MACs under ``--out``; ``--grid`` prints and writes
``search_space_grid.json``. Bad input (a negative budget, one that nothing in the space
fits) is reported in one line with exit status 2. Flags are read here only; the work is
done by :mod:`mcunet_tf.space.ranking` on a :class:`SearchSpaceJob`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from absl import flags

from mcunet_tf.cost_model import patch_options
from mcunet_tf.errors import BudgetError, McunetError
from mcunet_tf.space import SearchSpace, redistribute_receptive_field
from mcunet_tf.space.cdf_plot import write_macs_cdf
from mcunet_tf.space.ranking import (
    KIB,
    Budget,
    SpaceSample,
    SpaceScore,
    check_budget_reachable,
    rank_spaces,
    sample_spaces,
)
from tinyengine_gen import cli, flag_rules
from tinyengine_gen.atomic_io import write_json_atomically
from tinyengine_gen.compiler import CompileOptions

__all__ = ["SearchSpaceJob", "GRID_SRAM_KB", "GRID_FLASH_KB", "run_single", "run_grid", "format_ranking", "format_grid"]

REPORT_VERSION = 1
#: The budgets of MCUNet's table of the best width and resolution.
GRID_SRAM_KB = (192, 256, 320, 384, 448, 512)
GRID_FLASH_KB = (512, 1024, 1536, 2048)

FLAGS = flags.FLAGS
flags.DEFINE_float("sram_kb", 320, "SRAM budget in kB (1 kB = 1024 B): the arena's peak must fit.")
flags.DEFINE_float("flash_kb", 1024, "Flash budget in kB: weights, quantisation parameters and code must fit.")
flags.DEFINE_integer("samples", 1000, "m: sub-networks sampled per (W, R) space.")
flags.DEFINE_integer("seed", 0, "Seed of the sampling (each space draws from (seed, W, R)).")
flags.DEFINE_float("percentile", 80, "Percentile of fitting MACs reported (ranked by with --rank_by=percentile).")
flags.DEFINE_enum("rank_by", "mean", ["mean", "percentile"], "Rank spaces by the mean or the percentile of MACs.")
flags.DEFINE_float("min_fitting_fraction", 0.1, "Spaces where fewer samples than this fraction fit are not ranked.")
flags.DEFINE_integer("top", 10, "How many spaces to print.")
flags.DEFINE_integer("plot_top", 5, "How many of the best spaces the CDF plot shows.")
flags.DEFINE_enum("weight_bits", "8", ["4", "8"], "Bits per stored weight the Flash is priced at (4: packed int4).")
flags.DEFINE_integer("processes", 0, "Worker processes (0: one per core).")
flags.DEFINE_integer("classes", 1000, "Classifier outputs (1000 for ImageNet; the classifier is part of Flash).")
flags.DEFINE_string("out", "out/search_space", "Folder for the JSON report and the CDF plot.")
flags.DEFINE_boolean("grid", False, "Fill the table of the best (W, R) over the paper's SRAM x Flash budgets.")
for _name in ("sram_kb", "flash_kb"):
    flag_rules.positive_number(_name)
flag_rules.number_in("percentile", 0, 100)
flag_rules.probability("min_fitting_fraction")
flag_rules.at_least("samples", 1)
flag_rules.at_least("top", 1)
flag_rules.at_least("plot_top", 0)
flag_rules.at_least("processes", 0)
flag_rules.at_least("classes", 1)
flag_rules.folder_path("out")
flags.DEFINE_enum(
    "patch", "auto", ["auto", "off"],
    "auto: price peak SRAM with the patch schedule tinyengine_gen --patch=auto picks (MCUNetV2), MACs with its "
    "recomputed halos; off: layer-wise memory only.",
)
flags.DEFINE_float("patch_max_overhead", 0.2, "With --patch=auto: the most extra MACs (fraction) a schedule may add.")
flags.DEFINE_integer(
    "redistribute_rf", 0,
    "Receptive-field redistribution (MCUNetV2): the first N stages choose only kernel 3 and the smaller expand "
    "ratios, the stage after them only its deeper depths (0: off).",
)


@dataclasses.dataclass(frozen=True)
class SearchSpaceJob:
    """Everything one run needs, validated; built from the flags at the command-line edge."""

    budget: Budget
    samples: int
    seed: int
    percentile: float
    rank_by: str
    min_fitting_fraction: float
    top: int
    plot_top: int
    processes: int
    space: SearchSpace
    out: Path
    #: "auto" (patch-based memory, as tinyengine_gen --patch=auto compiles) or "off" (layer-wise)
    patch: str = "auto"
    patch_max_overhead: float = 0.2
    #: bits per stored weight the Flash is priced at (4: packed two per byte, MCUNet's int4)
    weight_bits: int = 8

    def __post_init__(self) -> None:
        if self.patch not in ("auto", "off"):
            raise BudgetError(f"--patch must be auto or off, got {self.patch!r}.")
        if self.patch_max_overhead < 0:
            raise BudgetError(f"--patch_max_overhead must be at least 0, got {self.patch_max_overhead}.")
        if self.samples < 1:
            raise BudgetError(f"--samples must be at least 1, got {self.samples}.")
        if not 0 <= self.percentile <= 100:
            raise BudgetError(f"--percentile must lie in [0, 100], got {self.percentile}.")
        if not 0 <= self.min_fitting_fraction <= 1:
            raise BudgetError(f"--min_fitting_fraction must lie in [0, 1], got {self.min_fitting_fraction}.")
        if self.top < 1 or self.plot_top < 0 or self.processes < 0:
            raise BudgetError("--top must be at least 1, --plot_top and --processes at least 0.")

    def rank(self, samples: Sequence[SpaceSample], budget: Budget) -> list[SpaceScore]:
        return rank_spaces(
            samples,
            budget,
            percentile=self.percentile,
            rank_by=self.rank_by,
            min_fitting_fraction=self.min_fitting_fraction,
        )

    def sample(self, flash_limit: int, sram_limit: int | None = None) -> tuple[list[SpaceSample], float]:
        """Every space's priced samples for budgets of at most ``flash_limit`` B of Flash (and
        ``sram_limit`` B of SRAM), and the seconds taken."""
        started = time.perf_counter()
        samples = sample_spaces(
            self.space,
            self.samples,
            self.seed,
            processes=self.processes or None,
            flash_limit=flash_limit,
            sram_limit=sram_limit,
            options=self.compile_options,
            weight_bits=self.weight_bits,
        )
        return samples, time.perf_counter() - started

    @property
    def compile_options(self) -> CompileOptions:
        return patch_options(self.patch, self.patch_max_overhead)

    def describe(self) -> dict[str, Any]:
        return {
            "patch": self.patch,
            "patch_max_overhead": self.patch_max_overhead,
            "samples_per_space": self.samples,
            "seed": self.seed,
            "percentile": self.percentile,
            "rank_by": self.rank_by,
            "min_fitting_fraction": self.min_fitting_fraction,
            "search_space": self.space.to_dict(),
            "weight_bits": self.weight_bits,
        }


def format_ranking(scores: Sequence[SpaceScore], top: int) -> str:
    percentile = f"p{scores[0].percentile:g} MMACs" if scores else "MMACs"
    lines = [f"{'rank':>4}  {'W':>4}  {'R':>4}  {'fit':>6}  {'mean MMACs':>10}  {percentile:>10}"]
    for rank, s in enumerate(scores[:top], start=1):
        lines.append(
            f"{rank:>4}  {s.width:>4g}  {s.resolution:>4}  {s.fitting_fraction:>6.1%}  "
            f"{s.mean_macs / 1e6:>10.1f}  {s.percentile_macs / 1e6:>10.1f}"
        )
    return "\n".join(lines)


def run_single(job: SearchSpaceJob) -> dict[str, Any]:
    """Rank every space under ``job.budget``; print, write JSON and the CDF plot; return the report."""
    check_budget_reachable(job.space, job.budget, options=job.compile_options)
    samples, seconds = job.sample(job.budget.flash_bytes, job.budget.sram_bytes)
    ranked = job.rank(samples, job.budget)
    if not ranked:
        raise BudgetError(
            f"budget: in no (W, R) space do at least {job.min_fitting_fraction:.1%} of the samples fit "
            f"{job.budget.describe()}; raise the budget or lower --min_fitting_fraction."
        )
    memory = "patch-based memory (--patch=auto)" if job.patch == "auto" else "layer-wise memory (--patch=off)"
    print(f"{len(samples)} spaces x {job.samples} samples priced in {seconds:.1f} s; {job.budget.describe()}; {memory}")
    print(format_ranking(ranked, job.top))
    stem = f"search_space_sram{job.budget.sram_bytes // KIB}_flash{job.budget.flash_bytes // KIB}"
    report = {
        "version": REPORT_VERSION,
        "budget": {"sram_bytes": job.budget.sram_bytes, "flash_bytes": job.budget.flash_bytes},
        **job.describe(),
        "best": ranked[0].to_dict(),
        "ranking": [s.to_dict() for s in ranked],
        "plot": f"{stem}.png",
    }
    job.out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(job.out / f"{stem}.json", report)
    write_macs_cdf(job.out / f"{stem}.png", ranked[: job.plot_top], job.budget)
    print(f"wrote {job.out / (stem + '.json')} and {stem}.png")
    return report


def grid_cells(job: SearchSpaceJob, samples: Sequence[SpaceSample]) -> list[dict[str, Any]]:
    """The best space for every budget of the paper's grid (None where no space qualifies)."""
    cells = []
    for sram_kb in GRID_SRAM_KB:
        for flash_kb in GRID_FLASH_KB:
            ranked = job.rank(samples, Budget.from_kb(sram_kb, flash_kb))
            cells.append({"sram_kb": sram_kb, "flash_kb": flash_kb, "best": ranked[0].to_dict() if ranked else None})
    return cells


def format_grid(cells: Sequence[dict[str, Any]]) -> str:
    by_budget = {(c["sram_kb"], c["flash_kb"]): c["best"] for c in cells}
    columns = "".join(f"{str(f) + ' kB':>14}" for f in GRID_FLASH_KB)
    lines = ["best (W, R) by fitting MACs; rows SRAM, columns Flash", f"{'':>8}{columns}"]
    for sram_kb in GRID_SRAM_KB:
        row = f"{str(sram_kb) + ' kB':>8}"
        for flash_kb in GRID_FLASH_KB:
            best = by_budget[(sram_kb, flash_kb)]
            cell = f"W{best['width']:g} R{best['resolution']}" if best else "-"
            row += f"{cell:>14}"
        lines.append(row)
    return "\n".join(lines)


def run_grid(job: SearchSpaceJob) -> dict[str, Any]:
    """Sample once, then score all 24 budgets of the grid; print the table and write JSON."""
    samples, seconds = job.sample(max(GRID_FLASH_KB) * KIB, max(GRID_SRAM_KB) * KIB)
    cells = grid_cells(job, samples)
    print(f"{len(samples)} spaces x {job.samples} samples priced in {seconds:.1f} s")
    print(format_grid(cells))
    report = {"version": REPORT_VERSION, **job.describe(), "grid": cells}
    job.out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(job.out / "search_space_grid.json", report)
    print(f"wrote {job.out / 'search_space_grid.json'}")
    return report


def _space_from_flags() -> SearchSpace:
    space = SearchSpace(num_classes=FLAGS.classes)
    if FLAGS.redistribute_rf < 0 or FLAGS.redistribute_rf >= len(space.stages):
        raise BudgetError(f"--redistribute_rf must lie in 0..{len(space.stages) - 1}, got {FLAGS.redistribute_rf}.")
    return redistribute_receptive_field(space, FLAGS.redistribute_rf) if FLAGS.redistribute_rf else space


def _job_from_flags() -> SearchSpaceJob:
    if FLAGS.classes < 1:
        raise BudgetError(f"--classes must be at least 1, got {FLAGS.classes}.")
    return SearchSpaceJob(
        budget=Budget.from_kb(FLAGS.sram_kb, FLAGS.flash_kb),
        samples=FLAGS.samples,
        seed=FLAGS.seed,
        percentile=FLAGS.percentile,
        rank_by=FLAGS.rank_by,
        min_fitting_fraction=FLAGS.min_fitting_fraction,
        top=FLAGS.top,
        plot_top=FLAGS.plot_top,
        processes=FLAGS.processes,
        space=_space_from_flags(),
        out=Path(os.path.abspath(FLAGS.out)),
        patch=FLAGS.patch,
        patch_max_overhead=FLAGS.patch_max_overhead,
        weight_bits=int(FLAGS.weight_bits),
    )


def main(argv: list[str]) -> None:
    job = _job_from_flags()
    run_grid(job) if FLAGS.grid else run_single(job)


if __name__ == "__main__":
    cli.run(main, program="search_space", user_errors=(McunetError,))
