"""What one pipeline run does: the task, the memory budget, and how much work each step gets.

A run is described by one frozen :class:`PipelineOptions`, built at the command-line edge
from a task preset (:data:`TASKS`) and a work preset (:data:`WORK`); flags only override
single fields. Its JSON form is stored in the output folder, which is how a rerun decides
between resuming and starting over.

Work presets:

* ``tiny``: the fast end-to-end test (a minute on two cores); accuracy only needs to beat chance;
* ``smoke``: the default run on the built-in toy data (a few minutes on two cores);
* ``full``: MCUNet-sized settings for a real dataset on a real accelerator.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mcunet_tf.errors import McunetError
from mcunet_tf.space import MCUNET_RESOLUTIONS, MCUNET_WIDTHS

__all__ = ["PipelineError", "TaskPreset", "WorkPreset", "TASKS", "WORK", "PipelineOptions", "make_options"]


class PipelineError(McunetError, ValueError):
    """A pipeline run that cannot go on: bad flags, bad data folder, or a failed cross-check."""


@dataclasses.dataclass(frozen=True)
class TaskPreset:
    """A task: its dataset name, the layout of its supernet, its default budget and its (W, R) grid."""

    dataset: str
    layout: str
    sram_kb: float
    flash_kb: float
    widths: tuple[float, ...]
    resolutions: tuple[int, ...]


TASKS: dict[str, TaskPreset] = {
    # Budgets small enough that the largest sub-networks of the grid do not fit: the search must choose.
    "toy": TaskPreset("toy", "tiny", 32, 128, (0.2, 0.3, 0.4), (32, 40, 48)),
    "kws": TaskPreset("kws", "mcunet", 256, 1024, MCUNET_WIDTHS, MCUNET_RESOLUTIONS[:5]),
    "vww": TaskPreset("vww", "mcunet", 320, 1024, MCUNET_WIDTHS, MCUNET_RESOLUTIONS),
    "imagenet": TaskPreset("imagenet", "mcunet", 320, 1024, MCUNET_WIDTHS, MCUNET_RESOLUTIONS),
}


@dataclasses.dataclass(frozen=True)
class WorkPreset:
    """How much each step does."""

    space_samples: int
    epochs: int
    steps_per_epoch: int | None
    batch_size: int
    learning_rate: float
    num_random: int
    trials: int
    population: int
    eval_examples: int | None
    #: 0 skips QAT: the post-training int8 export is the model that goes on
    qat_epochs: int
    qat_steps: int | None
    #: test examples the TFLite and C predictions are checked on (None: the whole split)
    test_examples: int | None
    toy_train: int
    toy_test: int
    #: restrict the (W, R) grid to its first entries (None: the task's whole grid)
    max_widths: int | None = None
    max_resolutions: int | None = None


WORK: dict[str, WorkPreset] = {
    # tiny: QAT off (qat_epochs 0: the post-training int8 export goes on), each TFLite conversion costs ~20 s
    "tiny": WorkPreset(20, 3, None, 64, 0.05, 1, 4, 4, 256, 0, None, 128, 1024, 128, max_widths=2, max_resolutions=1),
    "smoke": WorkPreset(100, 4, None, 64, 0.05, 1, 12, 6, None, 1, None, None, 2048, 512),
    "full": WorkPreset(1000, 150, None, 128, 0.05, 2, 200, 32, None, 3, None, None, 8192, 2048),
}


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """Everything a run depends on (its JSON form decides whether a rerun may resume)."""

    task: str
    data_dir: str | None
    sram_kb: float
    flash_kb: float
    board: str
    budget: str
    layout: str
    widths: tuple[float, ...]
    resolutions: tuple[int, ...]
    work: WorkPreset
    seed: int = 0
    toy_classes: int = 4
    #: "auto": search-space optimisation, search and compilation use the patch schedule
    #: ``tinyengine_gen --patch=auto`` picks (MCUNetV2's patch-based memory); "off": layer-wise
    patch: str = "auto"
    patch_max_overhead: float = 0.2
    #: receptive-field redistribution (MCUNetV2): the first N stages of the search space choose
    #: only small kernels and expand ratios, the stage after them only its deeper depths;
    #: None: 1 with ``patch="auto"`` (the patch stage ends in the first stages), 0 with "off"
    redistribute_rf: int | None = None
    #: 4: QAT with 4-bit weights, packed two per byte in Flash, Flash priced at 4 bits
    weight_bits: int = 8

    def __post_init__(self) -> None:
        if self.patch not in ("auto", "off"):
            raise PipelineError(f"--patch={self.patch!r} is not auto or off.")
        if self.patch_max_overhead < 0:
            raise PipelineError(f"--patch_max_overhead ({self.patch_max_overhead}) must be at least 0.")
        if self.redistribute_rf is not None and self.redistribute_rf < 0:
            raise PipelineError(f"--redistribute_rf ({self.redistribute_rf}) must be at least 0.")
        if self.weight_bits not in (4, 8):
            raise PipelineError(f"--weight_bits={self.weight_bits} is not 4 or 8.")
        if self.sram_kb <= 0 or self.flash_kb <= 0:
            raise PipelineError(f"--sram_kb ({self.sram_kb}) and --flash_kb ({self.flash_kb}) must be positive.")
        if self.task == "toy" and self.data_dir:
            raise PipelineError("--task=toy generates its own data; drop --data_dir or pick --task=kws|vww|imagenet.")

    @property
    def dataset(self) -> str:
        return TASKS[self.task].dataset

    @property
    def redistributed_stages(self) -> int:
        """How many first stages receptive-field redistribution restricts (0: none)."""
        if self.redistribute_rf is not None:
            return self.redistribute_rf
        return 1 if self.patch == "auto" else 0

    @property
    def compile_options(self) -> Any:
        """The engine options of the search's pricing and of the final compilation (one schedule)."""
        from mcunet_tf.cost_model import patch_options

        return patch_options(self.patch, self.patch_max_overhead)

    def to_dict(self) -> dict[str, Any]:
        result = dataclasses.asdict(self)
        result["widths"], result["resolutions"] = list(self.widths), list(self.resolutions)
        return result


