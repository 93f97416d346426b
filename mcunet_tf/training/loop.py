"""Train a once-for-all supernet epoch by epoch, checkpointing each epoch and resuming after a crash.

:func:`train_supernet` is the whole job behind ``python -m mcunet_tf.train_supernet``:
create the supernet and optimizer inside the ``tf.distribute`` strategy's scope, restore
the last checkpoint of the output folder if there is one, then for every remaining epoch
run sandwich-rule steps (optionally restricted by the progressive-shrinking phase),
evaluate the largest and smallest sub-networks on the held-out split, and save.

The initial weights come from ``seed`` (the process-wide Python, numpy and TensorFlow
seeds are set), and everything random in an epoch (batch order, the sub-networks drawn)
is seeded from ``(seed, epoch)``, so a run interrupted after epoch ``e`` and resumed computes epoch
``e + 1`` from the same weights, data and sub-networks as the uninterrupted run.
"""

from __future__ import annotations


import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras

from mcunet_tf.space import SearchSpace
from mcunet_tf.supernet import Supernet
from mcunet_tf.training.checkpointing import (
    CHECKPOINTS,
    CheckpointError,
    SupernetManifest,
    TrainingCheckpoint,
    read_history,
    write_history,
)
from mcunet_tf.training.data import DataSpec, SplitData, load_split
from mcunet_tf.training.evaluation import subnet_accuracy
from mcunet_tf.training.sandwich import SandwichOptions, SandwichStep, sandwich_configs
from mcunet_tf.training.shrinking import ShrinkingSchedule, SubnetSampler
from mcunet_tf.training.strategies import is_chief, worker_scratch_dir

__all__ = ["CALIBRATION_BATCHES", "SupernetJob", "TrainOptions", "TrainResult", "train_supernet"]

#: training batches BN statistics are recomputed on before a sub-network is scored
CALIBRATION_BATCHES = 4

