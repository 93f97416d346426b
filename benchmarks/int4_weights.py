"""4-bit vs 8-bit weights on shared-model-like networks: weight bytes, firmware Flash and
instructions per inference under QEMU.

For each model of ``--models`` in ``--models_dir``, the 8-bit row is the file as it is and
the 4-bit row is the same network with its weights re-quantised to 4 bits
(:func:`mcunet_tf.int4_weights.requantize_weights_int4`) and compiled with ``pack_int4``
(two weights per byte in Flash). Each firmware (``mps2-an500``, QEMU ``-icount shift=0``)
is checked byte for byte against TFLM running its own file, so both rows are exact; the
4-bit file's accuracy is a separate question (the pipeline's ``--weight_bits=4`` answers it
with QAT on the built-in task).

    .venv/bin/python benchmarks/int4_weights.py [--models=mlperf_kws_ref_int8.tflite,...] [--json=out.json]

With ``--pipeline_runs=RUN8,RUN4`` (two ``mcunet_tf.pipeline`` output folders of the built-in
task, ``--weight_bits=8`` and ``--weight_bits=4``) it measures their exported models instead
(the 4-bit one packed) and adds each run's test accuracy after QAT (``report.json``: the C,
which gives TFLM's bytes, on the test split).
"""

from __future__ import annotations

import sys
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcunet_tf.int4_weights import requantize_weights_int4  # noqa: E402
from tflm_backend.tflm_runner import TflmModel  # noqa: E402
from tinyengine_gen.atomic_io import write_json_atomically  # noqa: E402
from tinyengine_gen.codegen.project import generate  # noqa: E402
from tinyengine_gen.compiler import CompileOptions  # noqa: E402
from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project  # noqa: E402
from tinyengine_gen.firmware.qemu import check_firmware  # noqa: E402
from tinyengine_gen.firmware.toolchain import qemu_available, toolchain_available  # noqa: E402
from tinyengine_gen.frontend.reader import read_model_bytes  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "models_dir", str(Path(__file__).resolve().parents[2] / "shared" / "models"), "Folder of .tflite files."
)
flags.DEFINE_list(
    "models",
    ["mlperf_kws_ref_int8.tflite", "mlperf_resnet8_int8.tflite", "mlperf_vww_96_int8.tflite", "mcunet_vww.tflite"],
    "Files of --models_dir to measure.",
)
flags.DEFINE_string("work_dir", "/tmp/mcunet_tf_int4", "Where the firmware projects are built.")
flags.DEFINE_integer("timeout", 900, "Hard wall-clock limit of one QEMU run, seconds.", lower_bound=1)
flags.DEFINE_string("json", None, "Also write all figures to this JSON file.")
flags.DEFINE_list("pipeline_runs", None, "Two pipeline output folders (8-bit, 4-bit): measure their QAT models.")

RUN_BOARD = "mps2-an500"


def _measure(name: str, model: bytes, pack: bool, work: Path, run: bool) -> dict:
    project = generate(read_model_bytes(model, source=name), CompileOptions(pack_int4=pack))
    row = {
        "weights_bytes": int(project.report["weights_bytes"]),
        "arena_bytes": int(project.report["arena_bytes"]),
        "packed_ops": len(project.report.get("pack_int4", {}).get("packed_ops", [])),
    }
    if not run:
        return row
    build = write_firmware_project(project, work, FirmwareOptions(board=RUN_BOARD, layout="qemu"))
    row["flash_bytes"] = int(build.sizes.flash_bytes - build.input_bytes)  # the model, not the baked inputs
    check = check_firmware(build, tflm=TflmModel(model).run, timeout_s=FLAGS.timeout)
    row["instructions"] = int(check.run.instructions[0])
    row["identical"] = check.compared_with == ("TFLM", "host build")
    return row


def _pipeline_pair(runs: list[str], run: bool) -> dict:
    """The two runs' exported models (8-bit as is, 4-bit packed) with their QAT accuracy."""
    import json

    if len(runs) != 2:
        raise app.UsageError("--pipeline_runs takes two folders: the 8-bit run, then the 4-bit run")
    row = {}
    for key, folder, pack in (("int8", Path(runs[0]), False), ("int4", Path(runs[1]), True)):
        qat = json.loads((folder / "qat" / "result.json").read_text())
        if qat["weight_bits"] != (4 if pack else 8):
            raise app.UsageError(f"{folder}: a --weight_bits={qat['weight_bits']} run, expected {4 if pack else 8}")
        model = (folder / "qat" / "model_int8.tflite").read_bytes()
        row[key] = _measure(folder.name, model, pack, Path(FLAGS.work_dir) / "pipeline" / key, run)
        report = json.loads((folder / "report.json").read_text())
        row[key]["accuracy"] = float(report["accuracy"])  # the C (= TFLM's bytes) on the test split
        row[key]["qat"] = bool(qat["qat"])
    return {"built-in task (QAT)": row}


def main(argv: list[str]) -> None:
    run = toolchain_available() and qemu_available()
    if not run:
        print("arm-none-eabi-gcc or qemu-system-arm missing: weight bytes only", file=sys.stderr)
    results = _pipeline_pair(FLAGS.pipeline_runs, run) if FLAGS.pipeline_runs else {}
    for name in [] if FLAGS.pipeline_runs else FLAGS.models:
        path = Path(FLAGS.models_dir) / name
        if not path.is_file():
            print(f"skipping {name}: not in {FLAGS.models_dir}", file=sys.stderr)
            continue
        original = path.read_bytes()
        print(f"  {name} ...", file=sys.stderr, flush=True)
        results[name] = {
            "int8": _measure(name, original, False, Path(FLAGS.work_dir) / name / "int8", run),
            "int4": _measure(name, requantize_weights_int4(original), True, Path(FLAGS.work_dir) / name / "int4", run),
        }
    header = ["model", "weights 8b", "weights 4b", "ratio", "arena 8b", "arena 4b", "Flash 8b", "Flash 4b",
              "instr 8b", "instr 4b", "instr 4b/8b", "exact"]
    if FLAGS.pipeline_runs:
        header += ["accuracy 8b", "accuracy 4b"]
    print(" | ".join(header))
    for name, r in results.items():
        a, b = r["int8"], r["int4"]
        ratio = b["weights_bytes"] / a["weights_bytes"]
        cells = [name, f"{a['weights_bytes']:,}", f"{b['weights_bytes']:,}", f"{ratio:.3f}",
                 f"{a['arena_bytes']:,}", f"{b['arena_bytes']:,}"]
        if "instructions" in a:
            cells += [f"{a.get('flash_bytes') or 0:,}", f"{b.get('flash_bytes') or 0:,}", f"{a['instructions']:,}",
                      f"{b['instructions']:,}", f"{b['instructions'] / a['instructions']:.2f}",
                      str(a["identical"] and b["identical"])]
        if "accuracy" in a:
            cells += [f"{a['accuracy']:.4f}", f"{b['accuracy']:.4f}"]
        print(" | ".join(cells))
    if FLAGS.json:
        write_json_atomically(FLAGS.json, results)


if __name__ == "__main__":
    app.run(main)