def make_options(
    task: str,
    *,
    budget: str = "smoke",
    data_dir: str | None = None,
    sram_kb: float | None = None,
    flash_kb: float | None = None,
    board: str = "stm32f746",
    seed: int = 0,
    patch: str = "auto",
    patch_max_overhead: float = 0.2,
    weight_bits: int = 8,
    redistribute_rf: int | None = None,
    **work_overrides: Any,
) -> PipelineOptions:
    """Options of a run from the presets; ``work_overrides`` replace fields of the work preset."""
    if task not in TASKS:
        raise PipelineError(f"--task={task!r} is not one of {sorted(TASKS)}.")
    if budget not in WORK:
        raise PipelineError(f"--budget={budget!r} is not one of {sorted(WORK)}.")
    preset = TASKS[task]
    unknown = sorted(set(work_overrides) - {f.name for f in dataclasses.fields(WorkPreset)})
    if unknown:
        raise PipelineError(f"unknown work settings {unknown}.")
    work = dataclasses.replace(WORK[budget], **{k: v for k, v in work_overrides.items() if v is not None})
    widths = preset.widths[: work.max_widths] if work.max_widths else preset.widths
    resolutions = preset.resolutions[: work.max_resolutions] if work.max_resolutions else preset.resolutions
    return PipelineOptions(
        task=task,
        data_dir=data_dir,
        sram_kb=preset.sram_kb if sram_kb is None else float(sram_kb),
        flash_kb=preset.flash_kb if flash_kb is None else float(flash_kb),
        board=board,
        budget=budget,
        layout=preset.layout,
        widths=tuple(widths),
        resolutions=tuple(resolutions),
        work=work,
        weight_bits=int(weight_bits),
        seed=seed,
        patch=patch,
        patch_max_overhead=patch_max_overhead,
        redistribute_rf=redistribute_rf,
    )
