"""The CDF plot: a PNG, written atomically."""

from __future__ import annotations

import numpy as np

from mcunet_tf.space.cdf_plot import write_macs_cdf
from mcunet_tf.space.ranking import Budget, SpaceSample, score_space


def test_writes_a_png(tmp_path):
    budget = Budget.from_kb(320, 1024)
    sample = SpaceSample(0.5, 96, np.array([3e6, 1e6, 2e6]), np.zeros(3, int), np.zeros(3, int))
    path = tmp_path / "cdf.png"
    write_macs_cdf(path, [score_space(sample, budget)], budget)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in tmp_path.iterdir()] == ["cdf.png"]
