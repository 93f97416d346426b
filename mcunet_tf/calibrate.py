"""Calibrate the firmware cost model of one board from real builds and QEMU runs.

    python -m mcunet_tf.calibrate --board=mps2-an500 [--per_space=4] [--patch_per_space=2] [--spaces=0.3:96,0.5:128] [--seed=1]
    python -m mcunet_tf.calibrate --board=mps2-an500 --kernels_only   # kernel sizes only, a minute

writes ``mcunet_tf/calibration/<board>.json`` (package data, read by
:func:`mcunet_tf.firmware_cost.firmware_cost_model`). It takes minutes:

1. **kernels**: every ``tinyengine_gen/kernels/*.c`` is compiled with the firmware's own
   flags for the board (``COMPILE_FLAGS`` = -O3 ..., the board's -mcpu/-mfpu, the SIMD
   kernels, a DSP kernel's own level); its size is the sum of the object's allocated
   sections (what ``--gc-sections`` can only shrink). The GEMM kernels, whose objects
   depend on the project's ``te_gemm_config.h``, are also compiled per config feature
   (:mod:`mcunet_tf.kernel_objects`);
2. **sub-networks**: ``per_space`` random configs of each (W, R) are exported to int8
   TFLite, built as firmware for the board at its QEMU machine's addresses and run under
   ``-icount shift=0``, then rebuilt with a SysTick mark before every operator and run
   again (per-operator instruction counts);
3. **specialisations**: the size of every kernel specialisation model.c instantiates is
   read from model.o's symbols;
4. **Flash**: what the ELF holds beyond the priced parts (aligned constants, kernel objects,
   specialisations, the baked input) is fitted, by non-negative least squares, as bytes
   per operator of each plan type plus a fixed runtime; the largest under-prediction
   left (plus :data:`FLASH_SAFETY_BYTES`) becomes the margin;
5. **SRAM**: the fixed part is the largest ELF SRAM beyond the arena (data, bss, heap, the
   analysed stack);
6. **instructions**: per kernel variant, non-negative least squares of the per-operator
   counts on MACs, output elements, output pixels and a constant; ``invoke_instructions``
   is what the whole inference takes beyond its operators (negative: the marks' own cost);
7. **patch stages**: ``patch_per_space`` more configs per space are built with the patch
   schedule ``--patch=auto`` picks (MCUNetV2); a stage is priced as its per-patch calls (each
   variant's model on its share of the work, halos included) plus each patch's copies
   (:data:`~mcunet_tf.firmware_cost.PATCH_COPY_VARIANT`), whose coefficients are fitted to
   what the stage's count leaves beyond its calls. Their builds also enter the Flash fit and
   the fixed SRAM (a stage's deeper calls need a little more stack).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np

from mcunet_tf.firmware_cost import (
    CALIBRATION_VERSION,
    LATENCY_FEATURES,
    FirmwareCostModel,
    PATCH_COPY_VARIANT,
    OpFirmware,
    calibration_path,
    plan_firmware,
    plan_kind,
)
from mcunet_tf.firmware_measure import Measurement
from mcunet_tf.kernel_objects import gemm_config_bytes, kernel_object_bytes
from tinyengine_gen.codegen.kernel_config import gemm_config

__all__ = [
    "BOARD_CLOCK_HZ",
    "CYCLES_PER_INSTRUCTION",
    "DEFAULT_SPACES",
    "FLASH_SAFETY_BYTES",
    "PATCH_SAFETY_BYTES",
    "fit_cost_model",
    "kernel_object_bytes",
    "main",
]

#: the boards' core clocks (mps2-an500: QEMU's 25 MHz SysTick clock of that machine)
BOARD_CLOCK_HZ = {"stm32f746": 216e6, "stm32f412": 100e6, "stm32h743": 480e6, "mps2-an500": 25e6}
#: cycles per executed instruction assumed for milliseconds: a Cortex-M7 issues up to two
#: per cycle and waits on Flash and loads; 1.0 is the plain, stated assumption
CYCLES_PER_INSTRUCTION = 1.0
#: (W, R) spaces calibrated by default: the widths and resolutions the search samples
DEFAULT_SPACES = ((0.3, 96), (0.5, 128), (0.7, 144), (0.4, 176))
#: added to the largest calibration under-prediction of Flash: held-out sub-networks were seen
#: up to 1.8 kB below a margin fitted in-sample (GCC folds specialisations differently)
FLASH_SAFETY_BYTES = 2560
#: the same for patch-based builds, whose per-patch calls GCC clones or not case by case:
#: held-out ones were seen up to 2.9 kB below a margin fitted in-sample
PATCH_SAFETY_BYTES = 4096
def firmware_cflags(board: str, kernels: str = "simd") -> tuple[str, ...]:
    from tinyengine_gen.firmware.boards import board_profile
    from tinyengine_gen.firmware.toolchain import COMPILE_FLAGS, KERNEL_DEFINES

    return (*COMPILE_FLAGS, *board_profile(board).arch_flags, *KERNEL_DEFINES[kernels])


def _nnls(matrix: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Non-negative least squares (Lawson-Hanson, as scipy.optimize.nnls), on column-scaled data."""
    scale = np.maximum(np.abs(matrix).max(axis=0), 1e-12)
    a = matrix / scale
    n = a.shape[1]
    passive = np.zeros(n, dtype=bool)
    x = np.zeros(n)
    for _ in range(3 * n + 10):
        w = a.T @ (target - a @ x)
        if passive.all() or w[~passive].max() <= 1e-10 * max(1.0, np.abs(w).max()):
            break
        candidates = np.where(~passive, w, -np.inf)
        passive[int(np.argmax(candidates))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], target, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            mask = passive & (z <= 0)
            alpha = np.min(x[mask] / (x[mask] - z[mask]))
            x = x + alpha * (z - x)
            passive &= x > 1e-12
    return x / scale


