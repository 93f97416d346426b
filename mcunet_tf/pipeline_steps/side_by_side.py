"""Step 7, TFLM side by side: peak SRAM, Flash, latency and outputs of stock TFLite Micro and of the C."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from mcunet_tf.pipeline_steps.config import PipelineError
from mcunet_tf.pipeline_steps.step import OpenResult
from tflm_backend.side_by_side import compare_model, format_table
from tinyengine_gen.atomic_io import write_text_atomically

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["SideBySideResult", "SideBySideStep"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SideBySideResult(OpenResult):
    """tflm_backend.side_by_side's JSON (bit_exact, arenas, latencies, inputs_checked ...)."""


class SideBySideStep:
    name = "side_by_side"
    title = "TFLM side by side"
    result_type = SideBySideResult

    def run(self, context: RunContext, folder: Path) -> SideBySideResult:
        cases = [[x] for x in context.int8_inputs()[:100]]  # step 5 already checked every test example
        result = compare_model(context.int8_model_path(), cases=cases, work_dir=folder, patch=context.options.patch,
                               pack_int4=context.options.weight_bits == 4)
        write_text_atomically(folder / "table.txt", format_table(result) + "\n")
        if not result.bit_exact:
            raise PipelineError("the generated C differs from TFLite Micro on the test inputs; see side_by_side/table.txt")
        return SideBySideResult(
            facts=result.to_json(),
            summary=f"TFLM arena {result.tflm_arena_bytes:,} B vs ours {result.te_peak_sram_bytes:,} B; "
                    f"latency {result.tflm_latency_ms:.3f} vs {result.te_latency_ms:.3f} ms; "
                    f"outputs identical on {result.inputs_checked} inputs",
        )
