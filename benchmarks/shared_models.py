"""Benchmark: every model in ../shared/models (or --models_dir), TFLM against TinyEngine C.

    python benchmarks/shared_models.py [--models_dir=DIR] [--inputs=N] [--json=OUT]

Prints one table: MACs, TFLM arena, our peak SRAM and the ratio, the original MIT
TinyEngine's peak where ../shared/models/README.md gives it, host latency of both
runtimes (medians of repeated invokes, measured in the same run) with the speed-up, TFLite
with XNNPACK on one thread (the desktop baseline), MACs per second, and whether every
output was identical. Figures come from this script, never
from timed tests.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from absl import flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tflm_backend.side_by_side import compare_model  # noqa: E402
from tinyengine_gen.atomic_io import write_json_atomically  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("models_dir", str(Path(__file__).resolve().parents[2] / "shared" / "models"), "Folder of .tflite files.")
flags.DEFINE_integer("inputs", 5, "Random inputs per model for the identity check.", lower_bound=1)
flags.DEFINE_integer("repeats", 30, "Most invokes per runtime for the latency medians.", lower_bound=3)
flags.DEFINE_string("json", None, "Also write all figures to this JSON file.")
flags.DEFINE_bool("native", True, "Build the C with -march=native (off: baseline x86-64 code).")
flags.DEFINE_string("patch", "off", "TinyEngine patch-based inference: off, auto or NxN.")

#: Peak activation memory the original TinyEngine code generator reports for these files
#: (../shared/models/README.md); None where it cannot compile the file.
MIT_TINYENGINE_PEAK = {
    "mcunet_vww.tflite": 89_600,
    "mlperf_vww_96_int8.tflite": None,
    "mlperf_kws_ref_int8.tflite": None,
    "mlperf_resnet8_int8.tflite": None,
    "mbv2_224_int8.tflite": 1_404_928,
}


def _row(result) -> list[str]:
    mit = MIT_TINYENGINE_PEAK.get(result.model)
    speedup = result.tflm_latency_ms / result.te_latency_ms
    return [
        result.model.removesuffix(".tflite"),
        f"{result.macs / 1e6:.1f}M",
        f"{result.tflm_arena_bytes:,}",
        f"{result.te_peak_sram_bytes:,}",
        f"{result.te_peak_sram_bytes / result.tflm_arena_bytes:.2f}",
        f"{mit:,}" if mit else "fails",
        f"{result.tflm_latency_ms:.2f}",
        f"{result.te_latency_ms:.2f}",
        f"{speedup:.1f}x",
        f"{result.xnnpack_latency_ms:.2f}" if result.xnnpack_latency_ms is not None else "-",
        f"{result.macs / result.te_latency_ms / 1e6:.2f}",
        "yes" if result.bit_exact else "NO",
    ]


HEADER = ["model", "MACs", "TFLM arena B", "ours peak B", "ours/TFLM", "MIT TE peak B", "TFLM ms", "ours ms", "speed-up", "XNNPACK ms", "GMAC/s", "identical"]


def main(argv: list[str]) -> None:
    del argv
    paths = sorted(Path(FLAGS.models_dir).glob("*.tflite"))
    if not paths:
        sys.exit(f"shared_models: no .tflite files in {FLAGS.models_dir}; pass --models_dir")
    results = []
    for path in paths:
        print(f"measuring {path.name} ...", file=sys.stderr, flush=True)
        results.append(
            compare_model(path, inputs=FLAGS.inputs, max_repeats=FLAGS.repeats, native=FLAGS.native, patch=FLAGS.patch)
        )
    rows = [HEADER] + [_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))
    speedups = [r.tflm_latency_ms / r.te_latency_ms for r in results]
    print(f"geometric mean speed-up over TFLM: {math.exp(sum(map(math.log, speedups)) / len(speedups)):.1f}x")
    if FLAGS.json:
        write_json_atomically(FLAGS.json, [r.to_json() for r in results])
    sys.exit(0 if all(r.bit_exact for r in results) else 1)


if __name__ == "__main__":
    from tinyengine_gen import cli

    cli.run(main, program="benchmarks/shared_models.py", tensorflow=True)
