"""Build a generated model into Cortex-M firmware, check it fits, and report what it takes.

``write_firmware_project`` is what ``python -m tinyengine_gen --target=cortex-m`` runs:

0. the planned arena and weights are checked against the board's SRAM and Flash
   (:func:`check_planned_fit`), so a model far too big is refused before any build;
1. the C project (model.c, kernels/) and ``firmware/`` (startup.c, main.c, inputs.c, the
   linker script, Makefile) are written to a staging folder beside ``out_dir``;
2. ``make measure`` compiles everything and links ``build/measure.elf`` with no stack
   reserved and ``--noinhibit-exec``, so it exists even when the image overflows;
3. the stack analysis (:mod:`~tinyengine_gen.firmware.stack_usage`) gives the maximum
   stack, and Flash / SRAM are read from that ELF: more than the board has raises
   :class:`~tinyengine_gen.errors.DoesNotFitError` ("Flash over by N bytes") and the
   staging folder is removed, so nothing is left behind;
4. the linker script is rewritten with that stack size and ``make`` links ``fw.elf``,
   which the script's ASSERTs check once more; report.json gains a ``firmware`` object;
5. the staging folder replaces ``out_dir`` whole (:mod:`tinyengine_gen.codegen.output_folder`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyengine_gen.errors import DoesNotFitError
from tinyengine_gen.firmware.boards import BoardProfile, board_profile
from tinyengine_gen.firmware.elf_size import ElfSizes, read_elf_sizes, symbol_sizes
from tinyengine_gen.firmware.linker import LinkerLayout, emit_linker_script, layout_for
from tinyengine_gen.firmware.makefile import ELF_NAME, MEASURE_ELF, OBJECT_DIR, emit_makefile
from tinyengine_gen.firmware.sources import (
    INPUT_SOURCES,
    INPUTS_FILE,
    emit_inputs,
    emit_main,
    emit_semihosting_inputs,
    emit_startup,
)
from tinyengine_gen.firmware.stack_usage import StackReport, analyse_stack
from tinyengine_gen.firmware.toolchain import COMPILE_FLAGS, KERNEL_DEFINES, run_make
from tinyengine_gen.ops.quantize import quantize_reference
from tinyengine_gen.codegen.output_folder import staged_output, write_files
from tinyengine_gen.codegen.project import GeneratedProject
from tinyengine_gen.codegen.report import report_json

__all__ = [
    "FIRMWARE_DIR",
    "FirmwareOptions",
    "FirmwareBuild",
    "default_cases",
    "encoded_cases",
    "firmware_files",
    "input_file_bytes",
    "build_firmware",
    "check_planned_fit",
    "write_firmware_project",
]

FIRMWARE_DIR = "firmware"
_STACK_ALIGN = 8


@dataclasses.dataclass(frozen=True)
class FirmwareOptions:
    """What to build: for which board, at which addresses, with which kernels, how fast."""

    board: str = "stm32f746"
    #: "board": the board's own memory map; "qemu": the board's sizes at the addresses of
    #: the QEMU machine with its core, so that the same fit runs under QEMU
    layout: str = "board"
    #: "simd" (kernels may use the DSP instructions) or "portable" (-DTE_NO_DSP)
    kernels: str = "simd"
    #: random input cases baked into inputs.c when the caller gives none
    cases: int = 1
    seed: int = 0
    jobs: int = 2
    #: time every operator (-DTE_PROFILE_OPS): main.c prints ``TE_FW op`` lines
    profile_ops: bool = False
    #: where the input cases are: "flash" (baked into inputs.c, in the image) or
    #: "semihosting" (firmware/inputs.bin, read at run time: a deployment's Flash, no test data)
    inputs: str = "flash"

    def __post_init__(self) -> None:
        board_profile(self.board)
        if self.layout not in ("board", "qemu", "qemu_full"):
            raise ValueError(f"layout must be 'board', 'qemu' or 'qemu_full', not '{self.layout}'")
        if self.kernels not in KERNEL_DEFINES:
            raise ValueError(f"kernels must be one of {sorted(KERNEL_DEFINES)}, not '{self.kernels}'")
        if self.inputs not in INPUT_SOURCES:
            raise ValueError(f"inputs must be one of {', '.join(INPUT_SOURCES)}, not '{self.inputs}'")

    @property
    def profile(self) -> BoardProfile:
        return board_profile(self.board)


@dataclasses.dataclass(frozen=True)
class FirmwareBuild:
    """A linked firmware and what it takes; paths are inside ``project_dir``."""

    project_dir: Path
    options: FirmwareOptions
    layout: LinkerLayout
    sizes: ElfSizes  # of fw.elf, stack reserved
    stack: StackReport
    arena_bytes: int  # te_arena's size in the ELF
    cases: tuple[tuple[np.ndarray, ...], ...]  # the inputs baked in, as the caller gave them
    input_bytes: int  # Flash the baked inputs take (0 with inputs="semihosting": read at run time)

    @property
    def directory(self) -> Path:
        return self.project_dir / FIRMWARE_DIR

    @property
    def elf(self) -> Path:
        return self.directory / ELF_NAME

    @property
    def board(self) -> BoardProfile:
        return self.options.profile

    def project_report(self) -> dict[str, Any]:
        """The project's report.json (with its ``firmware`` object)."""
        return json.loads((self.project_dir / "report.json").read_text())

    def report(self, planned_peak_sram: int) -> dict[str, Any]:
        """The ``firmware`` object of report.json (keys are only added, never renamed)."""
        sizes, stack = self.sizes, self.stack
        return {
            "board": self.board.name,
            "layout": self.options.layout,
            "kernels": self.options.kernels,
            "elf": f"{FIRMWARE_DIR}/{ELF_NAME}",
            "cflags": [*COMPILE_FLAGS, *self.board.arch_flags, *KERNEL_DEFINES[self.options.kernels]],
            "flash_bytes": sizes.flash_bytes,
            "flash_limit_bytes": self.layout.flash.size,
            "sram_bytes": sizes.sram_bytes,
            "sram_limit_bytes": self.layout.sram.size,
            "code_bytes": sizes.code_bytes,
            "text_bytes": sizes.section(".text"),
            "rodata_bytes": sizes.section(".rodata"),
            "data_bytes": sizes.section(".data"),
            "bss_bytes": sizes.section(".bss"),
            "heap_bytes": sizes.section(".heap"),
            "stack_bytes": sizes.section(".stack"),
            "arena_bytes": self.arena_bytes,
            "peak_sram_bytes": planned_peak_sram,
            "stack": stack.to_json(),
            "input_cases": len(self.cases),
            "input_bytes": self.input_bytes,
            "inputs": self.options.inputs,
        }


