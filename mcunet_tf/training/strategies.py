"""The ``tf.distribute`` strategies ``--strategy`` names, and who writes checkpoints under them.

* ``default``: no distribution (one device);
* ``mirrored``: synchronous data parallelism over this machine's GPUs (or its CPU);
* ``multi_worker``: synchronous data parallelism over the machines of ``TF_CONFIG``. Every
  worker runs the same program; only the chief's checkpoints are kept, the others write
  theirs to a scratch folder (they must still take part in saving, as collective ops run
  on all workers).

TensorFlow is imported when a strategy is made, not with this module, so that the
command line can list the names and check its flags without loading it.

Model creation, the optimizer and the checkpoint variables are created inside
``strategy.scope()``, and the training step runs through ``strategy.run``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["STRATEGIES", "is_chief", "make_strategy", "worker_scratch_dir"]

STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name: str) -> tf.distribute.Strategy:
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy {name!r} is not one of {list(STRATEGIES)}.")


def _task() -> tuple[str | None, int]:
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    return task.get("type"), int(task.get("index", 0))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    kind, index = _task()
    return kind in (None, "chief") or (kind == "worker" and index == 0 and not _has_chief())


def _has_chief() -> bool:
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    return "chief" in config.get("cluster", {})


def worker_scratch_dir(out: Path, strategy: tf.distribute.Strategy) -> Path:
    kind, index = _task()
    return Path(out) / ".workers" / f"{kind or 'worker'}{index}"
