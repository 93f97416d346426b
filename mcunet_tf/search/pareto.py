"""The accuracy / peak-SRAM / latency Pareto front of a search, as CSV and as a plot.

A trial is on the front when no other trial is at least as good on all three (accuracy
higher or equal, peak SRAM and latency lower or equal) and strictly better on one. The
front is what a deployment chooses from: the most accurate model for the memory and time
it can spend.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Sequence
from pathlib import Path

from tinyengine_gen.atomic_io import write_bytes_atomically, write_text_atomically

__all__ = ["Point", "dominates", "pareto_front", "plot_front", "write_points_csv"]


@dataclasses.dataclass(frozen=True)
class Point:
    trial_id: str
    accuracy: float
    peak_sram_kb: float
    latency_ms: float
    arch: str = ""
    #: compiled with a patch schedule (MCUNetV2) rather than layer-wise
    patch_based: bool = False


def dominates(a: Point, b: Point) -> bool:
    """Whether ``a`` is at least as good as ``b`` everywhere and better somewhere."""
    no_worse = a.accuracy >= b.accuracy and a.peak_sram_kb <= b.peak_sram_kb and a.latency_ms <= b.latency_ms
    better = a.accuracy > b.accuracy or a.peak_sram_kb < b.peak_sram_kb or a.latency_ms < b.latency_ms
    return no_worse and better


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """The non-dominated points, by accuracy (best first) then trial id; O(n^2), fine for search sizes."""
    front = [p for p in points if not any(dominates(q, p) for q in points)]
    return sorted(front, key=lambda p: (-p.accuracy, p.peak_sram_kb, p.latency_ms, p.trial_id))


def write_points_csv(path: str | os.PathLike[str], points: Sequence[Point]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f.name for f in dataclasses.fields(Point)])
    for p in points:
        writer.writerow([p.trial_id, f"{p.accuracy:.6f}", f"{p.peak_sram_kb:.3f}", f"{p.latency_ms:.4f}", p.arch, int(p.patch_based)])
    write_text_atomically(path, buffer.getvalue())


def plot_front(path: str | os.PathLike[str], points: Sequence[Point], front: Sequence[Point], title: str = "") -> Path:
    """Accuracy against peak SRAM, coloured by latency, with the front highlighted (PNG, matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    scatter = axes.scatter(
        [p.peak_sram_kb for p in points],
        [p.accuracy for p in points],
        c=[p.latency_ms for p in points],
        cmap="viridis",
        s=22,
        alpha=0.8,
        label="trials",
    )
    ordered = sorted(front, key=lambda p: p.peak_sram_kb)
    axes.plot(
        [p.peak_sram_kb for p in ordered],
        [p.accuracy for p in ordered],
        "o",
        mfc="none",
        mec="crimson",
        ms=9,
        label="Pareto front (acc, SRAM, latency)",
    )
    patched = [p for p in points if p.patch_based]
    if patched:
        axes.scatter(
            [p.peak_sram_kb for p in patched],
            [p.accuracy for p in patched],
            marker="s",
            s=60,
            facecolors="none",
            edgecolors="black",
            linewidths=0.8,
            label="patch-based schedule",
        )
    figure.colorbar(scatter, ax=axes, label="estimated latency (ms)")
    axes.set_xlabel("peak SRAM (kB)")
    axes.set_ylabel("validation accuracy")
    axes.set_title(title or "search trials")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    write_bytes_atomically(path, buffer.getvalue())
    return Path(path)