def default_cases(report: dict[str, Any], count: int, seed: int) -> list[list[np.ndarray]]:
    """Random inputs as a caller would pass them: int8 full range, floats in [-1, 1]."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        case = []
        for info in report["inputs"]:
            api = info.get("float_api", info)
            dtype, shape = np.dtype(api["dtype"]), tuple(api["shape"])
            if dtype == np.int8:
                case.append(rng.integers(-128, 128, size=shape, dtype=np.int8))
            else:
                case.append(rng.uniform(-1.0, 1.0, size=shape).astype(dtype))
        cases.append(case)
    return cases


def _model_input_bytes(array: np.ndarray, info: dict[str, Any]) -> bytes:
    """What te_input(i) must hold: quantised as HostModel does where an int8 API took over."""
    array = np.asarray(array)
    if "float_api" in info and array.dtype == np.float32:
        array = quantize_reference(array, info["scale"], info["zero_point"])
    data = np.ascontiguousarray(array, dtype=np.dtype(info["dtype"])).reshape(info["shape"])
    return data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()


def encoded_cases(report: dict[str, Any], cases: Sequence[Sequence[np.ndarray]]) -> list[list[bytes]]:
    """Each case's inputs as the raw bytes te_input(i) takes (what inputs.c bakes in)."""
    return [[_model_input_bytes(a, info) for a, info in zip(case, report["inputs"])] for case in cases]


def input_file_bytes(report: dict[str, Any], cases: Sequence[Sequence[np.ndarray]]) -> bytes:
    """firmware/inputs.bin of a ``semihosting`` firmware: every case's inputs, in order."""
    return b"".join(data for case in encoded_cases(report, cases) for data in case)


def _linker_script_name(board: BoardProfile) -> str:
    return f"{board.name}.ld"


def firmware_files(
    project: GeneratedProject,
    options: FirmwareOptions,
    cases: Sequence[Sequence[np.ndarray]],
    stack_bytes: int = 0,
) -> dict[str, str]:
    """The files of ``firmware/``, keyed by path relative to the project folder."""
    board = options.profile
    report = project.report
    layout = layout_for(board, options.layout)
    model_sources = ["model.c"] + sorted(p for p in project.files if p.startswith("kernels/") and p.endswith(".c"))
    script = _linker_script_name(board)
    qemu = board.qemu_machine if options.layout != "board" or board.name == board.qemu_machine else None
    if options.inputs == "flash":
        header, inputs = emit_inputs(encoded_cases(report, cases), len(report["inputs"]))
    else:
        header, inputs = emit_semihosting_inputs(len(cases))
    num_ops = 1 + max((o["index"] for o in report["ops"]), default=0)
    files = {
        "startup.c": emit_startup(board),
        "main.c": emit_main(report["model"], len(report["inputs"]), len(report["outputs"]), num_ops, options.inputs),
        "inputs.h": header,
        "inputs.c": inputs,
        script: emit_linker_script(board, layout, stack_bytes),
        "Makefile": emit_makefile(board, model_sources, script, qemu),
    }
    return {f"{FIRMWARE_DIR}/{name}": text for name, text in files.items()}


