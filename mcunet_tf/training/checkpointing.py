"""A supernet folder: the manifest that says what it is, and per-epoch checkpoints to resume from.

Layout of a training ``--out`` folder (the ``--supernet`` a search reads)::

    supernet.json        manifest: version, search space, width, resolution, data spec, options
    history.json         one entry per finished epoch (losses, accuracies, phase)
    checkpoints/         tf.train.CheckpointManager: ckpt-<epochs done>.*, and the 'checkpoint' index

Crash safety: TensorFlow writes a checkpoint's shards under a temporary name, merges them
and only then rewrites the ``checkpoint`` index file (``atomic_write_string_to_file``:
temporary file and rename). The index therefore only ever names complete checkpoints, and
a run killed while saving resumes from the previous epoch. The manifest and history are
written with :mod:`tinyengine_gen.atomic_io`. History is written *before* the checkpoint
of the same epoch, and entries past the restored epoch are dropped on resume, so the two
always agree.
"""

from __future__ import annotations

import os

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf

from mcunet_tf.errors import McunetError
from mcunet_tf.space import SearchSpace
from mcunet_tf.supernet import Supernet
from mcunet_tf.training.data import DataSpec
from tinyengine_gen.atomic_io import write_json_atomically

__all__ = [
    "MANIFEST_VERSION",
    "CheckpointError",
    "SupernetManifest",
    "TrainingCheckpoint",
    "check_checkpoint",
    "load_supernet",
    "read_history",
    "write_history",
]

MANIFEST_VERSION = 1
MANIFEST = "supernet.json"
HISTORY = "history.json"
CHECKPOINTS = "checkpoints"


class CheckpointError(McunetError, ValueError):
    """A supernet folder that is missing, unfinished, or belongs to a different run."""


@dataclasses.dataclass(frozen=True)
class SupernetManifest:
    """What a supernet folder holds: enough to rebuild the model and the data it was trained on."""

    space: SearchSpace
    width: float
    resolution: int
    data: DataSpec
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "space": self.space.to_dict(),
            "width": self.width,
            "resolution": self.resolution,
            "data": self.data.to_dict(),
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = MANIFEST) -> SupernetManifest:
        if data.get("version") != MANIFEST_VERSION:
            raise CheckpointError(
                f"{source}: manifest version {data.get('version')!r}; this code reads {MANIFEST_VERSION}."
            )
        return cls(
            space=SearchSpace.from_dict(data["space"]),
            width=float(data["width"]),
            resolution=int(data["resolution"]),
            data=DataSpec.from_dict(data["data"]),
            options=dict(data.get("options", {})),
        )

    def same_model(self, other: SupernetManifest) -> bool:
        """Whether a checkpoint of ``other`` can resume this run (options like epochs may differ)."""
        return (self.space, self.width, self.resolution, self.data) == (
            other.space,
            other.width,
            other.resolution,
            other.data,
        )

    def write(self, folder: str | os.PathLike[str]) -> None:
        write_json_atomically(Path(folder) / MANIFEST, self.to_dict())

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> SupernetManifest:
        path = Path(folder) / MANIFEST
        if not path.is_file():
            raise CheckpointError(
                f"{folder}: no {MANIFEST}; pass the --out folder of python -m mcunet_tf.train_supernet."
            )
        try:
            return cls.from_dict(json.loads(path.read_text()), str(path))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: malformed manifest ({type(exc).__name__}: {exc}).") from exc


class TrainingCheckpoint:
    """The supernet, its optimizer and the number of finished epochs, saved after every epoch.

    Create it inside the strategy scope that created the model (the epoch counter is a
    variable). ``directory`` may be a worker's scratch folder in multi-worker training,
    where only the chief's checkpoints are kept.
    """

    def __init__(
        self, directory: str | os.PathLike[str], supernet: Supernet, optimizer: Any, max_to_keep: int = 2
    ) -> None:
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epochs_done")
        self.checkpoint = tf.train.Checkpoint(supernet=supernet, optimizer=optimizer, epochs_done=self.epoch)
        self.manager = tf.train.CheckpointManager(self.checkpoint, os.fspath(directory), max_to_keep=max_to_keep)

    def restore(self) -> int:
        """Restore the latest checkpoint if there is one; returns the number of finished epochs (0 if none)."""
        latest = self.manager.latest_checkpoint
        if latest is None:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epochs_done: int) -> str:
        self.epoch.assign(epochs_done)
        return self.manager.save(checkpoint_number=epochs_done)


def check_checkpoint(folder: str | os.PathLike[str]) -> SupernetManifest:
    """The manifest of a supernet folder whose latest checkpoint reads whole; a CheckpointError otherwise.

    Reads every saved tensor (TensorFlow checks each one's CRC), without building the model,
    so a search can refuse a missing, truncated or corrupt checkpoint before its first trial.
    """
    manifest = SupernetManifest.read(folder)
    checkpoints = Path(folder) / CHECKPOINTS
    try:
        latest = tf.train.latest_checkpoint(os.fspath(checkpoints))
    except tf.errors.OpError as exc:
        raise CheckpointError(f"{checkpoints / 'checkpoint'}: unreadable checkpoint index; train again.") from exc
    if latest is None:
        raise CheckpointError(f"{folder}: no checkpoint yet under {CHECKPOINTS}/ (has an epoch finished?).")
    try:
        reader = tf.train.load_checkpoint(latest)
        for name in sorted(reader.get_variable_to_shape_map()):
            reader.get_tensor(name)
    except Exception as exc:  # noqa: BLE001 - TensorFlow's reader fails in several types (OpError, IndexError, ...)
        message = " ".join(str(getattr(exc, "message", exc)).split())[:200] or type(exc).__name__
        raise CheckpointError(
            f"{latest}: missing or corrupt checkpoint ({message}); train the supernet again or pass another --supernet."
        ) from exc
    return manifest


def load_supernet(folder: str | os.PathLike[str]) -> tuple[Supernet, SupernetManifest, int]:
    """The trained supernet of a training folder, its manifest and the epochs it was trained for."""
    manifest = SupernetManifest.read(folder)
    supernet = Supernet(manifest.space, manifest.width)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    latest = tf.train.latest_checkpoint(os.fspath(Path(folder) / CHECKPOINTS))
    if latest is None:
        raise CheckpointError(f"{folder}: no checkpoint yet under {CHECKPOINTS}/ (has an epoch finished?).")
    tf.train.Checkpoint(supernet=supernet, epochs_done=epoch).restore(latest).expect_partial()
    return supernet, manifest, int(epoch.numpy())


def read_history(folder: str | os.PathLike[str], epochs_done: int | None = None) -> list[dict[str, Any]]:
    """History entries of finished epochs (only those below ``epochs_done`` when given)."""
    path = Path(folder) / HISTORY
    entries = json.loads(path.read_text()) if path.is_file() else []
    return [e for e in entries if epochs_done is None or e["epoch"] < epochs_done]


def write_history(folder: str | os.PathLike[str], entries: list[dict[str, Any]]) -> None:
    write_json_atomically(Path(folder) / HISTORY, entries)
