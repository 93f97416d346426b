"""Stock TFLM as Cortex-M firmware: build, run under QEMU, measure from the ELF.

Uses our firmware's pieces (:mod:`tinyengine_gen.firmware`): the board profile's CPU/FPU
flags, startup code and vector table, linker script, baked inputs, semihosting harness,
QEMU runner and ELF-size reader. What differs is main.cc (TFLM's interpreter, C++) and
the library it links (:mod:`tflm_backend.mcu.library`, built once and cached).

Steps for one flavour and board, in a work folder:

1. *probe*: main.cc, linked with an arena of nearly all the QEMU machine's SRAM (arena.c: 4 MiB
   less 192 KiB), allocates tensors and prints
   TFLM's ``arena_used_bytes()``; run under QEMU (allocation only, no inference);
2. *run*: the arena is that figure plus TFLM's 16-byte alignment; linked at all of the QEMU
   machine's memory (the flatbuffer in its PSRAM, so that even a model the 4 MiB code
   memory cannot hold next to TFLM runs), with a 64 KiB stack, and run on every baked
   input: outputs, instructions per inference and per operator, the stack high-water mark;
3. *fw.elf*: the same objects linked for the board's own memory with a stack of exactly
   the measured high-water mark (TFLM calls kernels through function pointers, so the
   static call-graph analysis our firmware uses cannot bound it), with
   ``--noinhibit-exec`` so that a build that does not fit still gives its sizes. On
   ``mps2-an500`` the board is the QEMU machine, PSRAM included.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tflm_backend.mcu.library import CXX_FLAGS, TflmLibrary, build_library
from tflm_backend.mcu.sources import ARENA_ALIGNMENT, MODEL_SYMBOL, emit_arena_c, emit_main_cc, emit_model_asm
from tflm_backend.mcu.tree import TflmTree
from tinyengine_gen.errors import BuildError
from tinyengine_gen.firmware.boards import BoardProfile
from tinyengine_gen.firmware.elf_size import ElfSizes, read_elf_sizes, symbol_sizes
from tinyengine_gen.firmware.linker import HEAP_BYTES, LinkerLayout, emit_linker_script, layout_for
from tinyengine_gen.firmware.qemu import QemuRun, parse_output, qemu_command
from tinyengine_gen.firmware.sources import emit_inputs, emit_startup
from tinyengine_gen.firmware.toolchain import COMPILE_FLAGS, LINK_FLAGS, tool
from tinyengine_gen.frontend.reader import read_model

__all__ = ["RUN_STACK_BYTES", "McuBuild", "OpTicks", "parse_op_lines", "build_and_run_tflm"]

RUN_STACK_BYTES = 64 * 1024
#: SRAM of the probe besides its arena and stack: .data, the rest of .bss, the heap
_PROBE_OTHER_BYTES = 128 * 1024
_STACK_ALIGN = 8
_OP_LINE = re.compile(r"^TE_FW op ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)(?: (\S+))?\s*$")
_ARENA_LINE = re.compile(r"^TE_FW arena ([0-9a-f]+)\s*$", re.M)


@dataclasses.dataclass(frozen=True)
class OpTicks:
    index: int  # the operator's index in the .tflite (TFLM invokes them in that order)
    name: str
    instructions: int


def parse_op_lines(text: str, instructions_per_tick: int, case: int = 0) -> list[OpTicks]:
    """``TE_FW op`` lines of one case (TFLM's carry the operator's name; ours do not)."""
    ops = []
    for line in text.splitlines():
        match = _OP_LINE.match(line.strip())
        if match and int(match.group(1), 16) == case:
            ops.append(OpTicks(int(match.group(2), 16), match.group(4) or "", int(match.group(3), 16) * instructions_per_tick))
    return ops


def fit_problems(flash: int, sram: int, layout: LinkerLayout) -> dict[str, int]:
    """Bytes over, per memory ("flash", "sram"), of a build with these needs."""
    flash_limit = layout.flash.size + (layout.bulk.size if layout.bulk else 0)
    over = {"flash": flash - flash_limit, "sram": sram - layout.sram.size}
    return {memory: bytes_over for memory, bytes_over in over.items() if bytes_over > 0}


@dataclasses.dataclass(frozen=True)
class McuBuild:
    """One firmware build of a model and what it measured (TFLM or ours)."""

    name: str  # "tflm_reference", "tflm_cmsis_nn" or "tinyengine"
    board: str
    flash_bytes: int  # code + constants + .data (+ PSRAM-held constants on mps2-an500)
    model_bytes: int  # the flatbuffer (TFLM) or the weights and tables (ours)
    input_bytes: int  # the baked-in inputs (a deployed firmware reads a sensor instead)
    sram_bytes: int  # .data + .bss (arena included) + heap + maximum stack
    arena_bytes: int
    stack_bytes: int
    instructions: int  # of the first case's inference
    ops: tuple[OpTicks, ...]
    outputs: tuple[tuple[bytes, ...], ...]  # [case][output]
    over_by: dict[str, int]  # bytes over the board's memories; empty when it fits
    elf: str
    sections: dict[str, int]

    @property
    def fits(self) -> bool:
        return not self.over_by

    @property
    def code_bytes(self) -> int:
        return self.flash_bytes - self.model_bytes - self.input_bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "flash_bytes": self.flash_bytes,
            "model_bytes": self.model_bytes,
            "code_bytes": self.code_bytes,
            "input_bytes": self.input_bytes,
            "sram_bytes": self.sram_bytes,
            "arena_bytes": self.arena_bytes,
            "stack_bytes": self.stack_bytes,
            "instructions": self.instructions,
            "ops": [{"index": o.index, "name": o.name, "instructions": o.instructions} for o in self.ops],
            "outputs": [[data.hex() for data in case] for case in self.outputs],
            "fits": self.fits,
            "over_by": dict(self.over_by),
            "elf": self.elf,
            "sections": dict(self.sections),
        }


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        log = (result.stderr.strip() or result.stdout.strip()).splitlines()
        first = next((line for line in log if "error" in line), log[0] if log else "?")
        raise BuildError(f"{cwd}: {what} failed: {first}")


def _compile_objects(directory: Path, board: BoardProfile, library: TflmLibrary, jobs: int) -> None:
    """startup.c, inputs.c (our firmware's C flags), model_data.S, main.cc (TFLM's C++ flags)."""
    c_flags = [*COMPILE_FLAGS, *board.arch_flags]
    includes = [f"-I{d}" for d in library.include_dirs]
    commands = {
        "main.o": [tool("g++"), *CXX_FLAGS, *library.flags, *includes, "-c", "main.cc", "-o", "main.o"],
        "startup.o": [tool("gcc"), *c_flags, "-c", "startup.c", "-o", "startup.o"],
        "inputs.o": [tool("gcc"), *c_flags, "-c", "inputs.c", "-o", "inputs.o"],
        "model_data.o": [tool("gcc"), *board.arch_flags, "-c", "model_data.S", "-o", "model_data.o"],
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_run, command, directory, f"compiling {name}") for name, command in commands.items()]
        for future in futures:
            future.result()


def _link(directory: Path, board: BoardProfile, library: TflmLibrary, arena: str, script: str, elf: str, keep: bool = False) -> None:
    c_flags = [*COMPILE_FLAGS, *board.arch_flags]
    _run([tool("gcc"), *c_flags, "-c", f"{arena}.c", "-o", f"{arena}.o"], directory, f"compiling {arena}.c")
    objects = ["startup.o", "main.o", f"{arena}.o", "model_data.o", "inputs.o"]
    command = [tool("g++"), *board.arch_flags, *LINK_FLAGS, "-T", script, *(["-Wl,--noinhibit-exec"] if keep else []),
               "-o", elf, *objects, str(library.archive), "-lm"]
    _run(command, directory, f"linking {elf}")


def _qemu(elf: Path, board: BoardProfile, timeout_s: float) -> str:
    try:
        result = subprocess.run(
            qemu_command(elf, board.qemu), capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"{elf}: QEMU {board.qemu.name} did not finish within {timeout_s:.0f} s") from None
    if "TE_FW allocate_failed" in result.stdout:
        raise BuildError(f"{elf}: TFLM's AllocateTensors failed: {' | '.join(result.stdout.splitlines()[-4:])}")
    return result.stdout


def build_and_run_tflm(
    model_path: Path,
    flavour: str,
    board: BoardProfile,
    tree: TflmTree,
    cases: Sequence[Sequence[bytes]],
    work_dir: Path,
    jobs: int = 2,
    timeout_s: float = 1800.0,
    model_kernels_only: bool = False,
) -> McuBuild:
    """Build TFLM firmware of ``flavour`` for ``board`` in ``work_dir`` (replaced), run it on
    ``cases`` (the raw bytes of every input tensor), measure it. ``model_kernels_only``:
    link a library of TFLM's framework and only this model's kernels (a quicker cold build,
    the same firmware)."""
    graph = read_model(model_path)
    opcodes = [op.opcode for op in graph.operators]
    library = build_library(tree, flavour, board, jobs, operators=opcodes if model_kernels_only else None)
    model = Path(model_path).read_bytes()
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    run_layout = layout_for(board, "qemu_full")
    board_layout = run_layout if board.name == board.qemu_machine else layout_for(board, "board")
    header, inputs = emit_inputs([list(case) for case in cases], len(graph.inputs))
    (work_dir / "model.tflite").write_bytes(model)
    files = {
        "startup.c": emit_startup(board),
        "inputs.h": header,
        "inputs.c": inputs,
        "model_data.S": emit_model_asm("model.tflite"),
        "main.cc": emit_main_cc(graph.source, opcodes),
        "probe_arena.c": emit_arena_c(run_layout.sram.size - RUN_STACK_BYTES - _PROBE_OTHER_BYTES, probe=True),
        "run.ld": emit_linker_script(board, run_layout, RUN_STACK_BYTES),
    }
    for name, text in files.items():
        (work_dir / name).write_text(text, encoding="utf-8")
    _compile_objects(work_dir, board, library, jobs)
    _link(work_dir, board, library, "probe_arena", "run.ld", "probe.elf")
    probe = _ARENA_LINE.search(_qemu(work_dir / "probe.elf", board, timeout_s))
    if probe is None:
        raise BuildError(f"{work_dir / 'probe.elf'}: printed no TFLM arena size under QEMU")
    arena = int(probe.group(1), 16) + ARENA_ALIGNMENT
    (work_dir / "arena.c").write_text(emit_arena_c(arena, probe=False), encoding="utf-8")
    _link(work_dir, board, library, "arena", "run.ld", "run.elf")
    text = _qemu(work_dir / "run.elf", board, timeout_s)
    per_tick = board.qemu.instructions_per_tick
    run: QemuRun = parse_output(text, per_tick)
    if any(run.statuses):
        raise BuildError(f"{work_dir / 'run.elf'}: TFLM's Invoke returned {run.statuses}")
    if run.heap_used > HEAP_BYTES:
        raise BuildError(f"{work_dir / 'run.elf'}: {run.heap_used} bytes of heap used, {HEAP_BYTES} reserved")
    if run.stack_used >= RUN_STACK_BYTES:
        raise BuildError(f"{work_dir / 'run.elf'}: the stack reached its {RUN_STACK_BYTES}-byte reserve")
    stack = -(-run.stack_used // _STACK_ALIGN) * _STACK_ALIGN
    (work_dir / "fw.ld").write_text(emit_linker_script(board, board_layout, stack), encoding="utf-8")
    _link(work_dir, board, library, "arena", "fw.ld", "fw.elf", keep=True)
    sizes: ElfSizes = read_elf_sizes(work_dir / "fw.elf", board_layout)
    symbols = symbol_sizes(work_dir / "fw.elf")
    flash = sizes.flash_bytes + sizes.section(".bulk_rodata")
    return McuBuild(
        name=f"tflm_{flavour}",
        board=board.name,
        flash_bytes=flash,
        model_bytes=symbols.get(MODEL_SYMBOL, len(model)),
        input_bytes=sum(len(data) for case in cases for data in case),
        sram_bytes=sizes.sram_bytes,
        arena_bytes=symbols.get("tflm_fw_arena", arena),
        stack_bytes=stack,
        instructions=run.instructions[0] if run.instructions else 0,
        ops=tuple(parse_op_lines(text, per_tick)),
        outputs=run.outputs,
        over_by=fit_problems(flash, sizes.sram_bytes, board_layout),
        elf=str(work_dir / "fw.elf"),
        sections=dict(sizes.sections),
    )
