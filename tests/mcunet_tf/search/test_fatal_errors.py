"""A search that cannot load its supernet stops at once (keras-tuner's FatalError), exits 2 and writes no results."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from mcunet_tf.search.budget import SearchBudget
from mcunet_tf.search.run import SearchJob, make_oracle, run_search
from mcunet_tf.search.tuner import EvaluationOptions, SearchSetupError, SubnetTuner
from mcunet_tf.training.checkpointing import CheckpointError, SupernetManifest
from tests.mcunet_tf.search._cli import run_search_cli
from tests.mcunet_tf.search.conftest import toy_supernet_job

RESULT_FILES = ("best_config.json", "trials.csv", "pareto.csv", "pareto.png")


def _untrained_supernet(folder):
    """A supernet folder with its manifest but no checkpoint (as after a run killed in its first epoch)."""
    manifest = toy_supernet_job(folder).manifest()
    manifest.write(folder)
    return manifest


def _job(tmp_path, supernet, **kwargs) -> SearchJob:
    return SearchJob(
        supernet=supernet, budget=SearchBudget.from_kb(11, 80), trials=6, project_dir=tmp_path / "search",
        population_size=4, **kwargs,
    )


def _small_checkpoint(supernet) -> None:
    checkpoint = tf.train.Checkpoint(v=tf.Variable(np.arange(1000, dtype=np.float32)))
    tf.train.CheckpointManager(checkpoint, str(supernet / "checkpoints"), max_to_keep=1).save()


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "delete"])
def test_a_corrupt_or_missing_checkpoint_is_refused_before_the_search_starts(tmp_path, damage):
    supernet = tmp_path / "supernet"
    _untrained_supernet(supernet)
    _small_checkpoint(supernet)
    data = next((supernet / "checkpoints").glob("ckpt-1.data-*"))
    raw = bytearray(data.read_bytes())
    if damage == "flip a byte":
        raw[200] ^= 0xFF
        data.write_bytes(bytes(raw))
    elif damage == "truncate":
        data.write_bytes(bytes(raw[:100]))
    else:
        data.unlink()
    with pytest.raises(CheckpointError, match=r"checkpoints/ckpt-1: missing or corrupt checkpoint"):
        run_search(_job(tmp_path, supernet))
    assert not (tmp_path / "search").exists()


def test_a_supernet_that_cannot_load_stops_the_search_at_its_first_trial(tmp_path):
    """Past the up-front check (a checkpoint deleted meanwhile), the trial's FatalError ends tuner.search at once."""
    supernet = tmp_path / "supernet"
    manifest = _untrained_supernet(supernet)
    job = _job(tmp_path, supernet)
    oracle = make_oracle(job, manifest)
    tuner = SubnetTuner(oracle, supernet, project_dir=job.project_dir)
    with pytest.raises(SearchSetupError, match=r"cannot load the supernet or its data .*no checkpoint yet"):
        tuner.search(verbose=0)
    assert len(oracle.trials) == 1  # keras-tuner would otherwise fail every trial (or give up after 3)
    assert not any((job.project_dir / name).exists() for name in RESULT_FILES)


@pytest.mark.parametrize(
    "options", [dict(batch_size=0), dict(calibration_batches=0), dict(eval_examples=0)], ids=lambda o: next(iter(o))
)
def test_bad_evaluation_options_are_a_fatal_error(options):
    with pytest.raises(SearchSetupError, match="must be at least 1"):
        EvaluationOptions(**options)
    assert issubclass(SearchSetupError, __import__("keras_tuner").errors.FatalError)


def test_the_command_exits_2_in_one_line_and_writes_no_result_files(tmp_path):
    """Also the one-line promise after TensorFlow is imported: no start-up log on stderr."""
    supernet = tmp_path / "supernet"
    _untrained_supernet(supernet)
    result = run_search_cli(supernet, tmp_path / "search", 4, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        f"search: error: {supernet}: no checkpoint yet under checkpoints/ (has an epoch finished?)."
    ]
    assert not (tmp_path / "search").exists()
    assert SupernetManifest.read(supernet).width == 0.3
