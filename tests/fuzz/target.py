"""The fuzz target: read a model and compile it to C text, as ``python -m tinyengine_gen`` does.

The only acceptable outcomes are success and a :class:`~tinyengine_gen.errors.TinyEngineError`
(the user sees one line and exit status 2). Any other exception is a bug in this project,
and so is an input that takes longer than the per-input limit (a hang on hostile input).
Nothing is written to disk and no C is compiled: the target stops at the generated files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
from collections.abc import Iterator

from tinyengine_gen.errors import TinyEngineError
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.frontend.reader import read_model_bytes

__all__ = ["PER_INPUT_SECONDS", "FuzzTimeout", "Outcome", "run_one"]

#: Far above the few milliseconds a small model takes, so a shared CPU does not cause
#: false alarms; a loop over a corrupted billion-entry vector blows through it.
PER_INPUT_SECONDS = 10.0


class FuzzTimeout(Exception):
    """Raised in the target when one input runs past its time limit."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    label: str  # "ok", or the TinyEngineError subclass name
    message: str = ""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expire(signum, frame):  # noqa: ARG001
        raise FuzzTimeout(f"input ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_one(data: bytes, source: str = "fuzz.tflite", seconds: float = PER_INPUT_SECONDS) -> Outcome:
    """Read, compile and emit ``data``; any exception other than TinyEngineError propagates."""
    with _time_limit(seconds):
        try:
            generate(read_model_bytes(data, source=source))
        except TinyEngineError as exc:
            return Outcome(type(exc).__name__, str(exc))
    return Outcome("ok")
