"""python -m mcunet_tf.search: evolutionary (or random) TinyNAS search over a trained supernet.

    python -m mcunet_tf.search --supernet=out/supernet --sram_kb=320 --flash_kb=1024 [--latency_ms=50] \\
        --trials=100 --project_dir=out/search [--algorithm=evolution|random] [--seed=0]

Writes ``best_config.json``, ``trials.csv``, ``pareto.csv`` and ``pareto.png`` into
``--project_dir``. Rerunning on the same folder resumes the search (completed trials are
kept and never evaluated again). For keras-tuner's distributed mode, start one process
with ``KERASTUNER_TUNER_ID=chief`` and workers with other ids, all with
``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT`` set and the same flags. Bad input
is reported in one line with exit status 2.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import sys
from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from mcunet_tf.errors import McunetError
from mcunet_tf.search.budget import SearchBudget
from mcunet_tf.search.run import ALGORITHMS, SearchJob, run_search
from mcunet_tf.search.tuner import EvaluationOptions

__all__ = ["job_from_flags", "main"]

FLAGS = flags.FLAGS
flags.DEFINE_string("supernet", None, "Folder written by python -m mcunet_tf.train_supernet (--out).")
flags.DEFINE_float("sram_kb", 320, "Peak SRAM budget in kB (1 kB = 1024 B).")
flags.DEFINE_float("flash_kb", 1024, "Flash budget in kB (weights, quantisation parameters, code).")
flags.DEFINE_float("latency_ms", None, "Estimated latency budget in ms (see mcunet_tf.search.latency).")
flags.DEFINE_integer("trials", 64, "Trials (evaluated sub-networks) in all, whatever the algorithm.")
flags.DEFINE_string("project_dir", "out/search", "Folder of the search state and results (resumed if present).")
flags.DEFINE_enum("algorithm", "evolution", list(ALGORITHMS), "Search algorithm.")
flags.DEFINE_integer("seed", 0, "Seed of the oracle (same seed and folder state: same search).")
flags.DEFINE_integer("population", 16, "evolution: population size.")
flags.DEFINE_float("parent_fraction", 0.25, "evolution: share of the population kept as parents.")
flags.DEFINE_float("mutation_prob", 0.1, "evolution: probability of resampling each choice in a mutation.")
flags.DEFINE_float("mutation_share", 0.5, "evolution: share of children made by mutation (the rest by crossover).")
flags.DEFINE_integer("calibration_batches", 4, "Training batches BN statistics are recomputed on per trial.")
flags.DEFINE_integer("eval_examples", None, "Held-out examples scored per trial (default: the whole split).")
flags.DEFINE_integer("batch_size", 128, "Batch size of BN recalibration and evaluation.")
flags.DEFINE_boolean("overwrite", False, "Start over instead of resuming an existing --project_dir.")
flags.DEFINE_enum(
    "patch", "auto", ["auto", "off"],
    "auto: price peak SRAM and MACs with the patch schedule tinyengine_gen --patch=auto picks; off: layer-wise.",
)
flags.DEFINE_float("patch_max_overhead", 0.2, "With --patch=auto: the most extra MACs (fraction) a schedule may add.")
flags.DEFINE_boolean("deterministic", True, "tf.config.experimental.enable_op_determinism() (reproducible scores).")


def job_from_flags() -> SearchJob:
    if not FLAGS.supernet:
        raise McunetError("--supernet is required (the --out folder of python -m mcunet_tf.train_supernet).")
    return SearchJob(
        supernet=Path(FLAGS.supernet).resolve(),
        budget=SearchBudget.from_kb(FLAGS.sram_kb, FLAGS.flash_kb, FLAGS.latency_ms),
        trials=FLAGS.trials,
        project_dir=Path(FLAGS.project_dir).resolve(),
        algorithm=FLAGS.algorithm,
        seed=FLAGS.seed,
        population_size=FLAGS.population,
        parent_fraction=FLAGS.parent_fraction,
        mutation_prob=FLAGS.mutation_prob,
        mutation_share=FLAGS.mutation_share,
        evaluation=EvaluationOptions(FLAGS.batch_size, FLAGS.calibration_batches, FLAGS.eval_examples),
        overwrite=FLAGS.overwrite,
        patch=FLAGS.patch,
        patch_max_overhead=FLAGS.patch_max_overhead,
    )


def main(argv: Sequence[str]) -> int:
    if len(argv) > 1:
        print(f"search: unexpected arguments {list(argv[1:])}", file=sys.stderr)
        return 2
    try:
        job = job_from_flags()
        if FLAGS.deterministic:
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
        run_search(job)
    except (McunetError, ValueError) as exc:
        print(f"search: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    app.run(lambda argv: sys.exit(main(argv)))
