"""Step 6, Cortex-M firmware: a build for ``--board`` where arm-none-eabi-gcc is installed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from mcunet_tf.pipeline_steps.deploy import build_firmware
from mcunet_tf.pipeline_steps.step import OpenResult
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.frontend.reader import read_model_bytes

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["FirmwareResult", "FirmwareStep"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class FirmwareResult(OpenResult):
    """deploy.build_firmware's keys: built, board, and the sizes and limits (or the reason it was skipped)."""


class FirmwareStep:
    name = "firmware"
    title = "Cortex-M firmware"
    result_type = FirmwareResult

    def run(self, context: RunContext, folder: Path) -> FirmwareResult:
        project = generate(read_model_bytes(context.int8_model(), source="model_int8.tflite"),
                           context.options.compile_options)
        result = build_firmware(project, folder / "model", context.options.board, context.int8_inputs()[0])
        if result["built"]:
            summary = (f"{result['board']}: Flash {result['flash_bytes']:,} / {result['flash_limit_bytes']:,} B, "
                       f"SRAM {result['sram_bytes']:,} / {result['sram_limit_bytes']:,} B")
        else:
            summary = f"skipped: {result['reason']}"
        return FirmwareResult(facts=result, summary=summary)