def _groups(measurement: Measurement) -> list[tuple[OpFirmware, ...]]:
    """The firmware parts of each compiled operator (one per plan; a patch stage: each per-patch
    call and copy), in the order of the per-operator instruction counts."""
    graph = measurement.compiled.graph
    return [plan_firmware(graph, plan) for plan in measurement.compiled.plans]


def _ops(measurement: Measurement) -> list[OpFirmware]:
    return [op for group in _groups(measurement) for op in group]


def _specialisations(measurements: Sequence[Measurement], ops: Sequence[Sequence[OpFirmware]]):
    """Per specialisation: shared helpers, clone bytes per call site, and the whole where one op calls it.

    In model.o a specialisation ``N`` called from several operators appears as clones
    ``N.constprop.k`` (one per call site) beside helpers ``N_...`` they share; called from one
    operator, GCC may fold it all into fewer, smaller bodies. The largest seen of each is kept.
    """
    shared: dict[str, int] = {}
    site: dict[str, int] = {}
    single: dict[str, int] = {}
    per_site: dict[str, list[float]] = defaultdict(list)
    for measurement, row in zip(measurements, ops):
        symbols = dict(measurement.model_symbols)
        calls = Counter(d for op in row for d in op.definitions)
        for name, count in calls.items():
            clones = [size for symbol, size in symbols.items() if symbol.startswith(name + ".")]
            helpers = sum(size for symbol, size in symbols.items() if symbol.startswith(name + "_") or symbol == name)
            if count == 1:
                single[name] = max(single.get(name, 0), helpers + sum(clones))
            else:
                shared[name] = max(shared.get(name, 0), helpers)
                per_site[name].append(sum(clones) / count)  # GCC clones some call sites, not all
    for name, sizes in per_site.items():
        site[name] = int(np.ceil(np.mean(sizes)))  # the Flash fit's margin covers the spread
    for name, total in single.items():  # met only with one call site: price more sites as that many wholes
        shared.setdefault(name, 0)
        site.setdefault(name, total)
    return shared, site, single


def _fit_flash(
    measurements: Sequence[Measurement], ops: Sequence[Sequence[OpFirmware]], partial: FirmwareCostModel
) -> tuple[dict[str, int], int, int]:
    """op_bytes per plan type, runtime bytes, margin (``partial`` prices everything else)."""
    kinds = sorted({plan_kind(op) for row in ops for op in row})
    rows, targets = [], []
    for measurement, row in zip(measurements, ops):
        known = partial.flash_bytes(row, measurement.input_bytes, _gemm(measurement))
        counts = [sum(1 for op in row if plan_kind(op) == kind) for kind in kinds]
        rows.append([*counts, 1.0])
        targets.append(measurement.elf_flash_bytes - known)
    solution = _nnls(np.array(rows, dtype=float), np.array(targets, dtype=float))
    op_bytes = {kind: int(np.ceil(b)) for kind, b in zip(kinds, solution[:-1])}
    runtime = int(np.ceil(solution[-1]))
    predicted = np.array(rows) @ np.array([*op_bytes.values(), runtime], dtype=float)
    margin = max(0, int(np.ceil((np.array(targets) - predicted).max()))) + FLASH_SAFETY_BYTES
    return op_bytes, runtime, margin


