"""Where a firmware's instructions go: QEMU's execution trace, summed per function.

The per-operator counts (SysTick marks around each call) say which layer is slow; this says
which code inside it. QEMU's TCG log with ``-d in_asm,exec,nochain`` prints each translation
block once when it is translated (the symbol it starts in and its guest instructions) and a
``Trace`` line each time a block runs; ``nochain`` sends every run through the main loop, so
none goes unlogged. Instructions per function are then the sum, over its blocks' runs, of the
block's length: no instrumentation of the firmware, nothing to recompile, the same ELF that
was measured. The count agrees with ``-icount shift=0``'s to within the blocks QEMU rewinds
(an I/O access in the middle of a block, a few per run) and covers the whole run, start-up and
printing included.

The log streams through a FIFO and is summed as it comes, so a 500 M-instruction run needs
no disk space (a Python pass over its lines takes a couple of minutes).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from tinyengine_gen.errors import BuildError
from tinyengine_gen.firmware.boards import QemuMachine
from tinyengine_gen.firmware.qemu import qemu_command

__all__ = ["Block", "Profile", "parse_trace", "profile_command", "profile_firmware"]

_TRACE = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
_INSTRUCTION = re.compile(r"^0x([0-9a-f]+):")


@dataclasses.dataclass(frozen=True)
class Block:
    """One translation block: where it starts, its symbol, its (latest) length, how often it
    ran and the instructions those runs executed."""

    pc: int
    symbol: str
    length: int
    runs: int
    instructions: int


@dataclasses.dataclass(frozen=True)
class Profile:
    """Instructions executed, per function and per block."""

    functions: dict[str, int]
    blocks: tuple[Block, ...]  # hottest first

    @property
    def total(self) -> int:
        return sum(self.functions.values())

    def top(self, n: int) -> list[tuple[str, int]]:
        return sorted(self.functions.items(), key=lambda item: (-item[1], item[0]))[:n]


def parse_trace(lines: Iterable[str]) -> Profile:
    """Sum a ``-d in_asm,exec,nochain`` log.

    A block translated again at the same address (QEMU retranslates after a rewind, with a
    different length) counts its later runs at its new length: each ``Trace`` line is charged
    the length of the latest translation at its address.
    """
    length: dict[int, int] = {}
    symbol: dict[int, str] = {}
    instructions: collections.Counter[int] = collections.Counter()
    runs: collections.Counter[int] = collections.Counter()
    translating: str | None = None
    first_pc: int | None = None
    count = 0
    for line in lines:
        if line.startswith("IN:"):
            translating, first_pc, count = line[3:].strip() or "?", None, 0
            continue
        if translating is not None:
            match = _INSTRUCTION.match(line)
            if match:
                first_pc = int(match.group(1), 16) if first_pc is None else first_pc
                count += 1
                continue
            if first_pc is not None:
                length[first_pc], symbol[first_pc] = count, translating
            translating = None
        match = _TRACE.match(line)
        if match:
            pc = int(match.group(1), 16)
            instructions[pc] += length.get(pc, 0)
            runs[pc] += 1
    functions: collections.Counter[str] = collections.Counter()
    for pc, executed in instructions.items():
        functions[symbol.get(pc, "?")] += executed
    blocks = sorted(
        (Block(pc, symbol.get(pc, "?"), length.get(pc, 0), runs[pc], instructions[pc]) for pc in runs),
        key=lambda block: (-block.instructions, block.pc),
    )
    return Profile(functions=dict(functions), blocks=tuple(blocks))


def profile_command(elf: Path, machine: QemuMachine, log: Path) -> list[str]:
    """The measuring command line (``qemu_command``) with the trace sent to ``log``."""
    return [*qemu_command(elf, machine), "-d", "in_asm,exec,nochain", "-D", str(log)]


def profile_firmware(elf: Path, machine: QemuMachine, timeout_s: float = 900.0) -> Profile:
    """Run ``elf`` once under QEMU ``machine`` with the trace on, and sum it.

    Runs in the ELF's folder (where a semihosting firmware reads inputs.bin). A run that
    does not finish in ``timeout_s`` or exits with an error is a BuildError.
    """
    elf = Path(elf).resolve()
    if not elf.is_file():
        raise BuildError(f"{elf}: no such firmware ELF; build it first (e.g. benchmarks/mcu_side_by_side.py)")
    with tempfile.TemporaryDirectory(prefix="mcunet_tf_profile_") as work:
        fifo = Path(work) / "trace"
        os.mkfifo(fifo)
        process = subprocess.Popen(
            profile_command(elf, machine, fifo),
            cwd=elf.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        releaser = threading.Thread(target=_release_reader, args=(fifo, process), daemon=True)
        releaser.start()
        try:
            with open(fifo, errors="replace") as trace:
                profile = parse_trace(trace)
            _, error = process.communicate()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
            releaser.join()
    if process.returncode != 0:
        detail = (error or "").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        if process.returncode < 0:
            detail = [f"killed after {timeout_s:.0f} s"]
        raise BuildError(f"{elf}: the profiled QEMU run failed ({detail[0]})")
    return profile


def _release_reader(fifo: Path, process: subprocess.Popen[str]) -> None:
    """Once QEMU has exited, open the FIFO for writing and close it: a reader still waiting in
    open() (QEMU died before it opened its log) then sees the end of the file instead of
    waiting for ever. Where no reader waits, the open fails and nothing happens."""
    process.wait()
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass
