"""Run a firmware under QEMU and check its outputs against the host build and TFLM.

``qemu-system-arm -M <machine> -nographic -semihosting-config enable=on,target=native
-icount shift=0 -kernel fw.elf``: the firmware prints its outputs and SysTick ticks
through semihosting (the protocol is in :mod:`tinyengine_gen.firmware.sources`) and exits.
With ``-icount shift=0`` QEMU advances virtual time by one nanosecond per instruction, so
SysTick, clocked at the machine's 25 MHz, ticks once every 40 instructions: the counts
are deterministic, to that resolution, and independent of the host's speed. Every run has
a hard wall-clock timeout.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyengine_gen.errors import BuildError
from tinyengine_gen.firmware.boards import QemuMachine
from tinyengine_gen.firmware.build import FirmwareBuild
from tinyengine_gen.firmware.linker import HEAP_BYTES, qemu_layout_problem
from tinyengine_gen.firmware.toolchain import tool
from tinyengine_gen.host.build import HostModel, build_host_library
from tinyengine_gen.ops.quantize import dequantize_reference

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "QemuRun",
    "FirmwareCheck",
    "qemu_command",
    "parse_output",
    "run_firmware",
    "decode_outputs",
    "check_firmware",
]

DEFAULT_TIMEOUT_S = 120.0
_PREFIX = "TE_FW "

Runner = Callable[[Sequence[np.ndarray]], Sequence[np.ndarray]]


@dataclasses.dataclass(frozen=True)
class QemuRun:
    """What one QEMU run printed, parsed."""

    outputs: tuple[tuple[bytes, ...], ...]  # [case][output]: raw bytes of the output tensor
    ticks: tuple[int, ...]  # SysTick ticks of each te_invoke()
    statuses: tuple[int, ...]
    stack_used: int  # bytes of painted stack overwritten (high-water mark)
    heap_used: int
    instructions_per_tick: int
    wall_s: float
    text: str = ""  # everything the firmware printed (``TE_FW op`` lines are read from it)

    @property
    def instructions(self) -> tuple[int, ...]:
        """Instructions executed by each inference (SysTick resolution)."""
        return tuple(t * self.instructions_per_tick for t in self.ticks)


def qemu_command(elf: Path, machine: QemuMachine) -> list[str]:
    return [
        tool("qemu-system-arm"),
        "-M", machine.name,
        "-nographic",
        "-semihosting-config", "enable=on,target=native",
        "-icount", "shift=0",
        "-kernel", str(elf),
    ]  # fmt: skip


def parse_output(text: str, instructions_per_tick: int, wall_s: float = 0.0) -> QemuRun:
    """Parse the ``TE_FW`` lines; anything short of ``TE_FW end`` is a BuildError."""
    lines = [line.strip()[len(_PREFIX) :].split() for line in text.splitlines() if line.strip().startswith(_PREFIX)]
    values: dict[str, Any] = {"case": {}, "output": {}}
    ended = False
    for fields in lines:
        kind = fields[0]
        if kind == "fault":
            raise BuildError(f"the firmware faulted (exception {int(fields[1], 16)}) under QEMU")
        if kind == "input_error":
            raise BuildError(
                f"the firmware could not read the inputs of case {int(fields[1], 16)} through semihosting "
                "(inputs.bin beside fw.elf, QEMU's working folder)"
            )
        if kind == "case":
            values["case"][int(fields[1], 16)] = (int(fields[3], 16), int(fields[5], 16))
        elif kind == "output":
            data = bytes.fromhex(fields[3]) if len(fields) > 3 else b""
            values["output"][(int(fields[1], 16), int(fields[2], 16))] = data
        elif kind in ("stack", "heap", "begin"):
            values[kind] = int(fields[1], 16)
        elif kind == "end":
            ended = True
    if not ended or "begin" not in values:
        tail = " | ".join(text.strip().splitlines()[-3:])
        raise BuildError(f"the firmware did not finish under QEMU (no 'TE_FW end'); last output: {tail or 'none'}")
    cases = values["begin"]
    outputs = tuple(
        tuple(values["output"][(c, o)] for o in range(sum(1 for key in values["output"] if key[0] == c)))
        for c in range(cases)
    )
    return QemuRun(
        outputs=outputs,
        ticks=tuple(values["case"][c][1] for c in range(cases)),
        statuses=tuple(values["case"][c][0] for c in range(cases)),
        stack_used=values["stack"],
        heap_used=values["heap"],
        instructions_per_tick=instructions_per_tick,
        wall_s=wall_s,
        text=text,
    )


def run_firmware(build: FirmwareBuild, timeout_s: float = DEFAULT_TIMEOUT_S) -> QemuRun:
    """Run ``build``'s fw.elf on the QEMU machine with its board's core; parse what it prints."""
    problem = qemu_layout_problem(build.board, build.options.layout)
    if problem:
        raise BuildError(f"{build.elf} cannot run under QEMU: {problem}")
    machine = build.board.qemu
    command = qemu_command(build.elf.resolve(), machine)
    start = time.monotonic()
    try:  # in the firmware's folder: where a semihosting firmware reads inputs.bin
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL, cwd=build.directory
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise BuildError(
            f"{build.elf}: QEMU {machine.name} did not finish within {timeout_s:.0f} s "
            f"(printed {partial.count(_PREFIX + 'case')} of {len(build.cases)} cases)"
        ) from None
    wall_s = time.monotonic() - start
    run = parse_output(result.stdout, machine.instructions_per_tick, wall_s)
    if run.heap_used > HEAP_BYTES:
        raise BuildError(f"{build.elf}: newlib took {run.heap_used} bytes of heap, more than the {HEAP_BYTES} reserved")
    if run.stack_used > build.sizes.section(".stack"):
        raise BuildError(
            f"{build.elf}: the stack reached {run.stack_used} bytes, more than the {build.sizes.section('.stack')} "
            "the analysis reserved"
        )
    return run


def decode_outputs(raw: Sequence[bytes], report: Mapping[str, Any]) -> list[np.ndarray]:
    """Raw output bytes as arrays, dequantised where an int8 output API took over (as HostModel)."""
    outputs = []
    for data, info in zip(raw, report["outputs"]):
        array = (
            np.frombuffer(data, dtype=np.dtype(info["dtype"]).newbyteorder("<"))
            .astype(info["dtype"])
            .reshape(info["shape"])
        )
        if "float_api" in info:
            array = dequantize_reference(array, info["scale"], info["zero_point"])
        outputs.append(array)
    return outputs


@dataclasses.dataclass(frozen=True)
class FirmwareCheck:
    run: QemuRun
    outputs: tuple[tuple[np.ndarray, ...], ...]  # decoded, per case
    compared_with: tuple[str, ...]  # names of the references that agreed on every case


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def check_firmware(
    build: FirmwareBuild, tflm: Runner | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> FirmwareCheck:
    """Run ``build`` under QEMU; assert its outputs equal the host build's and TFLM's, byte for byte.

    The host build is the same project compiled with the host's gcc (HostModel). ``tflm``
    is TFLM's runner for the same model (``TflmModel(model_bytes).run`` from
    ``tflm_backend.tflm_runner``): passed in, so that the compiler does not depend on the
    tflite-micro package. A difference raises AssertionError naming case and output.
    """
    build_host_library(build.project_dir)
    references: dict[str, Runner] = {"host build": HostModel(build.project_dir).run}
    if tflm is not None:
        references["TFLM"] = tflm
    run = run_firmware(build, timeout_s)
    if any(run.statuses):
        raise AssertionError(f"te_invoke returned {run.statuses} under QEMU")
    report = build.project_report()
    decoded = tuple(tuple(decode_outputs(raw, report)) for raw in run.outputs)
    for name, runner in sorted(references.items()):
        for c, (case, ours) in enumerate(zip(build.cases, decoded)):
            expected = [np.asarray(x) for x in runner(list(case))]
            for o, (a, b) in enumerate(zip(ours, expected)):
                if not _same_bytes(a, b):
                    differing = int(np.count_nonzero(np.asarray(a) != np.asarray(b))) if a.shape == b.shape else -1
                    raise AssertionError(
                        f"{build.board.name} firmware under QEMU: output {o} of case {c} differs from {name} "
                        f"({differing} values; dtypes {a.dtype}/{b.dtype}, shapes {a.shape}/{b.shape})"
                    )
    return FirmwareCheck(run, decoded, tuple(sorted(references)))
