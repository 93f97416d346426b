"""The pipeline's data: the dataset of a run, the up-front check of ``--data_dir``, the test split."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

from mcunet_tf.errors import McunetError
from mcunet_tf.pipeline_steps.config import PipelineError, PipelineOptions
from mcunet_tf.toy_data import toy_splits
from mcunet_tf.training.data import DataSpec, load_split

__all__ = ["check_data", "data_spec", "test_split"]


def data_spec(options: PipelineOptions, resolution: int) -> DataSpec:
    return DataSpec(
        options.dataset,
        resolution,
        options.data_dir,
        seed=options.seed,
        toy_classes=options.toy_classes,
        toy_train=options.work.toy_train,
    )


def check_data(options: PipelineOptions) -> None:
    """Fail in one line, before any work, when ``--data_dir`` is missing, not a folder, or unreadable.

    Both splits are listed, which checks every file a pipeline can check without decoding
    it (Speech Commands: each clip's WAV header), and one validation example is decoded.
    """
    if options.task == "toy":
        return
    if not options.data_dir:
        raise PipelineError(f"--task={options.task} needs --data_dir (the folder that holds the {options.dataset} data).")
    if not Path(options.data_dir).is_dir():
        raise PipelineError(f"--data_dir={options.data_dir}: no such folder.")
    try:
        load_split(data_spec(options, min(options.resolutions)), "train")  # lists (and for kws checks) every file
        split = load_split(data_spec(options, min(options.resolutions)), "val")
        next(iter(split.batches(1).take(1)))
    except (McunetError, OSError, ValueError, StopIteration, tf.errors.OpError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(f"--data_dir={options.data_dir}: not a readable {options.dataset} dataset ({first}).") from exc


def test_split(options: PipelineOptions, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test split: toy's own test seed, or (file datasets) the validation split."""
    if options.task == "toy":
        spec = data_spec(options, resolution).toy()
        return toy_splits(dataclasses.replace(spec, test_examples=options.work.toy_test)).test
    data = load_split(data_spec(options, resolution), "val").dataset
    if options.work.test_examples is not None:
        data = data.take(options.work.test_examples)
    pairs = [(np.asarray(x), int(y)) for x, y in data]
    return np.stack([p[0] for p in pairs]).astype(np.float32), np.array([p[1] for p in pairs], np.int32)

