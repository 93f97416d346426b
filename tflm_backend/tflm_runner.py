"""Run a model in stock TensorFlow Lite Micro (the tflite-micro Python package).

TFLM reports the arena its RecordingMicroAllocator used through ``print_allocations()``,
which prints from C++ straight to file descriptor 2; we capture that descriptor to read it.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from tinyengine_gen.errors import TinyEngineError

__all__ = ["TflmModel", "TflmRefusedError", "capture_fd_output"]

class TflmRefusedError(TinyEngineError):
    """Stock TFLite Micro refuses (or crashes on) a model: nothing to compare against."""


def _refused(what: str, exc: Exception, source: str) -> TflmRefusedError:
    said = " ".join(str(exc).split()) or type(exc).__name__
    return TflmRefusedError(f"{source}: stock TFLite Micro cannot {what} the model: {said}")


_ARENA_PATTERN = re.compile(r"Arena allocation total (\d+) bytes")


def capture_fd_output(function, fd: int = 2) -> str:
    """Run ``function()`` and return what it wrote to file descriptor ``fd`` (C-level)."""
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), fd)
        try:
            function()
        finally:
            os.dup2(saved, fd)
            os.close(saved)
        sink.seek(0)
        return sink.read().decode("utf-8", "replace")


def _io_counts(model: bytes) -> tuple[int, int]:
    """Number of inputs and outputs of the model's first subgraph (TFLM's Python API has no count)."""
    from tinyengine_gen.frontend.schema import schema

    subgraph = schema.Model.GetRootAs(model, 0).Subgraphs(0)
    return subgraph.InputsLength(), subgraph.OutputsLength()


class TflmModel:
    """One TFLM interpreter over a model file's bytes."""

    def __init__(self, model: bytes, arena_size: int | None = None, source: str = "model") -> None:
        from tflite_micro.python.tflite_micro import runtime

        self._data = model
        self._source = source
        size = arena_size or max(len(model) * 10, 1 << 20) + (8 << 20)
        try:
            self._interpreter = runtime.Interpreter.from_bytes(model, arena_size=size)
        except (RuntimeError, ValueError) as exc:  # it failed to allocate or to prepare an op
            raise _refused("load", exc, source) from None
        self._num_inputs, self._num_outputs = _io_counts(model)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], arena_size: int | None = None) -> "TflmModel":
        with open(path, "rb") as handle:
            return cls(handle.read(), arena_size)

    @property
    def input_details(self) -> list[dict]:
        return [self._interpreter.get_input_details(i) for i in range(self._num_inputs)]

    @property
    def output_details(self) -> list[dict]:
        return [self._interpreter.get_output_details(i) for i in range(self._num_outputs)]

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        for position, array in enumerate(inputs):
            info = self._interpreter.get_input_details(position)
            self._interpreter.set_input(np.asarray(array, dtype=info["dtype"]).reshape(info["shape"]), position)
        try:
            self._interpreter.invoke()
        except (RuntimeError, ValueError) as exc:
            raise _refused("invoke", exc, self._source) from None
        return [np.array(self._interpreter.get_output(i)) for i in range(self._num_outputs)]

    def reset(self) -> None:
        """Clear the variable tensors (state) as MicroInterpreter::Reset does."""
        self._interpreter.reset()

    def arena_bytes(self, inputs: Sequence[np.ndarray]) -> int:
        """The arena the RecordingMicroAllocator used, after one invoke (as TFLM reports it)."""
        self.run(inputs)
        text = capture_fd_output(self._interpreter.print_allocations)
        match = _ARENA_PATTERN.search(text)
        if match is None:
            raise RuntimeError(f"TFLM did not report its arena; it printed: {text[:500]!r}")
        return int(match.group(1))

    def latency_ms(self, inputs: Sequence[np.ndarray], repeats: int = 50, warmup: int = 3) -> float:
        """Median wall time of ``invoke`` over ``repeats`` calls on the same inputs."""
        self.run(inputs)
        for _ in range(warmup):
            self._interpreter.invoke()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self._interpreter.invoke()
            times.append(time.perf_counter() - start)
        return float(np.median(times) * 1000.0)
