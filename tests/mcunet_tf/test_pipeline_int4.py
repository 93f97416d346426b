"""The pipeline with 4-bit weights: options checked up front, and (slow) a tiny run end to end."""

from __future__ import annotations

import io

import pytest

from mcunet_tf.pipeline import run_pipeline
from mcunet_tf.pipeline_steps.config import PipelineError, make_options


def test_weight_bits_other_than_4_or_8_are_refused():
    with pytest.raises(PipelineError, match="--weight_bits=3"):
        make_options("toy", budget="tiny", weight_bits=3)


@pytest.mark.slow
def test_tiny_run_with_4_bit_weights_packs_them_and_matches_tflm(tmp_path):
    data = run_pipeline(make_options("toy", budget="tiny", weight_bits=4), tmp_path / "run", stream=io.StringIO())
    assert data["qat"]["weight_bits"] == 4
    project = tmp_path / "run" / "c" / "model" / "report.json"
    import json

    report = json.loads(project.read_text())
    assert report["pack_int4"]["packed_ops"], report["pack_int4"]
    assert data["side_by_side"]["bit_exact"]
