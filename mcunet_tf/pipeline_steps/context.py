"""What the steps of one run share: its options and folder, the earlier steps' results, the test data."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import numpy as np

from mcunet_tf.pipeline_steps.config import PipelineError, PipelineOptions
from mcunet_tf.pipeline_steps.data import data_spec, test_split
from mcunet_tf.pipeline_steps.deploy import quantize_inputs
from mcunet_tf.pipeline_steps.progress import Progress
from mcunet_tf.pipeline_steps.space import SpaceResult
from mcunet_tf.pipeline_steps.step import StepResult
from mcunet_tf.space import SearchSpace, redistribute_receptive_field
from mcunet_tf.training.spaces import layout_space

__all__ = ["RunContext"]

R = TypeVar("R", bound=StepResult)


class RunContext:
    """One run: options, output folder, progress lines, and each finished step's result by type."""

    def __init__(self, options: PipelineOptions, out: Path, progress: Progress) -> None:
        self.options = options
        self.out = out
        self.progress = progress
        self._results: dict[type[StepResult], StepResult] = {}
        self._test: tuple[np.ndarray, np.ndarray] | None = None

    def record(self, result: StepResult) -> None:
        self._results[type(result)] = result

    def result(self, kind: type[R]) -> R:
        """The result of the earlier step that returns ``kind`` (KeyError if it has not run)."""
        found = self._results[kind]
        assert isinstance(found, kind)
        return found

    @property
    def num_classes(self) -> int:
        return data_spec(self.options, 32).num_classes

    def layout_space(self, width: float, resolution: int) -> SearchSpace:
        """The task's space at (W, R), with receptive-field redistribution where the options ask for it."""
        space = layout_space(self.options.layout, width, resolution, self.num_classes)
        stages = self.options.redistributed_stages
        if stages >= len(space.stages):
            raise PipelineError(f"--redistribute_rf={stages} must be below the layout's {len(space.stages)} stages.")
        return redistribute_receptive_field(space, stages) if stages else space

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """The test split at the resolution the space step chose (read once)."""
        if self._test is None:
            self._test = test_split(self.options, self.result(SpaceResult).resolution)
        return self._test

    def int8_model_path(self) -> Path:
        return self.out / "qat" / "model_int8.tflite"

    def int8_model(self) -> bytes:
        return self.int8_model_path().read_bytes()

    def int8_inputs(self) -> list[np.ndarray]:
        """The test images quantised as the exported model's input expects."""
        return quantize_inputs(self.int8_model(), self.test()[0])
