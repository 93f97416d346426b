"""The TFLite interpreter with its reference kernels: a second oracle beside TFLite Micro.

Older converters write fields that newer TFLite versions reject while TFLite Micro still
accepts them; there TFLite Micro stays the reference and this oracle reports ``None``.
Operator versions the reference kernels lack (DEPTHWISE_CONV_2D version 7, the INT4 filters
4-bit QAT exports) run on the interpreter's builtin kernels instead (``kernels`` says which).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["TfliteReference", "xnnpack_latency_ms"]


class TfliteReference:
    """TFLite's BUILTIN_REF interpreter over model bytes, or an explanation of why not."""

    def __init__(self, model: bytes) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.error: str | None = None
        self._interpreter = None
        #: "reference" (BUILTIN_REF) or "builtin" (where the reference kernels lack an operator version)
        self.kernels: str | None = None
        try:
            import tensorflow as tf
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return
        resolvers = tf.lite.experimental.OpResolverType
        for kernels, resolver in (("reference", resolvers.BUILTIN_REF), ("builtin", resolvers.BUILTIN)):
            try:
                interpreter = tf.lite.Interpreter(model_content=model, experimental_op_resolver_type=resolver)
                interpreter.allocate_tensors()
            except Exception as exc:  # TFLite's own refusal of a file TFLM accepts
                self.error = self.error or f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                continue
            self._interpreter, self.kernels, self.error = interpreter, kernels, None
            return

    @property
    def available(self) -> bool:
        return self._interpreter is not None

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        if self._interpreter is None:
            return None
        try:
            for info, array in zip(self._interpreter.get_input_details(), inputs):
                self._interpreter.set_tensor(info["index"], np.asarray(array, dtype=info["dtype"]).reshape(info["shape"]))
            self._interpreter.invoke()
            return [np.array(self._interpreter.get_tensor(o["index"])) for o in self._interpreter.get_output_details()]
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self._interpreter = None
            return None


def xnnpack_latency_ms(model: bytes, inputs: Sequence[np.ndarray], repeats: int = 30) -> float | None:
    """Median invoke time of the TFLite interpreter with its default (XNNPACK) kernels on one
    thread: the fast desktop baseline beside TFLite Micro. None where TFLite refuses the file."""
    import time

    try:
        import tensorflow as tf

        interpreter = tf.lite.Interpreter(model_content=model, num_threads=1)
        interpreter.allocate_tensors()
        for info, array in zip(interpreter.get_input_details(), inputs):
            interpreter.set_tensor(info["index"], np.asarray(array, dtype=info["dtype"]).reshape(info["shape"]))
        interpreter.invoke()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            interpreter.invoke()
            times.append(time.perf_counter() - start)
        return float(np.median(times) * 1000.0)
    except Exception:
        return None
