"""python -m mcunet_tf.pipeline: the whole MCUNet co-design, from data to C for a microcontroller.

    python -m mcunet_tf.pipeline --out=out/pipeline                       # built-in toy task, ~5 min on 2 cores
    python -m mcunet_tf.pipeline --task=vww --data_dir=DIR --sram_kb=320 --flash_kb=1024 \\
        [--board=stm32f746] --budget=full --out=out/vww

Steps (each prints a line when it starts and when it ends, with elapsed time):

1. **search-space optimisation** (:mod:`mcunet_tf.space.ranking`): sample sub-networks of every
   (W, R) space of the task's grid, price them with the co-design cost model (the arena
   ``tinyengine_gen`` would plan), and pick the space whose fitting networks compute most;
2. **supernet training** (:mod:`mcunet_tf.training`): the once-for-all supernet of that space,
   sandwich rule, a checkpoint per epoch;
3. **evolutionary search** (:mod:`mcunet_tf.search`): keras-tuner oracle, candidates over the
   SRAM / Flash budget rejected before they are built; the best by validation accuracy;
4. **QAT** (:mod:`mcunet_tf.qat`): the best sub-network extracted, BN recalibrated,
   quantisation-aware fine-tuned, exported as int8 TFLite (a post-training int8 export of the
   same network is scored beside it);
5. **TinyEngine C**: the int8 model compiled to C and built for the host; every test
   example goes through the TFLite interpreter and through the C with the same int8
   input, and the run stops unless the output bytes agree on every one;
6. **firmware**: a Cortex-M build for ``--board`` when arm-none-eabi-gcc is installed;
7. **TFLM side by side** (:mod:`tflm_backend.side_by_side`): peak SRAM, Flash, latency and outputs
   of stock TFLite Micro and of the generated C on the test inputs;
8. **report**: ``report.md``, ``report.json``, ``plots/`` (search-space CDF, Pareto front, memory per op).

The default task, ``toy``, needs no download: :mod:`mcunet_tf.toy_data` generates coloured
shapes on noise (disc, square, triangle, plus; four balanced classes, chance 25 %) from a
seed. It is a fair smoke test of the whole co-design because the label is spatial
structure only (colour, size and position are random), so the network must learn shape
detectors with its convolutions, larger sub-networks measurably do better (which gives
the space ranking and the search something real to choose between), the splits are
disjoint and deterministic, and the test split is never seen by training, search or
calibration. ``--budget=smoke`` (the default) trains four supernet epochs on 2048 images
and runs twelve search trials; ``--budget=tiny`` is the minute-long test setting.

Output folder: every step writes under ``--out/<step>/`` and ends by writing
``result.json`` atomically. A rerun with the same options **resumes**: finished steps are
kept, supernet training resumes after its last checkpointed epoch and the search after its
last finished trial. A rerun with different options **replaces** the folder's step outputs
cleanly (they are removed first). A folder that holds something other than a pipeline run
is refused. Bad input (unknown task, missing or malformed ``--data_dir``, a budget nothing
fits) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from absl import logging

if __name__ == "__main__":
    # The steps imported below load TensorFlow: the command line parses its flags and imports
    # TensorFlow quietly first, then imports this module again to run it (never returns).
    from mcunet_tf.pipeline_steps.command_line import run_command

    run_command()

from mcunet_tf.errors import McunetError  # noqa: E402 (after the quiet TensorFlow import above)
from mcunet_tf.pipeline_steps.c_project import CProjectResult, CProjectStep  # noqa: E402
from mcunet_tf.pipeline_steps.command_line import define_flags  # noqa: E402
from mcunet_tf.pipeline_steps.config import PipelineError, PipelineOptions, make_options  # noqa: E402
from mcunet_tf.pipeline_steps.context import RunContext  # noqa: E402
from mcunet_tf.pipeline_steps.data import check_data  # noqa: E402
from mcunet_tf.pipeline_steps.firmware import FirmwareStep  # noqa: E402
from mcunet_tf.pipeline_steps.progress import Progress  # noqa: E402
from mcunet_tf.pipeline_steps.qat import QatStep  # noqa: E402
from mcunet_tf.pipeline_steps.report import write_reports  # noqa: E402
from mcunet_tf.pipeline_steps.search import SearchStep  # noqa: E402
from mcunet_tf.pipeline_steps.side_by_side import SideBySideStep  # noqa: E402
from mcunet_tf.pipeline_steps.space import SpaceStep  # noqa: E402
from mcunet_tf.pipeline_steps.step import Step  # noqa: E402
from mcunet_tf.pipeline_steps.supernet import SupernetStep  # noqa: E402
from mcunet_tf.toy_data import chance_accuracy  # noqa: E402
from tinyengine_gen.atomic_io import write_json_atomically  # noqa: E402
from tinyengine_gen.firmware.boards import board_profile  # noqa: E402

__all__ = ["PIPELINE", "PipelineError", "PipelineOptions", "make_options", "run_pipeline", "STEPS", "main", "check_data"]

#: the steps, in order; each writes under --out/<its name>/ (the report is written last, always anew)
PIPELINE: tuple[Step, ...] = (
    SpaceStep(), SupernetStep(), SearchStep(), QatStep(), CProjectStep(), FirmwareStep(), SideBySideStep(),
)
#: step folders under --out, in order
STEPS = tuple(step.name for step in PIPELINE)
OPTIONS_FILE = "pipeline.json"
_REPORT_FILES = ("report.json", "report.md", "plots")


def _prepare_out(out: Path, options: PipelineOptions, progress_stream: TextIO) -> None:
    """Resume when ``out`` holds a run with the same options; otherwise replace its step outputs."""
    stored = out / OPTIONS_FILE
    wanted = options.to_dict()
    if stored.is_file():
        if json.loads(stored.read_text()) == wanted:
            progress_stream.write(f"resuming {out} (same options)\n")
            return
        progress_stream.write(f"options changed: replacing the pipeline outputs in {out}\n")
        for name in (*STEPS, *_REPORT_FILES):
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    elif out.is_dir() and any(out.iterdir()):
        raise PipelineError(f"{out}: not empty and not a pipeline output folder (no {OPTIONS_FILE}); choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(stored, wanted)


def run_pipeline(options: PipelineOptions, out: str | os.PathLike[str], stream: TextIO | None = None) -> dict[str, Any]:
    """Run (or resume) every step into ``out``; returns what ``report.json`` holds."""
    stream = stream or sys.stdout
    logging.set_verbosity(logging.WARNING)  # checkpoint saving logs INFO lines between the progress lines
    out = Path(out).resolve()
    check_data(options)
    _prepare_out(out, options, stream)
    import tf_keras as keras  # here, not at module level: cli.run imports TensorFlow quietly first

    keras.utils.set_random_seed(options.seed)
    progress = Progress(out, len(PIPELINE) + 1, stream)
    context = RunContext(options, out, progress)
    results: dict[str, Any] = {}
    for step in PIPELINE:
        result = progress.run(step, context)
        context.record(result)
        results[step.name] = result.to_json()
    agreement = context.result(CProjectResult).agreement
    data = {
        "options": options.to_dict(),
        "chance_accuracy": chance_accuracy(context.num_classes),
        "accuracy": agreement["c_accuracy"],
        **results,
    }
    plots = {
        "search_space_cdf.png": out / "space" / "search_space_cdf.png",
        "pareto.png": out / "search" / "pareto.png",
        "memory_per_op.png": out / "c" / "memory_per_op.png",
    }
    data["plots"] = write_reports(out, data, plots)
    stream.write(
        f"[{len(PIPELINE) + 1}/{len(PIPELINE) + 1}] report: {out / 'report.md'}, report.json, plots/ "
        f"[total {progress.clock()}]\n"
        f"test accuracy (int8, TFLite = C): {data['accuracy']:.4f} on {agreement['examples']} "
        f"examples (chance {data['chance_accuracy']:.2f})\n"
    )
    return data


def main(argv: Sequence[str]) -> int:
    f = define_flags()
    if len(argv) > 1:
        print(f"pipeline: error: unexpected arguments {list(argv[1:])}", file=sys.stderr)
        return 2
    try:
        try:
            board_profile(f.board)
        except ValueError as exc:
            raise PipelineError(str(exc)) from exc
        options = make_options(
            f.task, budget=f.budget, data_dir=f.data_dir, sram_kb=f.sram_kb, flash_kb=f.flash_kb, board=f.board,
            seed=f.seed, weight_bits=int(f.weight_bits), epochs=f.epochs, trials=f.trials, space_samples=f.samples,
            patch=f.patch, patch_max_overhead=f.patch_max_overhead, redistribute_rf=f.redistribute_rf,
        )
        run_pipeline(options, Path(f.out))
    except McunetError as exc:
        message = " ".join(str(exc).splitlines()[0].split()) if str(exc).strip() else type(exc).__name__
        print(f"pipeline: error: {message}", file=sys.stderr)
        return 2
    return 0

