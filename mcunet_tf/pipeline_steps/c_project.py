"""Step 5, TinyEngine C: the int8 model compiled and built for the host, checked against TFLite on
every test example (the run stops unless the output bytes agree on all)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcunet_tf.pipeline_steps.deploy import build_c_project, check_predictions
from mcunet_tf.pipeline_steps.report import write_memory_per_op
from mcunet_tf.pipeline_steps.step import StepResult

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["CProjectResult", "CProjectStep"]

#: the compiler report's keys the pipeline report shows
_REPORT_KEYS = ("macs", "executed_macs", "weights_bytes", "arena_bytes", "peak_sram_bytes", "patch")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CProjectResult(StepResult):
    project: str
    report: dict[str, Any]  # report.json's _REPORT_KEYS
    agreement: dict[str, Any]  # deploy.Agreement.to_dict()


class CProjectStep:
    name = "c"
    title = "TinyEngine C + TFLite/C agreement on the test split"
    result_type = CProjectResult

    def run(self, context: RunContext, folder: Path) -> CProjectResult:
        model = context.int8_model()
        project, project_dir = build_c_project(model, folder / "model", context.options.compile_options)
        agreement = check_predictions(model, project_dir, context.int8_inputs(), context.test()[1])
        report = project.report
        write_memory_per_op(report, folder / "memory_per_op.png")
        return CProjectResult(
            project=str(project_dir), report={k: report.get(k) for k in _REPORT_KEYS}, agreement=agreement.to_dict(),
            summary=f"TFLite {agreement.tflite_accuracy:.4f} = C {agreement.c_accuracy:.4f} on "
                    f"{agreement.examples} test examples (same label on all; C = TFLM bytes on all, "
                    f"= TFLite bytes on {agreement.same_bytes_tflite})",
        )
