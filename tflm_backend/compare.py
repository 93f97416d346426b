"""python -m tflm_backend.compare --tflite=MODEL [--inputs=N] [--json=OUT]
python -m tflm_backend.compare --tflite=MODEL --target=cortex-m --board=B [--tflm_tree=DIR] [--json=OUT]

Prints a side-by-side table of stock TFLite Micro and the TinyEngine C build of the same
model: peak SRAM, Flash, host latency, and whether the outputs are identical. With
``--target=cortex-m`` it then builds the model as firmware for board B three ways (TFLM
with its reference kernels, TFLM with CMSIS-NN, ours), runs them under QEMU and prints the
three-way table; the JSON gains the key ``"mcu"``. Exit status 1 if outputs differ, 2 for a
model the compiler cannot take, a missing TFLM tree or toolchain.
"""

from __future__ import annotations

import sys

from absl import app, flags

from tflm_backend.mcu.three_way import compare_on_mcu, format_mcu_table
from tflm_backend.mcu.tree import find_tflm_tree
from tflm_backend.side_by_side import compare_model, format_table
from tinyengine_gen.firmware.boards import BOARDS
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
flags.DEFINE_enum("target", "host", ["host", "cortex-m"], "host: compare on this machine; cortex-m: also as firmware.")
flags.DEFINE_enum("board", "mps2-an500", sorted(BOARDS), "Board profile of the firmware builds (--target=cortex-m).")
flags.DEFINE_string(
    "tflm_tree", None, "Folder with TFLM's generated reference/ and cmsis_nn/ trees (default: $TFLM_TREE)."
)
flags.DEFINE_bool(
    "model_kernels_only", False, "Link TFLM from its framework and only this model's kernels (fewer files to compile)."
)
flags.mark_flag_as_required("tflite")


def _run() -> int:
    if FLAGS.json is not None:
        check_file_destination(FLAGS.json, "--json")
    tree = find_tflm_tree(FLAGS.tflm_tree) if FLAGS.target == "cortex-m" else None
    result = compare_model(
        FLAGS.tflite, inputs=FLAGS.inputs, seed=FLAGS.seed, max_repeats=FLAGS.repeats, work_dir=FLAGS.keep,
        input_api=FLAGS.input_api,
        patch=FLAGS.patch,
        native=FLAGS.native,
        isolate_tflm=True,
        pack_int4=FLAGS.pack_int4,
    )
    print(format_table(result))
    payload = result.to_json()
    identical = result.bit_exact
    if tree is not None:
        mcu = compare_on_mcu(
            FLAGS.tflite, FLAGS.board, tree, work_dir=FLAGS.keep and f"{FLAGS.keep}.mcu",
            model_kernels_only=FLAGS.model_kernels_only,
        )
        print()
        print(format_mcu_table(mcu))
        payload["mcu"] = mcu.to_json()
        identical = identical and mcu.outputs_identical
    if FLAGS.json:
        write_json_atomically(FLAGS.json, payload)
    return 0 if identical else 1


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    sys.exit(report_user_errors("tflm_backend.compare", _run))


if __name__ == "__main__":
    cli.run(main, program="tflm_backend.compare", tensorflow=True)
