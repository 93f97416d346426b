"""python -m tinyengine_gen --tflite=MODEL --out=DIR: compile an int8 TFLite model to C.

Writes DIR/model.h, DIR/model.c, DIR/kernels/ (only the kernels the model uses),
DIR/Makefile and DIR/report.json. DIR must be new, empty or an earlier output of ours (it
carries a marker file); it is replaced whole and only once every step (host build,
firmware, QEMU check, memory plot) has succeeded, so a failed run leaves it as it was.

With --target=cortex-m --board=B it also writes DIR/firmware/ (startup code, linker
script, main.c, Makefile), builds DIR/firmware/fw.elf with arm-none-eabi-gcc and adds a
``firmware`` object to report.json; a model that does not fit B fails with exit 2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from absl import app, flags

from tinyengine_gen import cli, flag_rules
from tinyengine_gen.cli import check_file_destination, report_user_errors
from tinyengine_gen.compiler import CompileOptions
from tinyengine_gen.errors import InvalidOptionsError, TinyEngineError
from tinyengine_gen.firmware.boards import BOARDS, board_profile
from tinyengine_gen.firmware.build import FIRMWARE_DIR, FirmwareOptions, build_firmware, check_planned_fit
from tinyengine_gen.firmware.linker import qemu_layout_problem
from tinyengine_gen.firmware.makefile import ELF_NAME
from tinyengine_gen.host.build import build_host_library
from tinyengine_gen.codegen.output_folder import check_output_folder, staged_output, write_files
from tinyengine_gen.codegen.project import GeneratedProject, generate_from_file

FLAGS = flags.FLAGS
flags.DEFINE_string("tflite", None, "Path of the int8 .tflite model to compile.")
flags.DEFINE_string("out", None, "Output folder for the generated C project (replaced whole).")
flags.DEFINE_bool("host_build", False, "Also build libmodel.so with the host gcc (-O3) to check the project compiles.")
flags.DEFINE_bool("print_plan", False, "Print the memory plan (one buffer a line) after compiling.")
flags.DEFINE_string("patch", "off", "Patch-based inference of the first stage: off, auto, or a grid NxN (e.g. 4x4).")
flags.DEFINE_integer("patch_split", None, "Index of the operator whose output ends the patch stage (default: search).")
flags.DEFINE_float("patch_max_overhead", 0.2, "auto keeps only schedules with at most this fraction of extra MACs.")
flag_rules.non_negative_number("patch_max_overhead")
flags.DEFINE_string("memory_plot", None, "With --patch: write a PNG of memory per op, layer-wise against patch-based.")
flags.DEFINE_bool("int8_input", False, "int8 input API: drop a QUANTIZE after a float model input (the caller quantises).")
flags.DEFINE_bool("int8_output", False, "int8 output API: drop a DEQUANTIZE before a float model output.")
flags.DEFINE_bool("fold_pad", True, "Fold explicit PAD ops into the convolution that follows.")
flags.DEFINE_bool(
    "pack_int4", False,
    "Store CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED weights that all fit [-8, 7] packed two per byte (exact).",
)
flags.DEFINE_enum(
    "prefer", "memory", ["memory", "speed"],
    "memory: the fastest kernels that keep the lowest peak SRAM (lower-scratch variants at the peak); "
    "speed: the fastest kernel for every op, whatever scratch it needs.",
)
flags.DEFINE_bool("in_place", True, "Let depthwise convolutions overwrite their input when nothing reads it later.")
flags.DEFINE_bool(
    "drop_dead_channels", True,
    "Compute only a convolution's output channels whose weights are not all zero (the rest are constants).",
)
flags.DEFINE_enum("target", "host", ["host", "cortex-m"], "host: the C project only; cortex-m: also build firmware.")
flags.DEFINE_enum("board", "stm32f746", sorted(BOARDS), "Board profile for --target=cortex-m.")
flags.DEFINE_enum("layout", "board", ["board", "qemu"], "board: the board's addresses; qemu: its sizes at QEMU's addresses.")
flags.DEFINE_enum("kernels", "simd", ["simd", "portable"], "Firmware kernels: simd (DSP instructions) or portable (-DTE_NO_DSP).")
flags.DEFINE_integer("input_cases", 1, "Random input cases the firmware runs (baked into inputs.c, or inputs.bin).", lower_bound=1)
flags.DEFINE_enum(
    "firmware_inputs", "flash", ["flash", "semihosting"],
    "flash: the input cases baked into the firmware (inputs.c, in Flash); semihosting: read at run time from "
    "firmware/inputs.bin through semihosting, so Flash holds the model alone, as a deployment's does.",
)
flags.DEFINE_bool("run_qemu", False, "With --layout=qemu: run the firmware under QEMU and check it against the host build.")
flags.mark_flags_as_required(["tflite", "out"])


def options_from_flags() -> CompileOptions:
    """The compile options the command line asked for."""
    return CompileOptions(
        fold_pad=FLAGS.fold_pad,
        int8_input=FLAGS.int8_input,
        int8_output=FLAGS.int8_output,
        in_place=FLAGS.in_place,
        drop_dead_channels=FLAGS.drop_dead_channels,
        prefer=FLAGS.prefer,
        pack_int4=FLAGS.pack_int4,
        patch=FLAGS.patch,
        patch_split=FLAGS.patch_split,
        patch_max_overhead=FLAGS.patch_max_overhead,
    )


def _check_flags() -> None:
    """Every flag combination and path checked before anything is compiled or written."""
    if FLAGS.run_qemu:
        if FLAGS.target != "cortex-m":
            raise InvalidOptionsError("--run_qemu needs --target=cortex-m (it runs the firmware build)")
        reason = qemu_layout_problem(board_profile(FLAGS.board), FLAGS.layout)
        if reason:
            raise InvalidOptionsError(f"--run_qemu: {reason}")
    if FLAGS.memory_plot is not None:
        check_file_destination(FLAGS.memory_plot, "--memory_plot")
    check_output_folder(FLAGS.out, protect=[FLAGS.tflite])


def _run() -> None:
    _check_flags()
    project = generate_from_file(FLAGS.tflite, options_from_flags())
    decision = project.compiled.patch_decision
    if decision is not None:
        print(decision.message)
    firmware_options = None
    if FLAGS.target == "cortex-m":
        firmware_options = FirmwareOptions(
            board=FLAGS.board,
            layout=FLAGS.layout,
            kernels=FLAGS.kernels,
            cases=FLAGS.input_cases,
            inputs=FLAGS.firmware_inputs,
        )
        check_planned_fit(project, firmware_options)
    out_dir = Path(FLAGS.out).resolve()
    with staged_output(FLAGS.out, protect=[FLAGS.tflite]) as staging:
        try:
            write_files(staging, project.files)
            if firmware_options is not None:
                _build_firmware(project, staging, firmware_options, out_dir)
            if FLAGS.host_build:
                build_host_library(staging)
            if FLAGS.memory_plot:
                _plot_memory(project)
        except TinyEngineError as exc:  # name --out, not the staging folder that is about to go
            raise type(exc)(str(exc).replace(str(staging), str(out_dir))) from None
    report = project.report
    print(
        f"{report['model']}: {len(report['ops'])} ops, {report['macs']:,} MACs, weights {report['weights_bytes']:,} B, "
        f"arena {report['arena_bytes']:,} B, peak SRAM {report['peak_sram_bytes']:,} B -> {out_dir}"
    )
    if FLAGS.print_plan:
        print(project.compiled.memory.dump())


def _plot_memory(project: GeneratedProject) -> None:
    from tinyengine_gen.compiler import compile_graph
    from tinyengine_gen.memory.plot import write_memory_plot

    compiled = project.compiled
    layer_wise = compile_graph(compiled.source_graph, dataclasses.replace(compiled.options, patch="off"))
    if write_memory_plot(layer_wise, compiled, FLAGS.memory_plot):
        print(f"memory plot: {FLAGS.memory_plot}")
    else:
        print("memory plot skipped: matplotlib is not installed (pip install matplotlib)")


def _build_firmware(project: GeneratedProject, staging: Path, options: FirmwareOptions, out_dir: Path) -> None:
    build = build_firmware(project, staging, options)
    firmware = build.project_report()["firmware"]
    print(
        f"{options.board} firmware: Flash {firmware['flash_bytes']:,} / {firmware['flash_limit_bytes']:,} B "
        f"({firmware['input_bytes']:,} B of it baked inputs), "
        f"SRAM {firmware['sram_bytes']:,} / {firmware['sram_limit_bytes']:,} B "
        f"(stack {firmware['stack_bytes']:,} B) -> {out_dir / FIRMWARE_DIR / ELF_NAME}"
    )
    if FLAGS.run_qemu:
        from tinyengine_gen.firmware.qemu import check_firmware

        check = check_firmware(build)
        print(
            f"QEMU {build.board.qemu.name}: outputs identical to the host build; "
            f"instructions per inference {list(check.run.instructions)}"
        )


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    report_user_errors("tinyengine_gen", _run)


if __name__ == "__main__":
    cli.run(main, program="tinyengine_gen")
