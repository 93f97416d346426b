"""Measure sub-networks as firmware: export int8, build for a board's QEMU machine, run, read the ELF.

This is the ground truth the firmware cost model (:mod:`mcunet_tf.firmware_cost`) is fitted
to (``python -m mcunet_tf.calibrate``) and checked against
(``benchmarks/cost_model_fidelity.py``): a sampled config is extracted from a supernet with
randomised weights (as training leaves them: distinct biases, so the engine merges no
arrays), converted to a fully int8 TFLite model with :func:`mcunet_tf.export.convert_int8`,
compiled by ``tinyengine_gen``, built with ``--target=cortex-m --layout=qemu_full`` for the
board and run once under ``qemu-system-arm -icount shift=0``. Each measurement keeps the
compiled plan, so a prediction can be made from exactly what was built.

Needs TensorFlow, the Arm toolchain and QEMU; every step takes seconds, so this module is
for the calibration command and the benchmark, never for the search itself.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from mcunet_tf.arch import ArchConfig
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace
from tinyengine_gen.compiler import CompiledModel, CompileOptions

__all__ = ["Measurement", "load_measurements", "measure_configs", "sample_configs", "save_measurements"]


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One sub-network as the firmware build and QEMU measured it."""

    config: ArchConfig
    compiled: CompiledModel  # what tinyengine_gen compiled from the exported model
    elf_flash_bytes: int
    elf_sram_bytes: int  # data + bss (arena included) + heap + the analysed stack
    arena_bytes: int
    input_bytes: int  # the input case baked into the firmware
    text_bytes: int
    stack_bytes: int
    instructions: int  # one inference under -icount shift=0 (SysTick resolution: 40)
    #: instructions of each compiled operator, from a second build with a SysTick mark
    #: before every operator (empty unless asked for)
    op_instructions: tuple[int, ...] = ()
    #: model.o's symbols and their sizes (what calibration reads specialisations from)
    model_symbols: tuple[tuple[str, int], ...] = ()
    tflite: bytes = b""
    #: the compile options' patch mode and MAC-overhead bound it was built with
    patch: str = "off"
    patch_max_overhead: float = 0.2

    def to_json(self) -> dict:
        """Everything but the compiled model (made again from the TFLite bytes on loading)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("compiled", "config")}
        data["config"] = self.config.to_json()
        data["tflite"] = base64.b64encode(self.tflite).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Measurement":
        from tinyengine_gen.codegen.project import generate
        from tinyengine_gen.frontend.reader import read_model_bytes

        tflite = base64.b64decode(data["tflite"])
        values = dict(data, config=ArchConfig.from_json(data["config"]), tflite=tflite)
        values["op_instructions"] = tuple(values.get("op_instructions", ()))
        values["model_symbols"] = tuple(tuple(pair) for pair in values.get("model_symbols", ()))
        options = CompileOptions(
            patch=values.get("patch", "off"), patch_max_overhead=values.get("patch_max_overhead", 0.2)
        )
        values["compiled"] = generate(read_model_bytes(tflite, source="subnet.tflite"), options).compiled
        return cls(**values)


def save_measurements(path: Path, measurements: Sequence[Measurement]) -> None:
    path.write_text(json.dumps([m.to_json() for m in measurements]) + "\n", encoding="utf-8")


def load_measurements(path: Path) -> list[Measurement]:
    return [Measurement.from_json(item) for item in json.loads(path.read_text(encoding="utf-8"))]


def sample_configs(space: SearchSpace, spaces: Sequence[tuple[float, int]], per_space: int, seed: int) -> list[ArchConfig]:
    """``per_space`` random configs of each (W, R) space, in order."""
    rng = np.random.default_rng(seed)
    return [sample_arch(space, rng, width=w, resolution=r) for w, r in spaces for _ in range(per_space)]


def _randomize(supernet, rng: np.random.Generator) -> None:
    """BN statistics, biases and kernel transforms as training would leave them (distinct biases)."""
    for variable in supernet.variables:
        name, shape = variable.name, variable.shape
        if "moving_variance" in name or "gamma" in name:
            variable.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif "moving_mean" in name or "beta" in name or "bias" in name:
            variable.assign(rng.normal(0.0, 0.2, shape).astype("float32"))
        elif "transform" in name:
            variable.assign(variable.numpy() + rng.normal(0.0, 0.05, shape).astype("float32"))


def export_configs(space: SearchSpace, configs: Sequence[ArchConfig], seed: int) -> Iterator[tuple[ArchConfig, bytes]]:
    """(config, int8 TFLite) for each config: extracted from one randomised supernet per width."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    from mcunet_tf.export import check_int8_tensors, convert_int8_traced
    from mcunet_tf.extract import extract_subnet
    from mcunet_tf.supernet import Supernet

    rng = np.random.default_rng(seed)
    supernets: dict[float, Supernet] = {}
    for config in configs:
        if config.width not in supernets:
            supernets[config.width] = Supernet(space, config.width)
            _randomize(supernets[config.width], rng)
        model = extract_subnet(supernets[config.width], config)
        shape = (1, config.resolution, config.resolution, 3)
        samples = [rng.uniform(0.0, 1.0, shape).astype(np.float32) for _ in range(4)]
        tflite = convert_int8_traced(model, shape, lambda samples=samples: ([x] for x in samples))
        check_int8_tensors(tflite, source=f"W={config.width:g} R={config.resolution} sub-network")
        yield config, tflite


