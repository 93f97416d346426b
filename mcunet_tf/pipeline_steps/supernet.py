"""Step 2, supernet training: the once-for-all supernet of the chosen space, a checkpoint per epoch."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcunet_tf.pipeline_steps.data import data_spec
from mcunet_tf.pipeline_steps.space import SpaceResult
from mcunet_tf.pipeline_steps.step import StepResult
from mcunet_tf.training.loop import SupernetJob, TrainOptions, train_supernet
from mcunet_tf.training.sandwich import SandwichOptions

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["SupernetResult", "SupernetStep"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupernetResult(StepResult):
    epochs: int
    val_accuracy_largest: float
    val_accuracy_smallest: float
    history: list[dict[str, Any]]


class SupernetStep:
    name = "supernet"
    title = "supernet training"
    result_type = SupernetResult

    def run(self, context: RunContext, folder: Path) -> SupernetResult:
        o, w = context.options, context.options.work
        space = context.result(SpaceResult)
        train_options = TrainOptions(
            epochs=w.epochs, batch_size=w.batch_size, learning_rate=w.learning_rate,
            sandwich=SandwichOptions(num_random=w.num_random), steps_per_epoch=w.steps_per_epoch, seed=o.seed,
        )
        job = SupernetJob(context.layout_space(space.width, space.resolution), space.width, space.resolution,
                          data_spec(o, space.resolution), train_options, folder)
        history = train_supernet(job, log=context.progress.note).history
        last = history[-1]
        return SupernetResult(
            epochs=len(history), val_accuracy_largest=last["val_accuracy_largest"],
            val_accuracy_smallest=last["val_accuracy_smallest"], history=history,
            summary=f"val accuracy largest {last['val_accuracy_largest']:.3f}, "
                    f"smallest {last['val_accuracy_smallest']:.3f}",
        )
