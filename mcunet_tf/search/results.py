"""What a finished search writes: the best config, every trial, and the Pareto front.

Files in the project folder (all written atomically, deterministic for a given search):

======================  =========================================================================
``best_config.json``    the best trial's config (``ArchConfig.to_dict``), its metrics, the budget,
                        the algorithm, the seed and the oracle's counters (rejected, duplicates)
``trials.csv``          one row per trial: id, generation, status, accuracy, MACs, params,
                        peak SRAM, Flash, latency, config JSON
``pareto.csv``          the accuracy / peak-SRAM / latency Pareto front
``pareto.png``          accuracy against peak SRAM, coloured by latency, front highlighted
======================  =========================================================================
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mcunet_tf.arch import ArchConfig
from mcunet_tf.search.oracle import ARCH, OBJECTIVE
from mcunet_tf.search.pareto import Point, pareto_front, plot_front, write_points_csv
from tinyengine_gen.atomic_io import write_json_atomically, write_text_atomically

__all__ = ["METRICS", "TrialRow", "best_row", "trial_rows", "write_results"]

METRICS = (
    "macs",
    "params",
    "peak_sram_kb",
    "flash_kb",
    "latency_ms",
    "patch_grid",
    "patch_split_op",
    "patch_mac_overhead",
)


@dataclasses.dataclass(frozen=True)
class TrialRow:
    trial_id: str
    generation: int
    status: str
    accuracy: float
    metrics: Mapping[str, float]
    arch: str

    @property
    def completed(self) -> bool:
        return self.status == "COMPLETED" and math.isfinite(self.accuracy)

    def point(self) -> Point:
        patch_based = self.metrics.get("patch_grid", 0.0) > 0  # NaN (not recorded) compares False
        return Point(
            self.trial_id, self.accuracy, self.metrics["peak_sram_kb"], self.metrics["latency_ms"], self.arch, patch_based
        )


def _metric(trial: Any, name: str) -> float:
    if not trial.metrics.exists(name):
        return float("nan")
    value = trial.metrics.get_last_value(name)
    return float("nan") if value is None else float(value)


def trial_rows(oracle: Any) -> list[TrialRow]:
    """Every trial of ``oracle`` in id order (the evolution's generation, or -1 for other oracles)."""
    generations = getattr(oracle, "trial_generation", {})
    rows = []
    for trial_id in sorted(oracle.trials):
        trial = oracle.trials[trial_id]
        rows.append(
            TrialRow(
                trial_id=trial_id,
                generation=int(generations.get(trial_id, -1)),
                status=str(trial.status),
                accuracy=_metric(trial, OBJECTIVE),
                metrics={name: _metric(trial, name) for name in METRICS},
                arch=str(trial.hyperparameters.values.get(ARCH, "")),
            )
        )
    return rows


def best_row(rows: Sequence[TrialRow]) -> TrialRow | None:
    """Highest accuracy; ties go to the smaller peak SRAM, then latency, then the earlier trial."""
    done = [r for r in rows if r.completed]
    if not done:
        return None
    return min(done, key=lambda r: (-r.accuracy, r.metrics["peak_sram_kb"], r.metrics["latency_ms"], r.trial_id))


def _trials_csv(rows: Sequence[TrialRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["trial_id", "generation", "status", OBJECTIVE, *METRICS, "arch"])
    for r in rows:
        values = [f"{r.metrics[m]:.6g}" for m in METRICS]
        writer.writerow([r.trial_id, r.generation, r.status, f"{r.accuracy:.6f}", *values, r.arch])
    return buffer.getvalue()


def write_results(folder: str | Path, rows: Sequence[TrialRow], summary: Mapping[str, Any]) -> dict[str, Path]:
    """Write the four result files; ``summary`` (budget, algorithm, seed, counters) goes into best_config.json."""
    folder = Path(folder)
    best = best_row(rows)
    paths = {name: folder / name for name in ("best_config.json", "trials.csv", "pareto.csv", "pareto.png")}
    payload: dict[str, Any] = dict(summary)
    if best is not None:
        payload.update(
            trial_id=best.trial_id,
            arch=ArchConfig.from_json(best.arch).to_dict(),
            **{OBJECTIVE: best.accuracy},
            **{name: best.metrics[name] for name in METRICS},
        )
    write_json_atomically(paths["best_config.json"], payload)
    write_text_atomically(paths["trials.csv"], _trials_csv(rows))
    points = [r.point() for r in rows if r.completed]
    front = pareto_front(points)
    write_points_csv(paths["pareto.csv"], front)
    plot_front(paths["pareto.png"], points, front, title=str(summary.get("title", "")))
    return paths