def measure_tflite(
    config: ArchConfig,
    tflite: bytes,
    board: str,
    work_dir: Path,
    kernels: str = "simd",
    per_op: bool = False,
    compile_options: CompileOptions | None = None,
) -> Measurement:
    """Build ``tflite`` as firmware for ``board`` (its flags, at its QEMU machine's addresses) and run
    it once; with ``per_op``, also count each operator's instructions (a second, instrumented build).

    The build uses all of the QEMU machine's memory (``layout="qemu_full"``), not the board's
    sizes: a calibration samples sub-networks that may not fit a 1 MB board, and their code,
    constants, arena and instruction counts are the same at any size of the memory map."""
    from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project
    from tinyengine_gen.firmware.elf_size import symbol_sizes
    from tinyengine_gen.firmware.qemu import run_firmware
    from tinyengine_gen.codegen.project import generate
    from tinyengine_gen.frontend.reader import read_model_bytes

    project = generate(read_model_bytes(tflite, source="subnet.tflite"), compile_options)
    options = FirmwareOptions(board=board, layout="qemu_full", kernels=kernels, jobs=1)
    build = write_firmware_project(project, work_dir / "fw", options)
    run = run_firmware(build, timeout_s=600)
    firmware_dir = work_dir / "fw" / "firmware"
    symbols = tuple(sorted(symbol_sizes(firmware_dir / "build" / "model.o").items())) if per_op else ()
    op_counts = _op_instructions(work_dir / "fw", build, len(project.compiled.plans)) if per_op else ()
    return Measurement(
        config=config,
        compiled=project.compiled,
        elf_flash_bytes=build.sizes.flash_bytes,
        elf_sram_bytes=build.sizes.sram_bytes,
        arena_bytes=build.arena_bytes,
        input_bytes=build.input_bytes,
        text_bytes=build.sizes.section(".text"),
        stack_bytes=build.sizes.section(".stack"),
        instructions=run.instructions[0],
        op_instructions=op_counts,
        model_symbols=symbols,
        tflite=tflite,
        patch=project.compiled.options.patch,
        patch_max_overhead=project.compiled.options.patch_max_overhead,
    )