def _fit_problems(sizes: ElfSizes, stack_bytes: int, layout: LinkerLayout) -> list[str]:
    problems = []
    flash_over = sizes.flash_bytes - layout.flash.size
    sram_over = sizes.sram_bytes + stack_bytes - layout.sram.size
    if flash_over > 0:
        problems.append(f"Flash over by {flash_over} bytes ({sizes.flash_bytes:,} B of {layout.flash.size:,} B)")
    if sram_over > 0:
        problems.append(
            f"SRAM over by {sram_over} bytes ({sizes.sram_bytes + stack_bytes:,} B incl. {stack_bytes:,} B stack, "
            f"of {layout.sram.size:,} B)"
        )
    return problems


def check_planned_fit(project: GeneratedProject, options: FirmwareOptions) -> None:
    """Refuse, before any build, a model whose planned arena or weights alone exceed the board.

    Both are lower bounds of what the ELF takes (it adds code, stack and the baked inputs),
    so this never refuses a model the measured check would accept.
    """
    layout = layout_for(options.profile, options.layout)
    report = project.report
    problems = []
    weights_over = int(report["weights_bytes"]) - layout.flash.size
    arena_over = int(report["arena_bytes"]) - layout.sram.size
    if weights_over > 0:
        problems.append(
            f"Flash over by at least {weights_over} bytes (weights {report['weights_bytes']:,} B of {layout.flash.size:,} B)"
        )
    if arena_over > 0:
        problems.append(
            f"SRAM over by at least {arena_over} bytes (planned arena {report['arena_bytes']:,} B of {layout.sram.size:,} B)"
        )
    if problems:
        raise DoesNotFitError(f"{report['model']} does not fit {options.board}: {'; '.join(problems)}; nothing was built")


def build_firmware(
    project: GeneratedProject,
    project_dir: Path,
    options: FirmwareOptions,
    cases: Sequence[Sequence[np.ndarray]] | None = None,
) -> FirmwareBuild:
    """Write ``firmware/`` into an already written project folder, build, check the fit.

    Raises DoesNotFitError (nothing is removed here: the caller owns the folder) or
    BuildError. Updates the folder's report.json with the ``firmware`` object.
    """
    board = options.profile
    if cases is None:
        cases = default_cases(project.report, options.cases, options.seed)
    frozen_cases = tuple(tuple(np.asarray(a) for a in case) for case in cases)
    firmware_dir = project_dir / FIRMWARE_DIR
    write_files(project_dir, firmware_files(project, options, frozen_cases))
    if options.inputs == "semihosting":
        (firmware_dir / INPUTS_FILE).write_bytes(input_file_bytes(project.report, frozen_cases))
    variables = {"KERNELS": options.kernels, "PROFILE": "1" if options.profile_ops else "0"}
    run_make(firmware_dir, ["measure"], variables, jobs=options.jobs)
    layout = layout_for(board, options.layout)
    measured = read_elf_sizes(firmware_dir / MEASURE_ELF, layout)
    stack = analyse_stack(firmware_dir / MEASURE_ELF, firmware_dir / OBJECT_DIR, fpu=board.mfpu is not None)
    stack_bytes = -(-stack.max_bytes // _STACK_ALIGN) * _STACK_ALIGN
    problems = _fit_problems(measured, stack_bytes, layout)
    if problems:
        raise DoesNotFitError(f"{project.report['model']} does not fit {board.name}: {'; '.join(problems)}")
    write_files(project_dir, firmware_files(project, options, frozen_cases, stack_bytes))
    run_make(firmware_dir, ["all"], variables, jobs=options.jobs)
    sizes = read_elf_sizes(firmware_dir / ELF_NAME, layout)
    arena = symbol_sizes(firmware_dir / ELF_NAME).get("te_arena", 0)
    input_bytes = (
        sum(len(data) for case in encoded_cases(project.report, frozen_cases) for data in case)
        if options.inputs == "flash"
        else 0
    )
    build = FirmwareBuild(project_dir, options, layout, sizes, stack, arena, frozen_cases, input_bytes)
    report = dict(project.report)
    report["firmware"] = build.report(int(project.report["peak_sram_bytes"]))
    (project_dir / "report.json").write_text(report_json(report), encoding="utf-8")
    return build


def write_firmware_project(
    project: GeneratedProject,
    out_dir: str | os.PathLike[str],
    options: FirmwareOptions,
    cases: Sequence[Sequence[np.ndarray]] | None = None,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> FirmwareBuild:
    """The model's C project plus a built ``firmware/``, replacing ``out_dir`` whole.

    Built in a staging folder beside ``out_dir`` (:mod:`tinyengine_gen.codegen.output_folder`):
    on any failure (a model that does not fit, a compiler error) that folder is removed
    and ``out_dir`` is left as it was.
    """
    check_planned_fit(project, options)
    with staged_output(out_dir, protect) as staging:
        write_files(staging, project.files)
        build = build_firmware(project, staging, options, cases)
    return dataclasses.replace(build, project_dir=Path(out_dir).resolve())
