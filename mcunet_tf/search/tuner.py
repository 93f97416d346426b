"""The thin keras-tuner tuner of the search: one trial scores one sub-network of a trained supernet.

``run_trial`` reads the config from the trial, extracts the sub-network with the
supernet's weights (:func:`mcunet_tf.extract.extract_subnet`), recomputes its BN statistics
on a few training batches, measures its accuracy on the held-out split, and returns that
with MACs, parameters, peak SRAM, Flash and estimated latency as the trial's metrics.
Everything about *which* configs to try lives in the oracle.

keras-tuner's built-in ``Tuner`` expects Keras 3 models (``keras_tuner`` imports Keras 3,
while this project builds tf-keras models), so this subclasses ``BaseTuner`` and
overrides ``run_trial`` only. The supernet and the data load lazily, once per process, so
a distributed chief (which only serves the oracle) never loads them.

Every evaluation is also appended to ``evaluations/<tuner id>.jsonl`` in the project
folder (trial id, config hash, process id): an audit log that shows which process
evaluated what, used by the resume and distributed tests.
"""

from __future__ import annotations

import os

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import tensorflow as tf
from keras_tuner.engine.base_tuner import BaseTuner
from keras_tuner.errors import FatalError

from mcunet_tf.errors import InvalidArchitectureError, McunetError
from mcunet_tf.firmware_cost import FirmwareCostModel
from mcunet_tf.search.budget import Pricer
from mcunet_tf.search.latency import CORTEX_M7_216MHZ, LatencyModel
from tinyengine_gen.compiler import CompileOptions
from mcunet_tf.search.oracle import OBJECTIVE, arch_of
from mcunet_tf.training.checkpointing import load_supernet
from mcunet_tf.training.data import load_split
from mcunet_tf.training.evaluation import subnet_accuracy
from tinyengine_gen.atomic_io import write_json_atomically

__all__ = ["EVALUATIONS", "EvaluationOptions", "SearchSetupError", "SubnetTuner"]

EVALUATIONS = "evaluations"


class SearchSetupError(McunetError, FatalError):
    """What every trial needs (the supernet, its data, the evaluation options) is unusable.

    A keras-tuner ``FatalError``: the search stops at once instead of failing every trial
    and ending "successfully" with no result.
    """


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
    batch_size: int = 128
    #: training batches the BN statistics are recomputed on
    calibration_batches: int = 4
    #: held-out examples scored (None: the whole validation split)
    eval_examples: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.calibration_batches < 1:
            raise SearchSetupError(
                f"search: batch_size ({self.batch_size}) and calibration_batches ({self.calibration_batches}) "
                "must be at least 1."
            )
        if self.eval_examples is not None and self.eval_examples < 1:
            raise SearchSetupError(
                f"search: eval_examples must be at least 1 (or None for all), got {self.eval_examples}."
            )


class SubnetTuner(BaseTuner):
    def __init__(
        self,
        oracle: Any,
        supernet_dir: str | os.PathLike[str],
        *,
        project_dir: str | os.PathLike[str],
        evaluation: EvaluationOptions = EvaluationOptions(),
        latency: LatencyModel = CORTEX_M7_216MHZ,
        firmware: FirmwareCostModel | None = None,
        overwrite: bool = False,
        compile_options: CompileOptions | None = None,
        weight_bits: int = 8,
    ) -> None:
        project = Path(project_dir).resolve()
        super().__init__(oracle, None, directory=str(project.parent), project_name=project.name, overwrite=overwrite)
        self.supernet_dir = Path(supernet_dir)
        self.evaluation_options = evaluation
        self.latency = latency
        self.firmware = firmware
        #: the engine options trials are priced with (the patch schedule of ``--patch``)
        self.compile_options = compile_options
        #: bits per stored weight trials' Flash is priced at (the budget's)
        self.weight_bits = weight_bits
        self._loaded: tuple[Any, Any, list, list] | None = None
        if not self._is_worker():
            self.save()  # from now on a restart finds and reloads this project

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        config = arch_of(trial)
        supernet, pricer, calibration, evaluation = self._load()
        if abs(config.width - supernet.width) > 1e-9:
            raise InvalidArchitectureError(
                f"trial {trial.trial_id}: config width {config.width} is not the supernet's {supernet.width}."
            )
        self._log_evaluation(trial.trial_id, config.key())
        accuracy = subnet_accuracy(supernet, config, calibration, evaluation)
        return {OBJECTIVE: accuracy, **pricer.price(config).metrics()}

    def _load(self) -> tuple[Any, Pricer, list, list]:
        if self._loaded is None:
            try:
                self._loaded = self._load_once()
            except SearchSetupError:
                raise
            except (McunetError, ValueError, OSError, tf.errors.OpError) as exc:
                raise SearchSetupError(
                    f"search: cannot load the supernet or its data from {self.supernet_dir} "
                    f"({type(exc).__name__}: {' '.join(str(exc).split())[:300]})."
                ) from exc
        return self._loaded

    def _load_once(self) -> tuple[Any, Pricer, list, list]:
        supernet, manifest, _ = load_supernet(self.supernet_dir)
        options = self.evaluation_options
        train, val = load_split(manifest.data, "train"), load_split(manifest.data, "val")
        calibration = train.take_images(options.batch_size, options.calibration_batches)
        batches = val.batches(options.batch_size)
        if options.eval_examples is not None:
            batches = batches.unbatch().take(options.eval_examples).batch(options.batch_size)
        evaluation = [(x.numpy(), y.numpy()) for x, y in batches]
        return (
            supernet,
            self.pricer(manifest.space),
            calibration,
            evaluation,
        )

    def pricer(self, space: Any) -> Pricer:
        """What each trial's metrics are priced with: the oracle's board, engine options and weight bits."""
        return Pricer(space, self.latency, self.firmware, self.compile_options, self.weight_bits)

    def _log_evaluation(self, trial_id: str, key: str) -> None:
        folder = Path(self.project_dir) / EVALUATIONS
        folder.mkdir(parents=True, exist_ok=True)
        entry = {"trial_id": trial_id, "arch_sha": hashlib.sha256(key.encode()).hexdigest()[:16], "pid": os.getpid()}
        with open(folder / f"{self.tuner_id}.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def save(self) -> None:
        if not self._is_worker():
            self.oracle.save()
        write_json_atomically(self._get_tuner_fname(), self.get_state())
