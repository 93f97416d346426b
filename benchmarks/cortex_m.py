"""Benchmark: every model in ../shared/models as Cortex-M firmware, run under QEMU.

    python benchmarks/cortex_m.py [--models_dir=DIR] [--kernels=portable|simd] [--json=OUT]

For each model that fits mps2-an500 (QEMU's Cortex-M7 board), the firmware runs one
random input under ``qemu-system-arm -icount shift=0`` and the table gives instructions
per inference (SysTick, 40 instructions a tick), MACs per instruction, and whether the
outputs were identical to the host build and to TFLM. A second table gives Flash and
SRAM (stack included, from the ELF) of the firmware built for each board's own memory
map, against the board's limits, or by how much it does not fit. ``--kernels=portable``
builds with -DTE_NO_DSP (plain C kernels), ``simd`` lets kernels use the DSP instructions;
with ``simd`` the portable firmware is also run, and the table gives both counts and their ratio.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from absl import flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tflm_backend.tflm_runner import TflmModel  # noqa: E402
from tinyengine_gen.atomic_io import write_json_atomically  # noqa: E402
from tinyengine_gen.errors import DoesNotFitError  # noqa: E402
from tinyengine_gen.firmware.boards import BOARDS  # noqa: E402
from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project  # noqa: E402
from tinyengine_gen.firmware.qemu import check_firmware  # noqa: E402
from tinyengine_gen.firmware.toolchain import qemu_available, toolchain_available  # noqa: E402
from tinyengine_gen.codegen.project import generate_from_file  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "models_dir", str(Path(__file__).resolve().parents[2] / "shared" / "models"), "Folder of .tflite files."
)
flags.DEFINE_enum(
    "kernels", "simd", ["portable", "simd"], "portable: -DTE_NO_DSP; simd: kernels may use DSP instructions."
)
flags.DEFINE_string(
    "work_dir", "/tmp/mcunet_tf_cortex_m", "Where the firmware projects are built (replaced per model)."
)
flags.DEFINE_integer("timeout", 900, "Hard wall-clock limit of one QEMU run, seconds.", lower_bound=1)
flags.DEFINE_string("json", None, "Also write all figures to this JSON file.")

RUN_BOARD = "mps2-an500"


@dataclasses.dataclass
class Fit:
    board: str
    flash_bytes: int | None = None
    flash_limit: int = 0
    sram_bytes: int | None = None
    sram_limit: int = 0
    stack_bytes: int | None = None
    problem: str | None = None


@dataclasses.dataclass
class ModelResult:
    model: str
    macs: int
    instructions: int | None = None
    portable_instructions: int | None = None  # the -DTE_NO_DSP build, when --kernels=simd
    qemu_s: float | None = None
    identical: bool | None = None
    fits: list[Fit] = dataclasses.field(default_factory=list)

    @property
    def macs_per_instruction(self) -> float | None:
        return self.macs / self.instructions if self.instructions else None


def _fit(build_or_error, board: str) -> Fit:
    profile = BOARDS[board]
    fit = Fit(board, flash_limit=profile.flash.size, sram_limit=profile.sram.size)
    if isinstance(build_or_error, DoesNotFitError):
        fit.problem = str(build_or_error).split(": ", 1)[1]
        return fit
    sizes = build_or_error.sizes
    fit.flash_bytes, fit.sram_bytes, fit.stack_bytes = sizes.flash_bytes, sizes.sram_bytes, sizes.section(".stack")
    return fit


def _measure(path: Path, work: Path) -> ModelResult:
    project = generate_from_file(path)
    result = ModelResult(path.name, int(project.report["macs"]))
    for board in sorted(BOARDS):
        layout = "qemu" if board == RUN_BOARD else "board"
        print(f"  {path.name}: building for {board} ...", file=sys.stderr, flush=True)
        try:
            build = write_firmware_project(
                project, work / board, FirmwareOptions(board=board, layout=layout, kernels=FLAGS.kernels)
            )
        except DoesNotFitError as exc:
            result.fits.append(_fit(exc, board))
            continue
        result.fits.append(_fit(build, board))
        if board == RUN_BOARD:
            print(f"  {path.name}: running under QEMU ...", file=sys.stderr, flush=True)
            check = check_firmware(build, tflm=TflmModel.from_file(path).run, timeout_s=FLAGS.timeout)
            result.instructions, result.qemu_s = check.run.instructions[0], check.run.wall_s
            result.identical = check.compared_with == ("TFLM", "host build")
            if FLAGS.kernels == "simd":
                result.portable_instructions = _portable_instructions(project, path, work / "portable")
                result.identical = result.identical and result.portable_instructions is not None
    return result


def _portable_instructions(project, path: Path, out: Path) -> int:
    """Instructions of the portable (-DTE_NO_DSP) firmware; its outputs must be TFLM's too."""
    print(f"  {path.name}: portable kernels under QEMU ...", file=sys.stderr, flush=True)
    options = FirmwareOptions(board=RUN_BOARD, layout="qemu", kernels="portable")
    check = check_firmware(write_firmware_project(project, out, options), tflm=TflmModel.from_file(path).run,
                           timeout_s=FLAGS.timeout)  # fmt: skip
    return check.run.instructions[0]


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))


