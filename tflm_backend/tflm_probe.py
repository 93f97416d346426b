"""Run stock TFLite Micro on an untrusted model in a child process first.

TFLM checks some things with ``TFLITE_CHECK`` (abort) or not at all: a file the compiler
accepts, or a corrupt vector only TFLM's loader reads, can kill the process (SIGABRT,
SIGSEGV) instead of raising. ``compare`` and ``diff`` run a model given on the command
line here first, in ``python -m tflm_backend.tflm_probe`` with the model on stdin: it
loads the model, invokes it once on zeros, and exits 0; anything else becomes one
:class:`TflmRefusedError` line naming the file and what TFLM said or which signal ended
it. Only the command lines pay the second interpreter start (about a second); tests and
benchmarks, whose models are known, call TFLM directly.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from tflm_backend.tflm_runner import TflmRefusedError

__all__ = ["PROBE_TIMEOUT_S", "probe_tflm"]

PROBE_TIMEOUT_S = 300.0
_REFUSED_EXIT = 3


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def probe_tflm(model: bytes, source: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Load and invoke ``model`` once in a child TFLM; TflmRefusedError if it fails or dies."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tflm_backend.tflm_probe", source], input=model, capture_output=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        raise TflmRefusedError(f"{source}: stock TFLite Micro did not finish one invoke within {timeout_s:.0f} s") from None
    if result.returncode == 0:
        return
    said = _last_line(result.stderr.decode("utf-8", "replace"))
    if result.returncode < 0:
        name = signal.Signals(-result.returncode).name
        raise TflmRefusedError(
            f"{source}: stock TFLite Micro crashed ({name}) loading or running the model"
            + (f"; its last words: {said}" if said else "")
        )
    if result.returncode == _REFUSED_EXIT:  # the child's own one line names the file already
        raise TflmRefusedError(said)
    raise TflmRefusedError(f"{source}: stock TFLite Micro cannot run the model: {said or 'no reason given'}")


def _main() -> int:
    import numpy as np

    from tflm_backend.tflm_runner import TflmModel

    model = TflmModel(sys.stdin.buffer.read(), source=sys.argv[1])
    model.run([np.zeros(info["shape"], info["dtype"]) for info in model.input_details])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(_main())
    except TflmRefusedError as exc:
        print(" ".join(str(exc).split()), file=sys.stderr)
        sys.exit(_REFUSED_EXIT)