def measure_configs(
    space: SearchSpace,
    configs: Sequence[ArchConfig],
    board: str,
    seed: int = 0,
    log=print,
    per_op: bool = False,
    compile_options: CompileOptions | None = None,
) -> list[Measurement]:
    """Export, build and run every config (one at a time, in a scratch folder), compiled with
    ``compile_options`` (the search's: e.g. the patch schedule ``--patch=auto`` picks)."""
    measurements = []
    with tempfile.TemporaryDirectory(prefix="mcunet-fw-measure-") as scratch:
        for index, (config, tflite) in enumerate(export_configs(space, configs, seed)):
            measurement = measure_tflite(
                config, tflite, board, Path(scratch) / str(index), per_op=per_op, compile_options=compile_options
            )
            log(
                f"  [{index + 1}/{len(configs)}] W={config.width:g} R={config.resolution}: Flash "
                f"{measurement.elf_flash_bytes:,} B, SRAM {measurement.elf_sram_bytes:,} B, "
                f"{measurement.instructions:,} instructions"
            )
            measurements.append(measurement)
    return measurements


# --- per-operator instruction counts ------------------------------------------------------------

#: C put at the top of an instrumented model.c: a SysTick reading before every operator and
#: after the last, printed once at the end of te_invoke (outside every measured interval).
_MARK_PRELUDE = """
#include <stddef.h>
extern volatile uint32_t te_fw_systick_wraps;
extern int write(int fd, const void* buffer, size_t bytes);
static uint32_t te_cal_value[TE_CAL_MARKS];
static uint32_t te_cal_wraps[TE_CAL_MARKS];
static void te_cal_mark(unsigned i) {
  te_cal_value[i] = *(volatile uint32_t*)0xE000E018u;
  te_cal_wraps[i] = te_fw_systick_wraps;
}
static void te_cal_put(uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  char text[9];
  for (int i = 0; i < 8; ++i) text[i] = digits[(v >> (28 - 4 * i)) & 15u];
  text[8] = ' ';
  write(1, text, 9);
}
static void te_cal_dump(void) {
  for (unsigned i = 0; i < TE_CAL_MARKS; ++i) {
    write(1, "TE_CAL ", 7);
    te_cal_put(i);
    te_cal_put(te_cal_wraps[i]);
    te_cal_put(te_cal_value[i]);
    write(1, "\\n", 1);
  }
}
"""
_RELOAD = 0xFFFFFF


def instrument_model_c(text: str, operators: int) -> str:
    """model.c with ``te_cal_mark(k)`` before the k-th operator and after the last one."""
    lines, out, marks = text.splitlines(), [], 0
    for line in lines:
        if line.startswith("  /* op ") and line.rstrip().endswith("*/"):
            out.append(f"  te_cal_mark({marks});")
            marks += 1
        if line == "  return 0;" and marks == operators:
            out += [f"  te_cal_mark({marks});", "  te_cal_dump();"]
        out.append(line)
        if line == '#include "model.h"':
            out += [f"#define TE_CAL_MARKS {operators + 1}", _MARK_PRELUDE]
    if marks != operators:
        raise ValueError(f"model.c has {marks} operator comments, the plan {operators} operators")
    return "\n".join(out) + "\n"


def _op_instructions(project_dir: Path, build, operators: int) -> tuple[int, ...]:
    """Rebuild ``project_dir``'s firmware with a mark around every operator, run it, difference the marks."""
    import subprocess

    from tinyengine_gen.firmware.makefile import ELF_NAME
    from tinyengine_gen.firmware.qemu import qemu_command
    from tinyengine_gen.firmware.toolchain import run_make

    model_c = project_dir / "model.c"
    model_c.write_text(instrument_model_c(model_c.read_text(encoding="utf-8"), operators), encoding="utf-8")
    firmware_dir = project_dir / "firmware"
    run_make(firmware_dir, ["all"], {"KERNELS": build.options.kernels}, jobs=1)
    machine = build.board.qemu
    result = subprocess.run(
        qemu_command(firmware_dir / ELF_NAME, machine), capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
    )
    ticks = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[0] == "TE_CAL":
            index, wraps, value = (int(f, 16) for f in fields[1:])
            ticks[index] = (wraps << 24) | (_RELOAD - value)
    if len(ticks) != operators + 1:
        raise RuntimeError(f"{firmware_dir}: the instrumented firmware printed {len(ticks)} of {operators + 1} marks")
    per_tick = machine.instructions_per_tick
    return tuple(max(0, ticks[i + 1] - ticks[i]) * per_tick for i in range(operators))
