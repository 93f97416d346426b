"""The MCUNet figure for search-space optimisation: the CDF of fitting sub-networks' MACs per space.

A curve further right means the space's fitting networks compute more, which MCUNet
found to go with higher accuracy. Rendered with matplotlib's Agg backend (no display) to
PNG bytes, then written atomically.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

from mcunet_tf.space.ranking import Budget, SpaceScore
from tinyengine_gen.atomic_io import write_bytes_atomically

__all__ = ["render_macs_cdf", "write_macs_cdf"]


def render_macs_cdf(scores: Sequence[SpaceScore], budget: Budget) -> bytes:
    """PNG bytes of the empirical CDF of fitting MACs, one curve per space (in the given order)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), dpi=110)
    axes = figure.add_subplot(1, 1, 1)
    for score in scores:
        macs = [m / 1e6 for m in score.fitting_macs]
        fractions = [(i + 1) / len(macs) for i in range(len(macs))]
        label = (
            f"W={score.width:g} R={score.resolution} "
            f"(mean {score.mean_macs / 1e6:.1f}M, {score.fitting_fraction:.0%} fit)"
        )
        axes.step(macs, fractions, where="post", label=label)
    axes.set_xlabel("MMACs of sub-networks that fit")
    axes.set_ylabel("cumulative probability")
    axes.set_title(f"Fitting sub-networks per (W, R) space, {budget.describe()}")
    axes.grid(True, alpha=0.3)
    if scores:
        axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_macs_cdf(path: str | os.PathLike[str], scores: Sequence[SpaceScore], budget: Budget) -> None:
    write_bytes_atomically(path, render_macs_cdf(scores, budget))