EpochCallback = Callable[[int, dict[str, Any]], None]


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 0.05
    lr_schedule: str = "cosine"
    momentum: float = 0.9
    sandwich: SandwichOptions = dataclasses.field(default_factory=SandwichOptions)
    progressive_shrinking: bool = False
    #: cap on steps per epoch (None: one pass over the training split)
    steps_per_epoch: int | None = None
    #: validation batches scored after each epoch (None: the whole split)
    eval_batches: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("training: epochs and batch_size must be >= 1 and learning_rate > 0.")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"training: lr_schedule {self.lr_schedule!r} must be 'cosine' or 'constant'.")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("training: steps_per_epoch must be >= 1.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class SupernetJob:
    """One training run: the (W, R) space of the supernet, its data, options and output folder."""

    space: SearchSpace
    width: float
    resolution: int
    data: DataSpec
    options: TrainOptions
    out: Path

    def manifest(self) -> SupernetManifest:
        return SupernetManifest(self.space, self.width, self.resolution, self.data, self.options.to_dict())


@dataclasses.dataclass(frozen=True)
class TrainResult:
    supernet: Supernet
    #: epochs already finished when this call started (0 for a fresh run)
    resumed_from: int
    history: list[dict[str, Any]]


def train_supernet(
    job: SupernetJob,
    *,
    strategy: tf.distribute.Strategy | None = None,
    on_epoch_end: EpochCallback | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train (or resume training) the supernet of ``job``; ``on_epoch_end`` runs after each saved epoch."""
    strategy = strategy or tf.distribute.get_strategy()
    chief = is_chief(strategy)
    _prepare_folder(job, chief)
    train, val = load_split(job.data, "train"), load_split(job.data, "val")
    steps = _steps_per_epoch(train, job.options)
    keras.utils.set_random_seed(job.options.seed)  # the initial weights, so that runs are reproducible
    with strategy.scope():
        supernet = Supernet(job.space, job.width)
        optimizer = _optimizer(job.options, steps)
        optimizer.build(supernet.trainable_variables)
        folder = job.out / CHECKPOINTS if chief else worker_scratch_dir(job.out, strategy)
        checkpoint = TrainingCheckpoint(folder, supernet, optimizer)
    done = checkpoint.restore()
    if done:
        log(f"resuming {job.out} after epoch {done} of {job.options.epochs}")
    history = read_history(job.out, done)
    step = SandwichStep(supernet, optimizer, job.options.batch_size, job.options.sandwich, strategy)
    evaluate = _Evaluator(supernet, train, val, job.options)
    schedule = ShrinkingSchedule(job.options.epochs)
    for epoch in range(done, job.options.epochs):
        phase = schedule.phase(epoch) if job.options.progressive_shrinking else "expand"
        sampler = SubnetSampler(job.space, job.width, job.resolution, phase)
        started = time.monotonic()
        metrics = _train_epoch(step, sampler, train, epoch, steps, job.options, strategy)
        metrics.update(epoch=epoch, phase=phase, **evaluate(sampler))
        history.append(metrics)
        if chief:
            write_history(job.out, history)
        checkpoint.save(epoch + 1)
        log(_format_epoch(metrics, job.options.epochs, time.monotonic() - started))
        if on_epoch_end is not None:
            on_epoch_end(epoch, metrics)
    return TrainResult(supernet, done, history)


def _prepare_folder(job: SupernetJob, chief: bool) -> SupernetManifest:
    manifest = job.manifest()
    if (job.out / "supernet.json").is_file():
        existing = SupernetManifest.read(job.out)
        if not existing.same_model(manifest):
            raise CheckpointError(
                f"{job.out}: holds a supernet of another space, width, resolution or dataset; "
                "choose a new --out folder (or delete this one) to start over."
            )
    if chief:
        job.out.mkdir(parents=True, exist_ok=True)
        manifest.write(job.out)
    return manifest


def _steps_per_epoch(train: SplitData, options: TrainOptions) -> int:
    if train.images is not None:
        full = len(train.images) // options.batch_size
    else:
        cardinality = int(train.dataset.cardinality())
        full = cardinality // options.batch_size if cardinality > 0 else 0
    steps = (
        min(full, options.steps_per_epoch) if full and options.steps_per_epoch else (full or options.steps_per_epoch)
    )
    if not steps:
        raise ValueError(
            "training: cannot tell how many steps make an epoch (the dataset's size is unknown, or smaller "
            "than one batch); pass --steps_per_epoch."
        )
    return int(steps)


def _optimizer(options: TrainOptions, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    rate: Any = options.learning_rate
    if options.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(
            options.learning_rate, decay_steps=options.epochs * steps_per_epoch
        )
    return keras.optimizers.SGD(rate, momentum=options.momentum, nesterov=True)


def _train_epoch(
    step: SandwichStep,
    sampler: SubnetSampler,
    train: SplitData,
    epoch: int,
    steps: int,
    options: TrainOptions,
    strategy: tf.distribute.Strategy,
) -> dict[str, Any]:
    rng = np.random.default_rng([options.seed, epoch])
    batches = train.batches(options.batch_size, epoch=epoch, seed=options.seed, shuffle=True, drop_remainder=True)
    batches = strategy.experimental_distribute_dataset(batches.take(steps))
    losses, accuracies = [], []
    for images, labels in batches:
        result = step(images, labels, sandwich_configs(sampler, rng, options.sandwich))
        losses.append(result["loss"])
        accuracies.append(result["largest_accuracy"])
    return {"steps": len(losses), "loss": float(np.mean(losses)), "train_accuracy_largest": float(np.mean(accuracies))}


class _Evaluator:
    """Validation accuracy of the largest and smallest sub-networks, scored as a search trial scores them."""

    def __init__(self, supernet: Supernet, train: SplitData, val: SplitData, options: TrainOptions) -> None:
        self.supernet = supernet
        self.calibration = train.take_images(options.batch_size, CALIBRATION_BATCHES)
        batches = val.batches(options.batch_size)
        if options.eval_batches is not None:
            batches = batches.take(options.eval_batches)
        self.evaluation = [(x.numpy(), y.numpy()) for x, y in batches]

    def __call__(self, sampler: SubnetSampler) -> dict[str, float]:
        return {
            "val_accuracy_largest": self.accuracy(sampler.largest()),
            "val_accuracy_smallest": self.accuracy(sampler.smallest()),
        }

    def accuracy(self, config) -> float:
        return subnet_accuracy(self.supernet, config, self.calibration, self.evaluation)


def _format_epoch(metrics: dict[str, Any], epochs: int, seconds: float) -> str:
    return (
        f"epoch {metrics['epoch'] + 1}/{epochs} [{metrics['phase']}] {seconds:.0f}s: loss {metrics['loss']:.3f}, "
        f"train acc (largest) {metrics['train_accuracy_largest']:.3f}, val acc largest "
        f"{metrics['val_accuracy_largest']:.3f} / smallest {metrics['val_accuracy_smallest']:.3f}"
    )