def _fit_instructions(
    measurements: Sequence[Measurement], groups: Sequence[Sequence[tuple[OpFirmware, ...]]]
) -> tuple[dict[str, tuple[float, ...]], tuple[float, ...], float]:
    """Per kernel variant, NNLS of the per-operator counts on its features; then a patch stage's
    copies, from what its count leaves beyond the per-patch calls the variants predict."""
    by_variant: dict[str, list[tuple[tuple[float, ...], int]]] = defaultdict(list)
    stages = []
    for measurement, row in zip(measurements, groups):
        for group, count in zip(row, measurement.op_instructions):
            if len(group) == 1:
                by_variant[group[0].variant].append((group[0].features, count))
            else:
                stages.append((group, count))
    model = {}
    for variant, samples in sorted(by_variant.items()):
        matrix = np.array([features for features, _ in samples], dtype=float)
        target = np.array([count for _, count in samples], dtype=float)
        model[variant] = tuple(float(x) for x in _nnls(matrix, target))
    default = tuple(float(x) for x in np.max(np.array(list(model.values())), axis=0))
    if stages:
        rows, residuals = [], []
        for group, count in stages:
            calls = [op for op in group if op.variant != PATCH_COPY_VARIANT]
            copies = [op for op in group if op.variant == PATCH_COPY_VARIANT]
            predicted = sum(float(np.dot(model.get(op.variant, default), op.features)) for op in calls)
            rows.append(np.sum([op.features for op in copies], axis=0))
            residuals.append(count - predicted)
        model[PATCH_COPY_VARIANT] = tuple(float(x) for x in _nnls(np.array(rows), np.array(residuals)))
    extra = [m.instructions - sum(m.op_instructions) for m in measurements]
    return model, default, float(np.mean(extra))


def fit_cost_model(
    board: str,
    measurements: Sequence[Measurement],
    kernel_bytes: dict[str, int],
    clock_hz: float | None = None,
    gemm_bytes: dict[str, dict[str, int]] | None = None,
) -> FirmwareCostModel:
    """The board's cost model fitted to ``measurements`` (each with per-operator counts)."""
    groups = [_groups(m) for m in measurements]
    ops = [[op for group in row for op in group] for row in groups]
    shared, site, single = _specialisations(measurements, ops)
    instruction_model, default_model, invoke = _fit_instructions(measurements, groups)
    model = FirmwareCostModel(
        board=board,
        cflags=firmware_cflags(board),
        clock_hz=clock_hz or BOARD_CLOCK_HZ[board],
        cycles_per_instruction=CYCLES_PER_INSTRUCTION,
        kernel_bytes=MappingProxyType(kernel_bytes),
        gemm_config_bytes=MappingProxyType(dict(gemm_bytes or {})),
        definition_bytes=MappingProxyType(shared),
        definition_site_bytes=MappingProxyType(site),
        definition_single_bytes=MappingProxyType(single),
        default_definition_bytes=max([*single.values(), *(shared[n] + site[n] for n in shared)], default=0),
        op_bytes=MappingProxyType({}),
        default_op_bytes=0,
        runtime_bytes=0,
        flash_margin_bytes=0,
        fixed_sram_bytes=int(max(m.elf_sram_bytes - m.arena_bytes for m in measurements)),
        instruction_model=MappingProxyType(instruction_model),
        default_instruction_model=default_model,
        invoke_instructions=invoke,
        calibration=MappingProxyType(
            {
                "subnets": len(measurements),
                "spaces": sorted({f"{m.config.width:g}:{m.config.resolution}" for m in measurements}),
                "latency_features": list(LATENCY_FEATURES),
                "operators_measured": sum(len(m.op_instructions) for m in measurements),
            }
        ),
    )
    op_bytes, runtime, margin = _fit_flash(measurements, ops, model)
    model = dataclasses.replace(
        model,
        op_bytes=MappingProxyType(op_bytes),
        default_op_bytes=max(op_bytes.values(), default=0),
        runtime_bytes=runtime,
        flash_margin_bytes=margin,
    )
    patched = [(m, row) for m, row in zip(measurements, ops) if any(op.variant == PATCH_COPY_VARIANT for op in row)]
    if not patched:
        return model
    short = max(m.elf_flash_bytes - model.flash_bytes(row, m.input_bytes, _gemm(m)) for m, row in patched)
    return dataclasses.replace(model, patch_margin_bytes=max(0, short) + PATCH_SAFETY_BYTES)


def _gemm(measurement: Measurement):
    """The te_gemm_config.h the measured build had (written from its planned layers)."""
    return gemm_config(measurement.compiled.plans)


