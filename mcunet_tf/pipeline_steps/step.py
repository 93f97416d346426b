"""The ``Step`` protocol of the pipeline, and the base of the results the steps return.

A step is an object with a ``name`` (its folder under ``--out``), a ``title`` (its progress
line), the type of its result, and ``run(context, folder)``. Its result is a frozen
dataclass that :class:`~mcunet_tf.pipeline_steps.progress.Progress` stores as
``<folder>/result.json`` (:meth:`StepResult.to_json`) and reads back on a rerun
(:meth:`StepResult.from_json`): that round trip is what resuming rests on, and later steps
read earlier results by their type (:meth:`RunContext.result`), never by string keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["OpenResult", "Step", "StepResult"]

R = TypeVar("R", bound="StepResult")

#: keys every result.json holds after the step's own ones
_TRAILING = ("summary", "seconds")


@dataclasses.dataclass(frozen=True, kw_only=True)
class StepResult:
    """What a step returns: its own fields, a one-line summary, and the seconds it took."""

    summary: str
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in result.json and report.json (the step's fields, then summary, seconds)."""
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _TRAILING}
        return {**own, "summary": self.summary, "seconds": self.seconds}

    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
        """The result :meth:`to_json` wrote (a missing or unknown key is a KeyError / ignored)."""
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: data[name] for name in names if name in data or name != "seconds"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenResult(StepResult):
    """A result whose keys are another module's JSON (the firmware build, the TFLM comparison),
    stored flat beside summary and seconds, as that module writes them."""

    facts: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {**self.facts, "summary": self.summary, "seconds": self.seconds}

    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
        facts = {k: v for k, v in data.items() if k not in _TRAILING}
        return cls(facts=facts, summary=data["summary"], seconds=data.get("seconds", 0.0))  # type: ignore[call-arg]


class Step(Protocol):
    """One step of the pipeline (implementations set the three as class attributes)."""

    @property
    def name(self) -> str:
        """Its folder under --out and its key in report.json."""

    @property
    def title(self) -> str:
        """What its progress lines call it."""

    @property
    def result_type(self) -> type[StepResult]:
        """The result it returns (and that a rerun reads back from result.json)."""

    def run(self, context: RunContext, folder: Path) -> StepResult:
        """Do the step's work in ``folder`` (created empty or left by an interrupted run)."""
