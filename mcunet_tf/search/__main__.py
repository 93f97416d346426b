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


import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from absl import flags

from tinyengine_gen import cli, flag_rules

if TYPE_CHECKING:
    from mcunet_tf.search.run import SearchJob

__all__ = ["job_from_flags", "main"]

FLAGS = flags.FLAGS
flags.DEFINE_string("supernet", None, "Folder written by python -m mcunet_tf.train_supernet (--out).")
flag_rules.required("supernet", "pass the --out folder of python -m mcunet_tf.train_supernet")
flags.DEFINE_float("sram_kb", 320, "Peak SRAM budget in kB (1 kB = 1024 B).")
flag_rules.positive_number("sram_kb")
flags.DEFINE_float("flash_kb", 1024, "Flash budget in kB (weights, quantisation parameters, code).")
flag_rules.positive_number("flash_kb")
flags.DEFINE_float("latency_ms", None, "Estimated latency budget in ms (see mcunet_tf.search.latency).")
flags.DEFINE_string(
    "board",
    None,
    "Board whose firmware calibration prices candidates (mcunet_tf/calibration/<board>.json, made by "
    "python -m mcunet_tf.calibrate): Flash and SRAM as the firmware build measures them, latency in ms.",
)
flag_rules.positive_number("latency_ms")
flags.DEFINE_integer("trials", 64, "Trials (evaluated sub-networks) in all, whatever the algorithm.", lower_bound=1)
flags.DEFINE_string("project_dir", "out/search", "Folder of the search state and results (resumed if present).")
flag_rules.folder_path("project_dir")
# the names of mcunet_tf.search.run.ALGORITHMS (not imported here: it loads TensorFlow; a test keeps them equal)
flags.DEFINE_enum("algorithm", "evolution", ["evolution", "random"], "Search algorithm.")
flags.DEFINE_integer("seed", 0, "Seed of the oracle (same seed and folder state: same search).")
flags.DEFINE_integer("population", 16, "evolution: population size.", lower_bound=2)
flags.DEFINE_float("parent_fraction", 0.25, "evolution: share of the population kept as parents, in (0, 1).")
flag_rules.exclusive_fraction("parent_fraction")
flags.DEFINE_float("mutation_prob", 0.1, "evolution: probability of resampling each choice in a mutation.")
flag_rules.probability("mutation_prob")
flags.DEFINE_float("mutation_share", 0.5, "evolution: share of children made by mutation (the rest by crossover).")
flag_rules.probability("mutation_share")
flags.DEFINE_integer(
    "calibration_batches", 4, "Training batches BN statistics are recomputed on per trial.", lower_bound=1
)
flags.DEFINE_integer(
    "eval_examples", None, "Held-out examples scored per trial (default: the whole split).", lower_bound=1
)
flags.DEFINE_integer("batch_size", 128, "Batch size of BN recalibration and evaluation.", lower_bound=1)
flags.DEFINE_boolean("overwrite", False, "Start over instead of resuming an existing --project_dir.")
flags.DEFINE_enum(
    "patch", "auto", ["auto", "off"],
    "auto: price peak SRAM and MACs with the patch schedule tinyengine_gen --patch=auto picks; off: layer-wise.",
)
flags.DEFINE_float("patch_max_overhead", 0.2, "With --patch=auto: the most extra MACs (fraction) a schedule may add.")
flags.DEFINE_enum("weight_bits", "8", ["4", "8"],
                  "Bits per stored weight the Flash is priced at (4: packed two per byte, as --pack_int4 stores them).")
flags.DEFINE_boolean("deterministic", True, "tf.config.experimental.enable_op_determinism() (reproducible scores).")


def job_from_flags() -> SearchJob:
    """The search job the flags describe (imports the search, hence TensorFlow)."""
    from mcunet_tf.search.budget import SearchBudget
    from mcunet_tf.search.run import SearchJob
    from mcunet_tf.search.tuner import EvaluationOptions

    return SearchJob(
        supernet=Path(FLAGS.supernet).resolve(),
        budget=dataclasses.replace(SearchBudget.from_kb(FLAGS.sram_kb, FLAGS.flash_kb, FLAGS.latency_ms),
                                   weight_bits=int(FLAGS.weight_bits)),
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
        board=FLAGS.board,
        patch=FLAGS.patch,
        patch_max_overhead=FLAGS.patch_max_overhead,
    )


def main(argv: list[str]) -> int:
    import tensorflow as tf

    from mcunet_tf.search.run import run_search

    job = job_from_flags()
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    run_search(job)
    return 0


if __name__ == "__main__":
    from mcunet_tf.errors import McunetError

    cli.run(main, program="search", user_errors=(McunetError, ValueError), tensorflow=True)