def _kb(value: int) -> str:
    return f"{value / 1024:,.1f}"


def _fit_cell(fit: Fit) -> str:
    if fit.problem:  # "Flash over by N bytes (...); SRAM over by M bytes (...)"
        return "; ".join(part.split(" (")[0].replace(" bytes", " B") for part in fit.problem.split("; "))
    assert fit.flash_bytes is not None and fit.sram_bytes is not None
    return f"{_kb(fit.flash_bytes)}/{_kb(fit.flash_limit)} | {_kb(fit.sram_bytes)}/{_kb(fit.sram_limit)}"


def main(argv: list[str]) -> None:
    del argv
    if not toolchain_available() or not qemu_available():
        sys.exit("cortex_m: needs arm-none-eabi-gcc, newlib and qemu-system-arm "
                 "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)")  # fmt: skip
    paths = sorted(Path(FLAGS.models_dir).glob("*.tflite"))
    if not paths:
        sys.exit(f"cortex_m: no .tflite files in {FLAGS.models_dir}; pass --models_dir")
    results = []
    for path in paths:
        print(f"measuring {path.name} ...", file=sys.stderr, flush=True)
        results.append(_measure(path, Path(FLAGS.work_dir) / path.stem))
    print(f"QEMU {RUN_BOARD} (Cortex-M7, -icount shift=0), kernels={FLAGS.kernels}")
    run_rows = [["model", "MACs", "instructions", "MACs/instr", "portable instr", "portable/simd", "QEMU s",
                 "identical to TFLM+host"]]  # fmt: skip
    for r in results:
        ran = r.instructions is not None
        port = r.portable_instructions
        run_rows.append([
            r.model.removesuffix(".tflite"), f"{r.macs / 1e6:.1f}M",
            f"{r.instructions:,}" if ran else "-", f"{r.macs_per_instruction:.3f}" if ran else "-",
            f"{port:,}" if port and ran else "-", f"{port / r.instructions:.2f}x" if port and ran else "-",
            f"{r.qemu_s:.1f}" if ran else "-", ("yes" if r.identical else "NO") if ran else f"does not fit {RUN_BOARD}",
        ])  # fmt: skip
    _table(run_rows)
    print("\nFlash used/limit | SRAM used/limit (KiB; SRAM = .data + .bss + heap + analysed stack)")
    boards = sorted(BOARDS)
    _table([["model", *boards]] + [[r.model.removesuffix(".tflite"), *(_fit_cell(f) for f in r.fits)] for r in results])
    if FLAGS.json:
        write_json_atomically(
            FLAGS.json,
            [
                dict(dataclasses.asdict(r), macs_per_instruction=r.macs_per_instruction, kernels=FLAGS.kernels)
                for r in results
            ],
        )
    sys.exit(0 if all(r.identical is not False for r in results) else 1)


if __name__ == "__main__":
    from tinyengine_gen import cli

    cli.run(main, program="benchmarks/cortex_m.py", tensorflow=True)
