"""From the int8 TFLite model to TinyEngine C, checked example by example against TFLite.

:func:`check_predictions` runs every test example through the TFLite interpreter (the
reference the model was exported for) and through the generated C built for the host,
feeding both the *same* int8 input (quantised once, exactly as TFLite's QUANTIZE rounds),
and requires the same output bytes on every example: then the two accuracies are equal
by construction, and any difference is a compiler bug that stops the run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcunet_tf.pipeline_steps.config import PipelineError

__all__ = ["Agreement", "quantize_inputs", "check_predictions", "build_c_project", "build_firmware"]


@dataclasses.dataclass(frozen=True)
class Agreement:
    """Three runtimes on the same int8 inputs: TFLite (reference kernels), TFLite Micro, our C."""

    examples: int
    tflite_accuracy: float
    c_accuracy: float
    #: examples where the C predicts the same label as the TFLite interpreter
    same_labels: int
    #: examples where the C gives TFLite Micro's output bytes
    same_bytes_tflm: int
    #: examples where the C gives the TFLite interpreter's output bytes (its reference kernels
    #: round a few requantisations differently from TFLite Micro, by one step)
    same_bytes_tflite: int
    #: the interpreter's kernels: "reference", or "builtin" where the reference kernels lack an
    #: operator version (4-bit QAT's INT4 depthwise filters); those round differently from
    #: TFLite Micro more often, so there the labels are recorded, not required to agree
    tflite_kernels: str = "reference"

    @property
    def exact(self) -> bool:
        labels_required = self.tflite_kernels == "reference"
        return self.same_bytes_tflm == self.examples and (self.same_labels == self.examples or not labels_required)

    def to_dict(self) -> dict[str, Any]:
        return dict(dataclasses.asdict(self), exact=self.exact)


def quantize_inputs(model: bytes, images: np.ndarray) -> list[np.ndarray]:
    """Each float image as the model's int8 input ``[1, R, R, 3]``."""
    import tensorflow as tf

    from tinyengine_gen.ops.quantize import quantize_reference

    given = tf.lite.Interpreter(model_content=model).get_input_details()[0]
    scale, zero_point = given["quantization"]
    return [quantize_reference(image, scale, zero_point).reshape(given["shape"]) for image in images]


def build_c_project(model: bytes, folder: Path, options: Any = None) -> tuple[Any, Path]:
    """Generate the C project of ``model`` into ``folder`` (replaced whole) and build it for the host,
    with the engine's ``options`` (the patch schedule the search priced)."""
    from tinyengine_gen.host.build import build_host_library
    from tinyengine_gen.codegen.project import generate, write_project
    from tinyengine_gen.frontend.reader import read_model_bytes

    project = generate(read_model_bytes(model, source="model_int8.tflite"), options)
    project_dir = write_project(project, folder)
    build_host_library(project_dir)
    return project, project_dir


def check_predictions(
    model: bytes, project_dir: Path, inputs: Sequence[np.ndarray], labels: np.ndarray
) -> Agreement:
    """Every input through the TFLite interpreter, TFLite Micro and the host-built C.

    Raises PipelineError unless, on every input, the C predicts the interpreter's label and
    gives TFLite Micro's output bytes (the contract of ``tinyengine_gen``). The interpreter
    runs its reference kernels (``BUILTIN_REF``); they agree with TFLite Micro up to one
    quantisation step on a few outputs, so byte equality with them is recorded, not required.
    """
    from tflm_backend.tflite_reference import TfliteReference
    from tflm_backend.tflm_runner import TflmModel
    from tinyengine_gen.host.build import HostModel

    reference, tflm, host = TfliteReference(model), TflmModel(model), HostModel(project_dir)
    if not reference.available:
        raise PipelineError(f"the TFLite interpreter refuses the exported model ({reference.error})")
    right_tflite = right_c = same_labels = same_tflm = same_tflite = 0
    for x, label in zip(inputs, labels):
        outputs = reference.run([x])
        if outputs is None:
            raise PipelineError(f"the TFLite interpreter failed on a test example ({reference.error})")
        theirs, micro, ours = outputs[0], tflm.run([x])[0], host.run([x])[0]
        same_tflm += int(ours.shape == micro.shape and ours.tobytes() == micro.tobytes())
        same_tflite += int(ours.shape == theirs.shape and ours.tobytes() == theirs.tobytes())
        predicted_tflite, predicted_c = int(np.argmax(theirs)), int(np.argmax(ours))
        same_labels += int(predicted_tflite == predicted_c)
        right_tflite += int(predicted_tflite == int(label))
        right_c += int(predicted_c == int(label))
    count = len(inputs)
    agreement = Agreement(
        count, right_tflite / max(count, 1), right_c / max(count, 1), same_labels, same_tflm, same_tflite,
        reference.kernels or "reference",
    )
    if not agreement.exact:
        raise PipelineError(
            f"the generated C predicts another label than the TFLite interpreter on {count - same_labels} and differs "
            f"from TFLite Micro's bytes on {count - same_tflm} of {count} test examples; "
            "run python -m tflm_backend.diff on the model"
        )
    return agreement


def build_firmware(project: Any, folder: Path, board: str, case: np.ndarray) -> dict[str, Any]:
    """Cortex-M firmware for ``board`` when arm-none-eabi-gcc is installed; what it takes, or why not."""
    from tinyengine_gen.errors import TinyEngineError
    from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project
    from tinyengine_gen.firmware.toolchain import toolchain_available

    if not toolchain_available():
        return {"built": False, "board": board, "reason": "arm-none-eabi-gcc (with newlib) is not installed"}
    try:
        build = write_firmware_project(project, folder, FirmwareOptions(board=board), cases=[[case]])
    except TinyEngineError as exc:  # does not fit the board, or the cross build failed
        return {"built": False, "board": board, "reason": str(exc).splitlines()[0]}
    firmware = build.project_report()["firmware"]
    keys = ("flash_bytes", "flash_limit_bytes", "sram_bytes", "sram_limit_bytes", "stack_bytes", "code_bytes")
    return {"built": True, "board": board, "elf": str(build.elf), **{k: firmware[k] for k in keys}}
