"""python -m tflm_backend.compare --tflite=MODEL [--inputs=N] [--json=OUT]

Prints a side-by-side table of stock TFLite Micro and the TinyEngine C build of the same
model: peak SRAM, Flash, host latency, and whether the outputs are identical. Exit status 1
if the outputs differ, 2 for a model the compiler cannot take.
"""

from __future__ import annotations

import sys

from absl import app, flags

from tflm_backend.side_by_side import compare_model, format_table
from tinyengine_gen.atomic_io import write_json_atomically
from tinyengine_gen import cli
from tinyengine_gen.cli import check_file_destination, report_user_errors

FLAGS = flags.FLAGS
flags.DEFINE_string("tflite", None, "Path of the int8 .tflite model.")
flags.DEFINE_integer("inputs", 20, "Number of random inputs to compare outputs on.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the random inputs.")
flags.DEFINE_integer("repeats", 50, "Most invokes per runtime for the latency median.", lower_bound=3)
flags.DEFINE_string("json", None, "Also write the figures as JSON to this file.")
flags.DEFINE_string("keep", None, "Keep the generated C project in this folder.")
flags.DEFINE_enum(
    "input_api",
    "auto",
    ["auto", "float", "int8"],
    "auto: int8 input API when the model starts by quantising a float input (the caller quantises); "
    "float: keep the model's own input; int8: require the int8 input API.",
)
flags.DEFINE_string("patch", "off", "TinyEngine patch-based inference: off, auto or a grid NxN.")
flags.DEFINE_bool("pack_int4", False, "Store weights that fit 4 bits packed two per byte in the C build.")
flags.DEFINE_bool("native", True, "Build the C with -march=native (off: baseline x86-64 code).")
flags.mark_flag_as_required("tflite")


def _run() -> int:
    if FLAGS.json is not None:
        check_file_destination(FLAGS.json, "--json")
    result = compare_model(
        FLAGS.tflite, inputs=FLAGS.inputs, seed=FLAGS.seed, max_repeats=FLAGS.repeats, work_dir=FLAGS.keep,
        input_api=FLAGS.input_api,
        patch=FLAGS.patch,
        native=FLAGS.native,
        isolate_tflm=True,
        pack_int4=FLAGS.pack_int4,
    )
    print(format_table(result))
    if FLAGS.json:
        write_json_atomically(FLAGS.json, result.to_json())
    return 0 if result.bit_exact else 1


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    sys.exit(report_user_errors("tflm_backend.compare", _run))


if __name__ == "__main__":
    cli.run(main, program="tflm_backend.compare", tensorflow=True)
