"""Progress lines and resumable steps.

Every step prints one line when it starts and one when it ends, with its own and the
run's elapsed time; long steps add a line per epoch or per phase through :meth:`Progress.note`.
A finished step writes ``<out>/<step>/result.json`` (atomically, last): a rerun with the same
options finds it and skips the step, so a run killed in the middle of a step redoes only
that step (supernet training and search resume inside the step as well).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mcunet_tf.pipeline_steps.step import Step, StepResult
from tinyengine_gen.atomic_io import write_json_atomically

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["Progress", "RESULT"]

RESULT = "result.json"


class Progress:
    def __init__(self, out: Path, total_steps: int, stream: TextIO | None = None) -> None:
        self.out = out
        self.total = total_steps
        self.index = 0
        self.started = time.monotonic()
        self.stream = stream or sys.stdout

    def note(self, message: str) -> None:
        self.stream.write(f"      {message}\n")
        self.stream.flush()

    def clock(self) -> str:
        """The run's elapsed time, m:ss."""
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def run(self, step: Step, context: RunContext) -> StepResult:
        """Run ``step`` unless ``<out>/<step.name>/result.json`` exists; returns (and stores) its result."""
        self.index += 1
        folder = self.out / step.name
        marker = folder / RESULT
        prefix = f"[{self.index}/{self.total}] {step.title}"
        if marker.is_file():
            self.stream.write(f"{prefix}: done in an earlier run, kept ({folder})\n")
            self.stream.flush()
            return step.result_type.from_json(json.loads(marker.read_text()))
        self.stream.write(f"{prefix} ...\n")
        self.stream.flush()
        began = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)
        result = dataclasses.replace(step.run(context, folder), seconds=round(time.monotonic() - began, 1))
        write_json_atomically(marker, result.to_json())
        self.stream.write(f"{prefix}: {result.summary} [{result.seconds:.1f} s, total {self.clock()}]\n")
        self.stream.flush()
        return result
