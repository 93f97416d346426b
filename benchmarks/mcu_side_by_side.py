"""Benchmark: stock TFLM (reference kernels, CMSIS-NN) and ours as firmware, side by side.

    python benchmarks/mcu_side_by_side.py [--board=B] [--models=GLOB] [--ops=MODEL] [--tflm_tree=DIR] [--json=OUT] [--prefer=speed]

For every model in ../shared/models (or the glob), builds three firmwares for the board
(TFLM with its reference kernels, TFLM with Arm's CMSIS-NN kernels, our generated C: same
startup, linker script, baked input, -O3 and CPU/FPU flags; TFLM's release build,
-DNDEBUG), runs them under QEMU (``-icount shift=0``) and prints Flash, SRAM,
instructions per inference, MACs per instruction and the ratios ours / TFLM+CMSIS-NN,
whether each fits the board, and whether the three outputs are the same bytes.
``--ops=MODEL`` prints that model's instructions per operator and writes a bar plot
(``--plot``, PNG). TFLM's library is built once per flavour and flags, then cached
(``$MCUNET_TF_CACHE``, else ``$XDG_CACHE_HOME/mcunet-tf``).
"""

from __future__ import annotations

import glob
import os
import sys
import time
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tflm_backend.mcu.three_way import (  # noqa: E402
    BUILD_NAMES,
    McuComparison,
    compare_on_mcu,
    format_mcu_table,
    format_ops_table,
)
from tflm_backend.mcu.tree import find_tflm_tree  # noqa: E402
from tinyengine_gen.atomic_io import write_json_atomically  # noqa: E402
from tinyengine_gen.cli import report_user_errors  # noqa: E402
from tinyengine_gen.errors import TinyEngineError  # noqa: E402
from tinyengine_gen.firmware.boards import BOARDS  # noqa: E402
from tinyengine_gen.options import CompileOptions  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
FLAGS = flags.FLAGS
flags.DEFINE_enum("board", "mps2-an500", sorted(BOARDS), "Board profile of the three firmwares.")
flags.DEFINE_string("models", str(SHARED / "models" / "*.tflite"), "Glob of .tflite files.")
flags.DEFINE_string("ops", None, "Print the per-operator breakdown of this model (path or file name) and plot it.")
flags.DEFINE_string("plot", None, "PNG of the per-operator bar plot (default: mcu_ops_<model>_<board>.png).")
flags.DEFINE_string(
    "tflm_tree", None, "Folder with TFLM's reference/ and cmsis_nn/ trees (default: $TFLM_TREE, else ../shared/third_party/tflm)."
)
flags.DEFINE_string("work_dir", "/tmp/mcunet_tf_mcu_side_by_side", "Where the firmwares are built (per model).")
flags.DEFINE_string("json", None, "Also write all figures to this JSON file.")
flags.DEFINE_enum(
    "prefer", "memory", ["memory", "speed"], "Our kernel choice (the engine's --prefer): speed adds depthwise channel pairs."
)
flags.DEFINE_bool(
    "model_kernels_only",
    False,
    "Link TFLM from a library of its framework and only each model's kernels (same firmware, fewer files to compile).",
)

_SHORT = {"tflm_reference": "ref", "tflm_cmsis_nn": "cmsis", "tinyengine": "ours"}


def _tree():
    default = SHARED / "third_party" / "tflm"
    return find_tflm_tree(FLAGS.tflm_tree or os.environ.get("TFLM_TREE") or (default if default.is_dir() else None))


def _kb(n: int) -> str:
    return f"{n / 1024:,.1f}"


