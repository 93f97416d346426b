"""Benchmark: evolutionary search against random search, equal trial counts, three seeds, toy supernet.

    python benchmarks/evolution_vs_random.py [--supernet=DIR] [--trials=32] [--population=8] [--seeds=0,1,2] \\
        [--sram_kb=11] [--flash_kb=80] [--json=OUT]

Without ``--supernet`` it first trains a toy supernet (tiny layout, W=0.3, R=32, six shape
classes with pixel noise 0.3, three epochs: the harder toy variant, so that sub-networks
differ in accuracy) into ``--work_dir``, or reuses the one already there. Then, for every
seed, it runs both algorithms with the same budget and the same number of trials, and
prints the best validation accuracy found after each of the evolution's generations
(generation 0 is ``population`` trials, every later one ``population - parents``; random
search is cut at the same trial counts), per seed and averaged over seeds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from mcunet_tf.search.budget import SearchBudget  # noqa: E402
from mcunet_tf.search.run import SearchJob, run_search  # noqa: E402
from mcunet_tf.search.tuner import EvaluationOptions  # noqa: E402
from tinyengine_gen.atomic_io import write_json_atomically  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("supernet", None, "A trained supernet folder; default: train the toy one into --work_dir.")
flags.DEFINE_string("work_dir", "/tmp/mcunet_tf_evolution_vs_random", "Where the supernet and the searches go.")
flags.DEFINE_integer("trials", 32, "Trials per search (both algorithms).")
flags.DEFINE_integer("population", 8, "Evolution population size.")
flags.DEFINE_float("parent_fraction", 0.25, "Evolution parent fraction.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Search seeds.")
flags.DEFINE_float("sram_kb", 11, "Peak SRAM budget (kB).")
flags.DEFINE_float("flash_kb", 80, "Flash budget (kB).")
flags.DEFINE_integer("epochs", 3, "Epochs of the toy supernet when it is trained here.")
flags.DEFINE_string("json", None, "Also write every figure to this JSON file.")


def toy_supernet(folder: Path, epochs: int) -> Path:
    from mcunet_tf.training.checkpointing import SupernetManifest, load_supernet
    from mcunet_tf.training.data import DataSpec
    from mcunet_tf.training.loop import SupernetJob, TrainOptions, train_supernet
    from mcunet_tf.training.spaces import layout_space

    data = DataSpec("toy", 32, toy_classes=6, toy_train=2048, toy_val=512, toy_noise=0.3)
    job = SupernetJob(
        layout_space("tiny", 0.3, 32, 6), 0.3, 32, data, TrainOptions(epochs=epochs, batch_size=32), folder
    )
    same = (folder / "supernet.json").is_file() and SupernetManifest.read(folder).same_model(job.manifest())
    if same and load_supernet(folder)[2] >= epochs:
        print(f"reusing the toy supernet in {folder}")
        return folder
    train_supernet(job)
    return folder


def generation_ends(trials: int, population: int, parents: int) -> list[int]:
    """Trial counts at which the evolution's generations end."""
    ends, count = [], min(population, trials)
    while True:
        ends.append(count)
        if count >= trials:
            return ends
        count = min(trials, count + population - parents)


def best_so_far(accuracies: list[float], ends: list[int]) -> list[float]:
    return [max(accuracies[:end]) for end in ends]


def main(argv):
    del argv
    import math

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    work = Path(FLAGS.work_dir)
    supernet = Path(FLAGS.supernet) if FLAGS.supernet else toy_supernet(work / "supernet", FLAGS.epochs)
    budget = SearchBudget.from_kb(FLAGS.sram_kb, FLAGS.flash_kb)
    parents = max(1, math.ceil(FLAGS.population * FLAGS.parent_fraction))
    ends = generation_ends(FLAGS.trials, FLAGS.population, parents)
    curves: dict[str, dict[int, list[float]]] = {"evolution": {}, "random": {}}
    stats: dict[str, dict[int, dict]] = {"evolution": {}, "random": {}}
    for seed in (int(s) for s in FLAGS.seeds):
        for algorithm in ("evolution", "random"):
            job = SearchJob(
                supernet,
                budget,
                FLAGS.trials,
                work / f"{algorithm}_seed{seed}",
                algorithm=algorithm,
                seed=seed,
                population_size=FLAGS.population,
                parent_fraction=FLAGS.parent_fraction,
                evaluation=EvaluationOptions(batch_size=128, calibration_batches=4),
                overwrite=True,
            )
            outcome = run_search(job)
            accuracies = [r.accuracy if r.completed else 0.0 for r in outcome.rows]
            curves[algorithm][seed] = best_so_far(accuracies, ends)
            stats[algorithm][seed] = outcome.stats
    print(_table(curves, ends, budget))
    if FLAGS.json:
        write_json_atomically(
            FLAGS.json,
            {
                "budget": budget.to_dict(),
                "generation_ends": ends,
                "curves": curves,
                "stats": stats,
                "supernet": str(supernet),
            },
        )


def _table(curves: dict[str, dict[int, list[float]]], ends: list[int], budget: SearchBudget) -> str:
    lines = [f"best validation accuracy so far, under {budget.describe()} (trials at the end of each generation)", ""]
    header = (
        f"{'generation':>10} {'trials':>6} | "
        + " ".join(f"{a[:4]} s{s}" for a in ("evolution", "random") for s in sorted(curves[a]))
        + " | evo mean  rnd mean"
    )
    lines += [header, "-" * len(header)]
    for g, end in enumerate(ends):
        cells = [f"{curves[a][s][g]:7.4f}" for a in ("evolution", "random") for s in sorted(curves[a])]
        means = [np.mean([curves[a][s][g] for s in curves[a]]) for a in ("evolution", "random")]
        lines.append(f"{g:>10} {end:>6} | " + " ".join(cells) + f" | {means[0]:8.4f} {means[1]:9.4f}")
    final = {a: np.mean([c[-1] for c in curves[a].values()]) for a in curves}
    wins = sum(curves["evolution"][s][-1] >= curves["random"][s][-1] for s in curves["evolution"])
    summary = (
        f"final best (mean over seeds): evolution {final['evolution']:.4f}, random {final['random']:.4f}; "
        f"evolution >= random in {wins} of {len(curves['evolution'])} seeds"
    )
    lines += ["", summary]
    return "\n".join(lines)


if __name__ == "__main__":
    from tinyengine_gen import cli

    cli.run(main, program="benchmarks/evolution_vs_random.py", tensorflow=True)