def _parse_spaces(text: str) -> tuple[tuple[float, int], ...]:
    spaces = []
    for item in text.split(","):
        width, _, resolution = item.partition(":")
        spaces.append((float(width), int(resolution)))
    return tuple(spaces)


def _refresh_kernel_bytes(board: str, out: Path) -> int:
    """Replace the kernel sizes of ``board``'s calibration with freshly compiled ones.

    Kernel objects are priced as compiled, not fitted, so a kernel that grew or a new kernel
    file needs only this; everything fitted from QEMU runs is kept as it is."""
    source = calibration_path(board)
    if not source.is_file():
        print(f"calibrate: no calibration of {board} to refresh ({source}); run without --kernels_only", file=sys.stderr)
        return 2
    data = json.loads(source.read_text(encoding="utf-8"))
    before = dict(data["kernel_bytes"])
    data["kernel_bytes"] = kernel_object_bytes(board)
    data["gemm_config_bytes"] = gemm_config_bytes(board, data["kernel_bytes"])
    changed = sorted(k for k in set(before) | set(data["kernel_bytes"]) if before.get(k) != data["kernel_bytes"].get(k))
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(changed)} kernel sizes changed ({', '.join(changed) or 'none'})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from mcunet_tf.cost_model import patch_options
    from mcunet_tf.firmware_measure import load_measurements, measure_configs, sample_configs, save_measurements
    from mcunet_tf.space import SearchSpace
    from tinyengine_gen.firmware.boards import BOARDS
    from tinyengine_gen.firmware.toolchain import qemu_available, toolchain_available

    parser = argparse.ArgumentParser(prog="python -m mcunet_tf.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", required=True, choices=sorted(BOARDS))
    parser.add_argument("--per_space", type=int, default=4, help="sub-networks per (W, R) space")
    parser.add_argument("--spaces", default=",".join(f"{w:g}:{r}" for w, r in DEFAULT_SPACES), help="W:R,W:R,...")
    parser.add_argument(
        "--patch_per_space",
        type=int,
        default=2,
        help="more sub-networks per space built with the patch schedule --patch=auto picks (fits the patch copies)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the sampled sub-networks (the benchmark uses 0)")
    parser.add_argument("--out", default=None, help="JSON to write (default: the package's calibration file)")
    parser.add_argument(
        "--measurements",
        default=None,
        help="JSON of the builds' measurements: read instead of building again where it exists, else written",
    )
    parser.add_argument(
        "--kernels_only",
        action="store_true",
        help="only recompile the kernels and replace their sizes in the board's calibration (seconds: after a "
        "kernel changed size; the fitted parts need the full run when kernels change what they execute)",
    )
    args = parser.parse_args(argv)
    if args.kernels_only:
        return _refresh_kernel_bytes(args.board, Path(args.out) if args.out else calibration_path(args.board))
    try:
        spaces = _parse_spaces(args.spaces)
    except ValueError:
        print(f"calibrate: --spaces '{args.spaces}' must be W:R pairs separated by commas, e.g. 0.5:128", file=sys.stderr)
        return 2
    if not (toolchain_available() and qemu_available()):
        print("calibrate: needs arm-none-eabi-gcc with newlib and qemu-system-arm (Debian packages)", file=sys.stderr)
        return 2
    print(f"compiling the kernels with the {args.board} firmware flags ...", flush=True)
    kernel_bytes = kernel_object_bytes(args.board)
    gemm_bytes = gemm_config_bytes(args.board, kernel_bytes)
    space = SearchSpace(num_classes=1000)
    cache = Path(args.measurements) if args.measurements else None
    if cache is not None and cache.is_file():
        measurements = load_measurements(cache)
        print(f"read {len(measurements)} measurements from {cache}", flush=True)
    else:
        configs = sample_configs(space, spaces, args.per_space, args.seed)
        print(f"building and running {len(configs)} sub-networks under QEMU ...", flush=True)
        measurements = measure_configs(space, configs, args.board, seed=args.seed, per_op=True)
        if args.patch_per_space > 0:
            patched = sample_configs(space, spaces, args.patch_per_space, args.seed + 1000)
            print(f"... and {len(patched)} with the patch schedule --patch=auto picks ...", flush=True)
            measurements += measure_configs(
                space, patched, args.board, seed=args.seed + 1000, per_op=True, compile_options=patch_options("auto")
            )
        if cache is not None:
            save_measurements(cache, measurements)
    model = fit_cost_model(args.board, measurements, kernel_bytes, gemm_bytes=gemm_bytes)
    out = Path(args.out) if args.out else calibration_path(args.board)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} (calibration version {CALIBRATION_VERSION}); {model.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