def format_summary(results: list[McuComparison], errors: dict[str, str]) -> str:
    board = results[0].board if results else FLAGS.board
    triple = lambda title: "".join(f"{title + ' ' + _SHORT[n]:>16}" for n in BUILD_NAMES)  # noqa: E731
    lines = [
        f"Three firmwares per model on {board} (QEMU -icount shift=0; TFLM release build -DNDEBUG; all -O3, same flags)",
        f"{'model':28}{triple('Flash KB')}{triple('SRAM KB')}{triple('Minstr')}{triple('MAC/ins')}"
        f"{'Flash o/c':>11}{'SRAM o/c':>10}{'instr o/c':>11}  fits (ref/cmsis/ours)  outputs",
    ]
    for r in results:
        b = [r.builds[n] for n in BUILD_NAMES]
        ours, cmsis = r.builds["tinyengine"], r.builds["tflm_cmsis_nn"]
        fits = "/".join("yes" if x.fits else "NO" for x in b)
        lines.append(
            f"{r.model[:27]:28}"
            + "".join(f"{_kb(x.flash_bytes):>16}" for x in b)
            + "".join(f"{_kb(x.sram_bytes):>16}" for x in b)
            + "".join(f"{x.instructions / 1e6:>16,.2f}" for x in b)
            + "".join(f"{r.macs / x.instructions:>16.3f}" for x in b)
            + f"{ours.flash_bytes / cmsis.flash_bytes:>11.3f}{ours.sram_bytes / cmsis.sram_bytes:>10.3f}"
            + f"{ours.instructions / cmsis.instructions:>11.3f}  {fits:22} "
            + ("identical" if r.outputs_identical else f"DIFFER ({r.first_difference})")
        )
    for name, message in sorted(errors.items()):
        lines.append(f"{name[:27]:28}failed: {message}")
    headline = []
    for r in results:
        ours = r.builds["tinyengine"]
        for name in ("tflm_reference", "tflm_cmsis_nn"):
            tflm = r.builds[name]
            if ours.fits and not tflm.fits:
                over = ", ".join(f"{'SRAM' if m == 'sram' else 'Flash'} over by {n:,} B" for m, n in tflm.over_by.items())
                headline.append(
                    f"  {r.model}: {name} does not fit {r.board}: {over} (needs Flash {tflm.flash_bytes:,} B, "
                    f"SRAM {tflm.sram_bytes:,} B); ours fits with Flash {ours.flash_bytes:,} B, SRAM {ours.sram_bytes:,} B"
                )
    if headline:
        lines += ["Fits only as ours:", *headline]
    return "\n".join(lines)


def write_ops_plot(result: McuComparison, path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    per_build = {n: {op.index: op.instructions for op in result.builds[n].ops} for n in BUILD_NAMES}
    indices = sorted(set().union(*per_build.values()))
    figure, axes = plt.subplots(figsize=(max(8, 0.25 * len(indices)), 4.5))
    width = 0.28
    for k, name in enumerate(BUILD_NAMES):
        xs = [i + (k - 1) * width for i in range(len(indices))]
        axes.bar(xs, [per_build[name].get(i, 0) for i in indices], width, label=name)
    axes.set_xticks(range(len(indices)), [str(i) for i in indices], fontsize=6)
    axes.set_yscale("log")
    axes.set_xlabel("operator (index in the .tflite; 0 bar: fused into a neighbour)")
    axes.set_ylabel("instructions (QEMU -icount)")
    axes.set_title(f"{result.model} on {result.board}: instructions per operator")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def _main() -> int:
    tree = _tree()
    if FLAGS.ops:
        path = Path(FLAGS.ops) if Path(FLAGS.ops).is_file() else SHARED / "models" / FLAGS.ops
        result = compare_on_mcu(
            path, FLAGS.board, tree, work_dir=Path(FLAGS.work_dir) / path.stem, model_kernels_only=FLAGS.model_kernels_only,
            options=CompileOptions(prefer=FLAGS.prefer),
        )
        print(format_mcu_table(result))
        print()
        print(format_ops_table(result))
        plot = FLAGS.plot or f"mcu_ops_{path.stem}_{FLAGS.board}.png"
        print(f"plot: {plot}" if write_ops_plot(result, plot) else "plot: matplotlib not installed, none written")
        if FLAGS.json:
            write_json_atomically(FLAGS.json, {"mcu": result.to_json()})
        return 0 if result.outputs_identical else 1
    models = sorted(glob.glob(FLAGS.models), key=lambda m: (os.path.getsize(m), m))  # quick ones first
    if not models:
        print(f"mcu_side_by_side: error: no model matches {FLAGS.models}", file=sys.stderr)
        return 2
    results, errors = [], {}
    start = time.monotonic()
    for model in models:
        try:
            results.append(
                compare_on_mcu(
                    model, FLAGS.board, tree, work_dir=Path(FLAGS.work_dir) / Path(model).stem,
                    model_kernels_only=FLAGS.model_kernels_only, options=CompileOptions(prefer=FLAGS.prefer),
                )
            )
        except TinyEngineError as exc:
            errors[Path(model).name] = str(exc).splitlines()[0]
        print(f"[{time.monotonic() - start:.0f} s] {Path(model).name} done", file=sys.stderr, flush=True)
        if FLAGS.json:  # after every model: a long run that is stopped keeps what it measured
            payload = {"board": FLAGS.board, "models": {r.model: r.to_json() for r in results}, "errors": errors}
            write_json_atomically(FLAGS.json, payload)
    print(format_summary(results, errors))
    return 0 if all(r.outputs_identical for r in results) and not errors else 1


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    sys.exit(report_user_errors("mcu_side_by_side", _main))


if __name__ == "__main__":
    app.run(main)
