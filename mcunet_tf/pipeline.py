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

import dataclasses
import os
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from mcunet_tf.errors import McunetError
from mcunet_tf.pipeline_steps.config import TASKS, WORK, PipelineError, PipelineOptions, make_options
from mcunet_tf.pipeline_steps.progress import Progress

__all__ = ["PipelineError", "PipelineOptions", "make_options", "run_pipeline", "STEPS", "main"]

#: step folders under --out, in order (the report is written last, always anew)
STEPS = ("space", "supernet", "search", "qat", "c", "firmware", "side_by_side")
OPTIONS_FILE = "pipeline.json"
_REPORT_FILES = ("report.json", "report.md", "plots")


def _prepare_out(out: Path, options: PipelineOptions, progress_stream: TextIO) -> None:
    """Resume when ``out`` holds a run with the same options; otherwise replace its step outputs."""
    from tinyengine_gen.atomic_io import write_json_atomically

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


def _data_spec(options: PipelineOptions, resolution: int):
    from mcunet_tf.training.data import DataSpec

    return DataSpec(
        options.dataset,
        resolution,
        options.data_dir,
        seed=options.seed,
        toy_classes=options.toy_classes,
        toy_train=options.work.toy_train,
    )


def check_data(options: PipelineOptions) -> None:
    """Fail in one line, before any work, when ``--data_dir`` is missing, not a folder, or unreadable.

    Both splits are listed, which checks every file a pipeline can check without decoding
    it (Speech Commands: each clip's WAV header), and one validation example is decoded.
    """
    if options.task == "toy":
        return
    if not options.data_dir:
        raise PipelineError(f"--task={options.task} needs --data_dir (the folder that holds the {options.dataset} data).")
    if not Path(options.data_dir).is_dir():
        raise PipelineError(f"--data_dir={options.data_dir}: no such folder.")
    import tensorflow as tf

    from mcunet_tf.training.data import load_split

    try:
        load_split(_data_spec(options, min(options.resolutions)), "train")  # lists (and for kws checks) every file
        split = load_split(_data_spec(options, min(options.resolutions)), "val")
        next(iter(split.batches(1).take(1)))
    except (McunetError, OSError, ValueError, StopIteration, tf.errors.OpError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(f"--data_dir={options.data_dir}: not a readable {options.dataset} dataset ({first}).") from exc


def test_split(options: PipelineOptions, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out test split: toy's own test seed, or (file datasets) the validation split."""
    if options.task == "toy":
        from mcunet_tf.toy_data import toy_splits

        spec = _data_spec(options, resolution).toy()
        return toy_splits(dataclasses.replace(spec, test_examples=options.work.toy_test)).test
    from mcunet_tf.training.data import load_split

    data = load_split(_data_spec(options, resolution), "val").dataset
    if options.work.test_examples is not None:
        data = data.take(options.work.test_examples)
    pairs = [(np.asarray(x), int(y)) for x, y in data]
    return np.stack([p[0] for p in pairs]).astype(np.float32), np.array([p[1] for p in pairs], np.int32)


class _Run:
    """The steps of one run; each takes its folder and returns the JSON-ready result it stores."""

    def __init__(self, options: PipelineOptions, out: Path, progress: Progress) -> None:
        self.options = options
        self.out = out
        self.progress = progress
        self.results: dict[str, dict[str, Any]] = {}
        self._test: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def num_classes(self) -> int:
        return _data_spec(self.options, 32).num_classes

    def layout_space(self, width: float, resolution: int):
        from mcunet_tf.training.spaces import layout_space

        return layout_space(self.options.layout, width, resolution, self.num_classes)

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        if self._test is None:
            self._test = test_split(self.options, self.results["space"]["resolution"])
        return self._test

    # 1. search-space optimisation
    def space(self, folder: Path) -> dict[str, Any]:
        from mcunet_tf.cost_model import CostModel
        from mcunet_tf.space.cdf_plot import write_macs_cdf
        from mcunet_tf.errors import BudgetError
        from mcunet_tf.space.ranking import Budget, check_budget_reachable, rank_spaces, sample_spaces
        from tinyengine_gen.atomic_io import write_json_atomically

        o = self.options
        budget = Budget.from_kb(o.sram_kb, o.flash_kb)
        space = dataclasses.replace(self.layout_space(o.widths[0], o.resolutions[0]), widths=o.widths,
                                    resolutions=o.resolutions)
        check_budget_reachable(space, budget, CostModel(space, options=o.compile_options, weight_bits=o.weight_bits))
        processes = 1 if o.work.space_samples * len(o.widths) * len(o.resolutions) <= 2000 else None
        samples = sample_spaces(space, o.work.space_samples, o.seed, processes=processes,
                                flash_limit=budget.flash_bytes, options=o.compile_options, weight_bits=o.weight_bits)
        ranked = rank_spaces(samples, budget)
        if not ranked:
            raise BudgetError(f"budget: in no (W, R) space do 10 % of the samples fit {budget.describe()}.")
        best = ranked[0]
        write_macs_cdf(folder / "search_space_cdf.png", ranked[:5], budget)
        write_json_atomically(folder / "ranking.json", [s.to_dict() for s in ranked])
        return {
            "width": best.width, "resolution": best.resolution, "fitting_fraction": best.fitting_fraction,
            "mean_macs": best.mean_macs, "spaces": len(samples), "samples": o.work.space_samples,
            "patch": o.patch, "patch_max_overhead": o.patch_max_overhead,
            "ranking": [s.to_dict() for s in ranked[:5]],
            "summary": f"best space W={best.width:g} R={best.resolution} ({best.fitting_fraction:.0%} fit, "
                       f"mean {best.mean_macs / 1e6:.2f} M MACs) of {len(samples)}",
        }

    # 2. supernet training
    def supernet(self, folder: Path) -> dict[str, Any]:
        from mcunet_tf.training.loop import SupernetJob, TrainOptions, train_supernet
        from mcunet_tf.training.sandwich import SandwichOptions

        o, w = self.options, self.options.work
        width, resolution = self.results["space"]["width"], self.results["space"]["resolution"]
        train_options = TrainOptions(
            epochs=w.epochs, batch_size=w.batch_size, learning_rate=w.learning_rate,
            sandwich=SandwichOptions(num_random=w.num_random), steps_per_epoch=w.steps_per_epoch, seed=o.seed,
        )
        job = SupernetJob(self.layout_space(width, resolution), width, resolution,
                          _data_spec(o, resolution), train_options, folder)
        history = train_supernet(job, log=self.progress.note).history
        last = history[-1]
        return {
            "epochs": len(history), "val_accuracy_largest": last["val_accuracy_largest"],
            "val_accuracy_smallest": last["val_accuracy_smallest"], "history": history,
            "summary": f"val accuracy largest {last['val_accuracy_largest']:.3f}, "
                       f"smallest {last['val_accuracy_smallest']:.3f}",
        }

    # 3. evolutionary search
    def search(self, folder: Path) -> dict[str, Any]:
        from mcunet_tf.search.budget import SearchBudget
        from mcunet_tf.search.run import SearchJob, run_search
        from mcunet_tf.search.tuner import EvaluationOptions

        o, w = self.options, self.options.work
        job = SearchJob(
            supernet=self.out / "supernet",
            budget=dataclasses.replace(SearchBudget.from_kb(o.sram_kb, o.flash_kb), weight_bits=o.weight_bits),
            trials=w.trials,
            project_dir=folder, seed=o.seed, population_size=w.population,
            evaluation=EvaluationOptions(eval_examples=w.eval_examples),
            patch=o.patch, patch_max_overhead=o.patch_max_overhead,
        )
        outcome = run_search(job, log=lambda line: None)
        if outcome.best is None:
            raise PipelineError("search: no trial completed; raise --trials or the budget.")
        best = outcome.best
        return {
            "trials": outcome.stats.get("trials", len(outcome.rows)),
            "rejected_over_budget": outcome.stats.get("rejected_over_budget", 0),
            "duplicates_skipped": outcome.stats.get("duplicates_skipped", 0),
            "best": {"trial_id": best.trial_id, "val_accuracy": best.accuracy, **dict(best.metrics),
                     "arch_json": best.arch},
            "patch_based_trials": sum(1 for r in outcome.rows if r.metrics.get("patch_grid", 0.0) > 0),
            "summary": f"best of {len(outcome.rows)} trials: val accuracy {best.accuracy:.3f}, "
                       f"peak SRAM {best.metrics['peak_sram_kb']:.1f} kB, Flash {best.metrics['flash_kb']:.1f} kB",
        }

    # 4. QAT and int8 export
    def qat(self, folder: Path) -> dict[str, Any]:
        from mcunet_tf.arch import ArchConfig
        from mcunet_tf.export import check_int8_tensors, convert_int8, representative_inputs
        from mcunet_tf.qat import QatOptions, fine_tune_qat, keras_accuracy, tflite_accuracy
        from mcunet_tf.training.checkpointing import load_supernet
        from mcunet_tf.training.data import load_split
        from mcunet_tf.training.evaluation import recalibrated_subnet
        from tinyengine_gen.atomic_io import write_bytes_atomically

        o, w = self.options, self.options.work
        supernet, manifest, _ = load_supernet(self.out / "supernet")
        config = ArchConfig.from_json(self.results["search"]["best"]["arch_json"])
        train = load_split(manifest.data, "train")
        model = recalibrated_subnet(supernet, config, train.take_images(w.batch_size, 4))
        images, labels = self.test()
        test_batches = [(images[i:i + 256], labels[i:i + 256]) for i in range(0, len(images), 256)]
        representative = representative_inputs(train.batches(w.batch_size), 100, 4)
        float_accuracy = keras_accuracy(model, test_batches)
        ptq = convert_int8(model, representative)
        int8 = ptq
        if w.qat_epochs > 0:
            self.progress.note(f"float accuracy {float_accuracy:.3f}, post-training int8 exported; "
                               f"QAT fine-tuning {w.qat_epochs} epoch(s)")
            qat_model = fine_tune_qat(
                model, train.batches(w.batch_size, shuffle=True, seed=o.seed).repeat(),
                QatOptions(epochs=w.qat_epochs, steps_per_epoch=w.qat_steps or _steps(train, w.batch_size),
                           weight_bits=o.weight_bits),
            )
            self.progress.note("QAT done; exporting int8 TFLite")
            int8 = convert_int8(qat_model, representative)
        if o.weight_bits == 4:  # filters the converter left int8 (or all, without QAT) onto 4-bit levels
            from mcunet_tf.int4_weights import requantize_weights_int4

            int8 = requantize_weights_int4(int8)
        check_int8_tensors(int8, source="qat/model_int8.tflite")
        write_bytes_atomically(folder / "model_int8.tflite", int8)
        write_bytes_atomically(folder / "model_ptq_int8.tflite", ptq)
        ptq_accuracy = tflite_accuracy(ptq, test_batches)
        return {
            "float_accuracy": float_accuracy, "ptq_int8_accuracy": ptq_accuracy, "model_bytes": len(int8),
            "qat": w.qat_epochs > 0,
            "weight_bits": o.weight_bits,
            "model_accuracy": tflite_accuracy(int8, test_batches),  # the exported file, at weight_bits
            "tflite": str(folder / "model_int8.tflite"),
            "summary": f"float {float_accuracy:.3f}, post-training int8 {ptq_accuracy:.3f}; "
                       f"{'QAT' if w.qat_epochs > 0 else 'post-training (no QAT)'} int8 model {len(int8):,} B",
        }

    def _int8_model(self) -> bytes:
        return (self.out / "qat" / "model_int8.tflite").read_bytes()

    def _int8_inputs(self) -> list[np.ndarray]:
        from mcunet_tf.pipeline_steps.deploy import quantize_inputs

        return quantize_inputs(self._int8_model(), self.test()[0])

    # 5. TinyEngine C, checked against TFLite on every test example
    def c(self, folder: Path) -> dict[str, Any]:
        from mcunet_tf.pipeline_steps.deploy import build_c_project, check_predictions
        from mcunet_tf.pipeline_steps.report import write_memory_per_op

        model = self._int8_model()
        project, project_dir = build_c_project(model, folder / "model", self.options.compile_options)
        agreement = check_predictions(model, project_dir, self._int8_inputs(), self.test()[1])
        report = project.report
        write_memory_per_op(report, folder / "memory_per_op.png")
        keys = ("macs", "executed_macs", "weights_bytes", "arena_bytes", "peak_sram_bytes", "patch")
        return {
            "project": str(project_dir), "report": {k: report.get(k) for k in keys}, "agreement": agreement.to_dict(),
            "summary": f"TFLite {agreement.tflite_accuracy:.4f} = C {agreement.c_accuracy:.4f} on "
                       f"{agreement.examples} test examples (same label on all; C = TFLM bytes on all, "
                       f"= TFLite bytes on {agreement.same_bytes_tflite})",
        }

    # 6. Cortex-M firmware
    def firmware(self, folder: Path) -> dict[str, Any]:
        from mcunet_tf.pipeline_steps.deploy import build_firmware
        from tinyengine_gen.codegen.project import generate
        from tinyengine_gen.frontend.reader import read_model_bytes

        project = generate(read_model_bytes(self._int8_model(), source="model_int8.tflite"),
                           self.options.compile_options)
        result = build_firmware(project, folder / "model", self.options.board, self._int8_inputs()[0])
        if result["built"]:
            summary = (f"{result['board']}: Flash {result['flash_bytes']:,} / {result['flash_limit_bytes']:,} B, "
                       f"SRAM {result['sram_bytes']:,} / {result['sram_limit_bytes']:,} B")
        else:
            summary = f"skipped: {result['reason']}"
        return dict(result, summary=summary)

    # 7. TFLM side by side
    def side_by_side(self, folder: Path) -> dict[str, Any]:
        from tflm_backend.side_by_side import compare_model, format_table
        from tinyengine_gen.atomic_io import write_text_atomically

        cases = [[x] for x in self._int8_inputs()[:100]]  # step 5 already checked every test example
        result = compare_model(self.out / "qat" / "model_int8.tflite", cases=cases, work_dir=folder,
                               patch=self.options.patch, pack_int4=self.options.weight_bits == 4)
        write_text_atomically(folder / "table.txt", format_table(result) + "\n")
        if not result.bit_exact:
            raise PipelineError("the generated C differs from TFLite Micro on the test inputs; see side_by_side/table.txt")
        data = result.to_json()
        return dict(data, summary=f"TFLM arena {result.tflm_arena_bytes:,} B vs ours {result.te_peak_sram_bytes:,} B; "
                                  f"latency {result.tflm_latency_ms:.3f} vs {result.te_latency_ms:.3f} ms; "
                                  f"outputs identical on {result.inputs_checked} inputs")


def _steps(train: Any, batch_size: int) -> int:
    return max(1, len(train.images) // batch_size) if train.images is not None else 100


_TITLES = {
    "space": "search-space optimisation",
    "supernet": "supernet training",
    "search": "evolutionary search",
    "qat": "QAT + int8 TFLite export",
    "c": "TinyEngine C + TFLite/C agreement on the test split",
    "firmware": "Cortex-M firmware",
    "side_by_side": "TFLM side by side",
}


def run_pipeline(options: PipelineOptions, out: str | os.PathLike[str], stream: TextIO | None = None) -> dict[str, Any]:
    """Run (or resume) every step into ``out``; returns what ``report.json`` holds."""
    import tf_keras as keras
    from absl import logging

    from mcunet_tf.pipeline_steps.report import write_reports
    from mcunet_tf.toy_data import chance_accuracy

    stream = stream or sys.stdout
    logging.set_verbosity(logging.WARNING)  # checkpoint saving logs INFO lines between the progress lines
    out = Path(out).resolve()
    check_data(options)
    _prepare_out(out, options, stream)
    keras.utils.set_random_seed(options.seed)
    progress = Progress(out, len(STEPS) + 1, stream)
    run = _Run(options, out, progress)
    for name in STEPS:
        run.results[name] = progress.step(name, _TITLES[name], getattr(run, name))
    data = {
        "options": options.to_dict(),
        "chance_accuracy": chance_accuracy(run.num_classes),
        "accuracy": run.results["c"]["agreement"]["c_accuracy"],
        **run.results,
    }
    plots = {
        "search_space_cdf.png": out / "space" / "search_space_cdf.png",
        "pareto.png": out / "search" / "pareto.png",
        "memory_per_op.png": out / "c" / "memory_per_op.png",
    }
    data["plots"] = write_reports(out, data, plots)
    stream.write(
        f"[{len(STEPS) + 1}/{len(STEPS) + 1}] report: {out / 'report.md'}, report.json, plots/ "
        f"[total {progress._clock()}]\n"
        f"test accuracy (int8, TFLite = C): {data['accuracy']:.4f} on {run.results['c']['agreement']['examples']} "
        f"examples (chance {data['chance_accuracy']:.2f})\n"
    )
    return data


def _flags():
    from absl import flags

    from tinyengine_gen import flag_rules

    f = flags.FLAGS
    if "task" not in f:
        flags.DEFINE_enum("task", "toy", sorted(TASKS), "Task: toy (built-in data), kws, vww or imagenet.")
        flags.DEFINE_string("data_dir", None, "Dataset folder (kws, vww, imagenet); toy needs none.")
        flags.DEFINE_float("sram_kb", None, "SRAM budget in kB (default: the task's).")
        flag_rules.positive_number("sram_kb")
        flags.DEFINE_float("flash_kb", None, "Flash budget in kB (default: the task's).")
        flag_rules.positive_number("flash_kb")
        flags.DEFINE_string("board", "stm32f746", "Board profile of the Cortex-M firmware build.")
        flags.DEFINE_string("out", "out/pipeline", "Output folder (resumed with the same options, else replaced).")
        flag_rules.folder_path("out")
        flags.DEFINE_enum("budget", "smoke", sorted(WORK), "Work preset: tiny (tests), smoke (default), full.")
        flags.DEFINE_integer("seed", 0, "Seed of data, sampling, training and search.")
        flags.DEFINE_enum("weight_bits", "8", ["4", "8"],
                          "4: QAT with 4-bit per-channel weights, packed two per byte, Flash priced at 4 bits.")
        flags.DEFINE_integer("epochs", None, "Override: supernet epochs.", lower_bound=1)
        flags.DEFINE_integer("trials", None, "Override: search trials.", lower_bound=1)
        flags.DEFINE_integer("samples", None, "Override: sub-networks sampled per (W, R) space.", lower_bound=1)
        flags.DEFINE_enum("patch", "auto", ["auto", "off"],
                          "auto: price, search and compile with the patch schedule tinyengine_gen --patch=auto "
                          "picks (MCUNetV2 patch-based memory); off: layer-wise memory only.")
        flags.DEFINE_float("patch_max_overhead", 0.2, "With --patch=auto: the most extra MACs a schedule may add.")
    return f


def main(argv: Sequence[str]) -> int:
    f = _flags()
    if len(argv) > 1:
        print(f"pipeline: error: unexpected arguments {list(argv[1:])}", file=sys.stderr)
        return 2
    try:
        from tinyengine_gen.firmware.boards import board_profile

        try:
            board_profile(f.board)
        except ValueError as exc:
            raise PipelineError(str(exc)) from exc
        options = make_options(
            f.task, budget=f.budget, data_dir=f.data_dir, sram_kb=f.sram_kb, flash_kb=f.flash_kb, board=f.board,
            seed=f.seed, weight_bits=int(f.weight_bits), epochs=f.epochs, trials=f.trials, space_samples=f.samples,
            patch=f.patch, patch_max_overhead=f.patch_max_overhead,
        )
        run_pipeline(options, Path(f.out))
    except McunetError as exc:
        message = " ".join(str(exc).splitlines()[0].split()) if str(exc).strip() else type(exc).__name__
        print(f"pipeline: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from tinyengine_gen import cli

    _flags()
    cli.run(main, program="pipeline", user_errors=(McunetError,), tensorflow=True)
