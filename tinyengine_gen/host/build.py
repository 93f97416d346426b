"""Build a generated project with the host's gcc and run it from Python through ctypes.

This is the harness the tests, the comparison and the benchmarks share: it is how we show
that the generated C gives the same bytes as TFLite Micro.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinyengine_gen.errors import BuildError
from tinyengine_gen.ops.quantize import dequantize_reference, quantize_reference

__all__ = ["HOST_CFLAGS", "build_host_library", "host_flash_bytes", "HostModel"]

HOST_CFLAGS = ("-std=c99", "-O3", "-fPIC", "-shared")
#: Tune for the build machine's own vector unit, as a firmware build tunes for its core. The
#: library runs where it is built; pass ``native=False`` for a portable x86-64 build.
NATIVE_FLAGS = ("-march=native",)


@functools.cache
def _supports_native(cc: str) -> bool:
    probe = subprocess.run([cc, "-march=native", "-x", "c", "-E", "-"], input="", capture_output=True, text=True)
    return probe.returncode == 0


def _sources(project_dir: Path) -> list[str]:
    kernel_sources = sorted(str(p.relative_to(project_dir)) for p in (project_dir / "kernels").glob("*.c"))
    return ["model.c"] + kernel_sources


def build_host_library(
    project_dir: str | os.PathLike[str],
    extra_flags: Sequence[str] = (),
    compiler: str | None = None,
    native: bool = True,
) -> Path:
    """Compile model.c and its kernels into ``libmodel.so`` inside the project folder."""
    project = Path(project_dir)
    cc = compiler or os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise BuildError(f"C compiler '{cc}' not found; install gcc (Debian: apt-get install gcc).")
    output = project / "libmodel.so"
    tuning = NATIVE_FLAGS if native and _supports_native(cc) else ()
    command = [cc, *HOST_CFLAGS, *tuning, *extra_flags, "-I.", "-o", output.name, *_sources(project), "-lm"]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines() or ["?"]
        raise BuildError(
            f"{project}: {cc} could not build the generated project: {errors[0].strip()} "
            f"(command: {' '.join(command)}; full log below)\n{result.stderr.strip()[-4000:]}"
        )
    return output


class HostModel:
    """A built model loaded into this process: write inputs, invoke, read outputs."""

    def __init__(self, project_dir: str | os.PathLike[str], library: str | os.PathLike[str] | None = None) -> None:
        self.project_dir = Path(project_dir)
        self.report = json.loads((self.project_dir / "report.json").read_text())
        path = Path(library) if library else self.project_dir / "libmodel.so"
        self._lib = ctypes.CDLL(str(path.resolve()))
        self._lib.te_input.restype = ctypes.c_void_p
        self._lib.te_input.argtypes = [ctypes.c_int]
        self._lib.te_output.restype = ctypes.c_void_p
        self._lib.te_output.argtypes = [ctypes.c_int]
        self._lib.te_invoke.restype = ctypes.c_int
        self._lib.te_invoke.argtypes = []

    @property
    def input_details(self) -> list[dict]:
        """Inputs as a caller with the original model sees them (float where an int8 API took over)."""
        return [info.get("float_api", info) for info in self.report["inputs"]]

    @property
    def output_details(self) -> list[dict]:
        return self.report["outputs"]

    @property
    def model_input_details(self) -> list[dict]:
        """Inputs as the generated C takes them."""
        return self.report["inputs"]

    def set_inputs(self, inputs: Sequence[np.ndarray]) -> None:
        if len(inputs) != len(self.input_details):
            raise ValueError(f"model takes {len(self.input_details)} inputs, got {len(inputs)}")
        for position, (array, info) in enumerate(zip(inputs, self.model_input_details)):
            array = np.asarray(array)
            if "float_api" in info and array.dtype == np.float32:
                # int8 input API: quantise as the QUANTIZE op the compiler removed would have.
                array = quantize_reference(array, info["scale"], info["zero_point"])
            data = np.ascontiguousarray(array, dtype=np.dtype(info["dtype"])).reshape(info["shape"])
            ctypes.memmove(self._lib.te_input(position), data.ctypes.data, data.nbytes)

    def reset(self) -> None:
        """te_reset(): clear the state a model with variable tensors keeps between invokes."""
        reset = getattr(self._lib, "te_reset", None)
        if reset is not None:
            reset.restype, reset.argtypes = None, []
            reset()

    def invoke(self) -> None:
        status = self._lib.te_invoke()
        if status != 0:
            raise RuntimeError(f"te_invoke returned {status}")

    def get_outputs(self) -> list[np.ndarray]:
        outputs = []
        for position, info in enumerate(self.output_details):
            result = np.empty(info["shape"], dtype=np.dtype(info["dtype"]))
            ctypes.memmove(result.ctypes.data, self._lib.te_output(position), result.nbytes)
            if "float_api" in info:
                # int8 output API: dequantise as the DEQUANTIZE op the compiler removed would have.
                result = dequantize_reference(result, info["scale"], info["zero_point"])
            outputs.append(result)
        return outputs

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.set_inputs(inputs)
        self.invoke()
        return self.get_outputs()

    def latency_ms(self, inputs: Sequence[np.ndarray], repeats: int = 50, warmup: int = 3) -> float:
        """Median wall time of ``invoke`` over ``repeats`` calls on the same inputs."""
        self.set_inputs(inputs)
        for _ in range(warmup):
            self.invoke()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self.invoke()
            times.append(time.perf_counter() - start)
        return float(np.median(times) * 1000.0)


_FLASH_SECTIONS = (".text", ".rodata", ".data")


def host_flash_bytes(library: str | os.PathLike[str]) -> dict[str, int]:
    """Bytes of code and constant data in a built library, by section (binutils ``size -A``).

    On the host this is x86-64 code; the Cortex-M build reports the microcontroller's own
    figure. Weights dominate either way.
    """
    result = subprocess.run(["size", "-A", str(library)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{library}: 'size' failed (install binutils): {result.stderr.strip()}")
    sections = {name: 0 for name in _FLASH_SECTIONS}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in sections and parts[1].isdigit():
            sections[parts[0]] += int(parts[1])
    return sections
