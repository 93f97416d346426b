"""TFLM with its reference kernels, TFLM with CMSIS-NN and our generated C, as firmware for
the same board, on the same baked-in inputs, run under QEMU: one table.

Every build is measured the same way: Flash and SRAM from its ELF (Flash = code +
constants + .data; SRAM = .data + .bss + heap + the maximum stack), instructions per
inference and per operator from SysTick under ``-icount shift=0``, the output bytes. The
three outputs must be the same bytes. A build that does not fit the board still runs, at
all of the QEMU machine's memory, so that its figures say what it would need.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from tflm_backend.mcu.firmware import McuBuild, build_and_run_tflm, fit_problems, parse_op_lines
from tflm_backend.mcu.tree import TflmTree
from tinyengine_gen.firmware.boards import BoardProfile, board_profile
from tinyengine_gen.firmware.build import FirmwareOptions, default_cases, encoded_cases, write_firmware_project
from tinyengine_gen.firmware.linker import layout_for
from tinyengine_gen.firmware.qemu import run_firmware
from tinyengine_gen.codegen.project import generate_from_file
from tinyengine_gen.options import CompileOptions

__all__ = ["BUILD_NAMES", "McuComparison", "compare_on_mcu", "format_mcu_table", "format_ops_table"]

BUILD_NAMES = ("tflm_reference", "tflm_cmsis_nn", "tinyengine")
_TITLES = {"tflm_reference": "TFLM reference", "tflm_cmsis_nn": "TFLM + CMSIS-NN", "tinyengine": "ours (TinyEngine C)"}


@dataclasses.dataclass(frozen=True)
class McuComparison:
    model: str
    board: str
    macs: int
    builds: dict[str, McuBuild]
    first_difference: str | None  # None: all outputs identical

    @property
    def outputs_identical(self) -> bool:
        return self.first_difference is None

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"board": self.board, "model": self.model, "macs": self.macs}
        payload.update({name: build.to_json() for name, build in self.builds.items()})
        payload["outputs_identical"] = self.outputs_identical
        payload["first_difference"] = self.first_difference
        payload["tflm_build"] = "release (-DNDEBUG, TFLM's BUILD_TYPE=release_with_logs)"
        return payload


def _first_difference(builds: dict[str, McuBuild]) -> str | None:
    reference = builds["tinyengine"]
    for name, build in builds.items():
        for c, (ours, theirs) in enumerate(zip(reference.outputs, build.outputs)):
            for o, (a, b) in enumerate(zip(ours, theirs)):
                if a != b:
                    index = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                    return f"{name} case {c} output {o} differs from ours first at byte {index}"
        if len(build.outputs) != len(reference.outputs):
            return f"{name} printed {len(build.outputs)} cases, ours {len(reference.outputs)}"
    return None


def _board_layout(board: BoardProfile):
    return layout_for(board, "qemu_full") if board.name == board.qemu_machine else layout_for(board, "board")


def _ours(
    tflite: Path, board: BoardProfile, cases: list, work_dir: Path, jobs: int, options: CompileOptions | None = None
) -> McuBuild:
    project = generate_from_file(tflite, options)
    firmware = FirmwareOptions(board=board.name, layout="qemu_full", profile_ops=True, jobs=jobs)
    build = write_firmware_project(project, work_dir, firmware, cases)
    run = run_firmware(build, timeout_s=1800)
    report = project.report
    names = {op["index"]: op["name"] for op in report["ops"]}
    ops = tuple(
        dataclasses.replace(op, name=names.get(op.index, "?"))
        for op in parse_op_lines(run.text, run.instructions_per_tick)
    )
    flash, sram = build.sizes.flash_bytes, build.sizes.sram_bytes
    return McuBuild(
        name="tinyengine",
        board=board.name,
        flash_bytes=flash,
        model_bytes=int(report["weights_bytes"]),
        input_bytes=build.input_bytes,
        sram_bytes=sram,
        arena_bytes=build.arena_bytes,
        stack_bytes=build.sizes.section(".stack"),
        instructions=run.instructions[0],
        ops=ops,
        outputs=run.outputs,
        over_by=fit_problems(flash, sram, _board_layout(board)),
        elf=str(build.elf),
        sections=dict(build.sizes.sections),
    )


def compare_on_mcu(
    tflite: str | Path,
    board: str,
    tree: TflmTree,
    work_dir: str | Path | None = None,
    seed: int = 0,
    jobs: int = 2,
    model_kernels_only: bool = False,
    options: CompileOptions | None = None,
) -> McuComparison:
    """Build and run the three firmwares of ``tflite`` for ``board`` on one random input
    (ours compiled with ``options``, e.g. ``--prefer=speed``).

    ``model_kernels_only``: link TFLM from a library of its framework and only this model's
    kernels (the firmware links the same objects; a cold cache compiles far fewer files)."""
    tflite = Path(tflite)
    profile = board_profile(board)
    root = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="mcunet_tf_mcu_"))
    project = generate_from_file(tflite)
    cases = default_cases(project.report, 1, seed)
    raw = encoded_cases(project.report, cases)
    ours = _ours(tflite, profile, cases, root / "tinyengine", jobs, options)
    builds = {}
    for flavour in ("reference", "cmsis_nn"):
        builds[f"tflm_{flavour}"] = build_and_run_tflm(
            tflite, flavour, profile, tree, raw, root / f"tflm_{flavour}", jobs, model_kernels_only=model_kernels_only
        )
    builds["tinyengine"] = ours
    return McuComparison(tflite.name, board, int(project.report["macs"]), builds, _first_difference(builds))


def _fit_text(build: McuBuild) -> str:
    if build.fits:
        return "fits"
    return "does not fit: " + ", ".join(f"{m.upper() if m == 'sram' else 'Flash'} over by {n:,} B" for m, n in build.over_by.items())


def format_mcu_table(result: McuComparison) -> str:
    """The three builds side by side, with the ratios ours / TFLM+CMSIS-NN."""
    builds = [result.builds[name] for name in BUILD_NAMES]
    ours, cmsis = result.builds["tinyengine"], result.builds["tflm_cmsis_nn"]
    rows = [
        ("Flash (B)", [b.flash_bytes for b in builds], ours.flash_bytes / cmsis.flash_bytes),
        ("  model / weights (B)", [b.model_bytes for b in builds], ours.model_bytes / cmsis.model_bytes),
        ("  code (B)", [b.code_bytes for b in builds], ours.code_bytes / cmsis.code_bytes),
        ("SRAM (B)", [b.sram_bytes for b in builds], ours.sram_bytes / cmsis.sram_bytes),
        ("  arena (B)", [b.arena_bytes for b in builds], ours.arena_bytes / cmsis.arena_bytes),
        ("  stack (B)", [b.stack_bytes for b in builds], ours.stack_bytes / max(cmsis.stack_bytes, 1)),
        ("instructions", [b.instructions for b in builds], ours.instructions / cmsis.instructions),
        ("MACs / instruction", [result.macs / b.instructions for b in builds], None),
    ]
    width = 22
    header = f"{'':24}" + "".join(f"{_TITLES[n]:>{width}}" for n in BUILD_NAMES) + f"{'ours / CMSIS-NN':>18}"
    lines = [
        f"{result.model} on {result.board} (QEMU mps2, -icount shift=0; TFLM release build -DNDEBUG, -O3)",
        header,
    ]
    for label, values, ratio in rows:
        cells = "".join(f"{v:>{width},}" if isinstance(v, int) else f"{v:>{width}.3f}" for v in values)
        lines.append(f"{label:24}{cells}{'' if ratio is None else f'{ratio:>18.3f}'}")
    short = lambda b: "fits" if b.fits else "NO: " + ", ".join(f"{m} +{n:,}" for m, n in b.over_by.items())  # noqa: E731
    lines.append(f"{'fit on ' + result.board:24}" + "".join(f"{short(b):>{width}}" for b in builds))
    for build in builds:
        if not build.fits:
            lines.append(
                f"  {_TITLES[build.name]} on {result.board}: {_fit_text(build)} "
                f"(needs Flash {build.flash_bytes:,} B, SRAM {build.sram_bytes:,} B)"
            )
    lines.append(
        "outputs: identical in all three builds"
        if result.outputs_identical
        else f"outputs DIFFER: {result.first_difference}"
    )
    return "\n".join(lines)


def format_ops_table(result: McuComparison) -> str:
    """Instructions per operator (index in the .tflite) for the three builds."""
    per_build = {name: {op.index: op for op in result.builds[name].ops} for name in BUILD_NAMES}
    indices = sorted(set().union(*per_build.values()))
    lines = [f"{'op':>4} {'operator':24}" + "".join(f"{_TITLES[n]:>22}" for n in BUILD_NAMES)]
    for index in indices:
        name = next((per_build[n][index].name for n in BUILD_NAMES if index in per_build[n]), "?")
        cells = "".join(
            f"{per_build[n][index].instructions:>22,}" if index in per_build[n] else f"{'(fused)':>22}" for n in BUILD_NAMES
        )
        lines.append(f"{index:>4} {name[:24]:24}{cells}")
    return "\n".join(lines)
