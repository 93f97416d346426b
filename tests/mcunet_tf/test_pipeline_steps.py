"""The pipeline's steps: a typed list, results that survive the JSON round trip resuming rests on."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

from mcunet_tf.pipeline import PIPELINE, STEPS
from mcunet_tf.pipeline_steps.c_project import CProjectResult
from mcunet_tf.pipeline_steps.firmware import FirmwareResult
from mcunet_tf.pipeline_steps.progress import RESULT, Progress
from mcunet_tf.pipeline_steps.qat import QatResult
from mcunet_tf.pipeline_steps.search import SearchResult
from mcunet_tf.pipeline_steps.side_by_side import SideBySideResult
from mcunet_tf.pipeline_steps.space import SpaceResult
from mcunet_tf.pipeline_steps.step import StepResult
from mcunet_tf.pipeline_steps.supernet import SupernetResult

_EXAMPLES: list[StepResult] = [
    SpaceResult(width=0.3, resolution=40, fitting_fraction=0.5, mean_macs=1.5e6, spaces=9, samples=20, patch="auto",
                patch_max_overhead=0.2, redistribute_rf=1, ranking=[{"width": 0.3}], summary="best space", seconds=1.5),
    SupernetResult(epochs=2, val_accuracy_largest=0.5, val_accuracy_smallest=0.4, history=[{"epoch": 1}], summary="s"),
    SearchResult(trials=3, rejected_over_budget=1, duplicates_skipped=0, best={"arch_json": "{}", "flash_kb": 9.0},
                 patch_based_trials=1, summary="best of 3"),
    QatResult(float_accuracy=0.6, ptq_int8_accuracy=0.55, model_bytes=1000, qat=True, weight_bits=8,
              model_accuracy=0.58, tflite="qat/model_int8.tflite", summary="q"),
    CProjectResult(project="c/model", report={"macs": 10}, agreement={"exact": True}, summary="c"),
    FirmwareResult(facts={"built": False, "reason": "no arm-none-eabi-gcc"}, summary="skipped"),
    SideBySideResult(facts={"bit_exact": True, "inputs_checked": 4}, summary="same", seconds=2.0),
]


def test_the_steps_are_one_typed_list_in_order():
    assert STEPS == ("space", "supernet", "search", "qat", "c", "firmware", "side_by_side")
    assert [step.result_type for step in PIPELINE] == [type(r) for r in _EXAMPLES]


@pytest.mark.parametrize("result", _EXAMPLES, ids=lambda r: type(r).__name__)
def test_each_result_survives_the_json_round_trip(result):
    stored = json.loads(json.dumps(result.to_json()))
    assert type(result).from_json(stored) == result
    assert list(stored)[-2:] == ["summary", "seconds"]


def test_open_results_store_their_facts_flat():
    stored = _EXAMPLES[-2].to_json()
    assert stored == {"built": False, "reason": "no arm-none-eabi-gcc", "summary": "skipped", "seconds": 0.0}


def test_a_missing_field_is_an_error_not_a_default():
    stored = _EXAMPLES[0].to_json()
    del stored["resolution"]
    with pytest.raises(KeyError, match="resolution"):
        SpaceResult.from_json(stored)


@dataclasses.dataclass
class _CountingStep:
    name = "space"
    title = "counting"
    result_type = SpaceResult
    runs: int = 0

    def run(self, context, folder):
        self.runs += 1
        (folder / "work.txt").write_text("done")
        return dataclasses.replace(_EXAMPLES[0], seconds=0.0)


def test_progress_runs_a_step_once_and_reads_its_result_back(tmp_path):
    step = _CountingStep()
    first = Progress(tmp_path, 1, io.StringIO()).run(step, context=None)
    assert isinstance(first, SpaceResult) and (tmp_path / "space" / RESULT).is_file()
    stream = io.StringIO()
    again = Progress(tmp_path, 1, stream).run(step, context=None)
    assert step.runs == 1 and again == first and "done in an earlier run, kept" in stream.getvalue()
