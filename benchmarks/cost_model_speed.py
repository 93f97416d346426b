"""How many architecture configs per second the cost model prices on one core.

    .venv/bin/python benchmarks/cost_model_speed.py [--configs=2000] [--repeats=3] [--width=0.5] [--resolution=128]

Samples configs of one (W, R) space (what the search-space analysis does), prices each
with a warm ``CostModel`` (its operator memo filled by a first pass, as it is after the
first few configs of a real run), and prints configs per second of wall time and of this
process's CPU time (the second is the fair figure on a shared machine). Each repeat is a
fresh model (and no shared graph pieces) pricing every config; the best repeat is the
machine's speed with the least interference from other load (as ``timeit`` reports),
the median is printed beside it. ``--profile`` adds where the time goes, split between
the engine's compile steps and this package. The last line is a digest of every cost
priced: a speed-up must leave it unchanged (run the benchmark at two commits and
compare), or it changed what the engine decides.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import os
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from mcunet_tf.cost_model import CostModel  # noqa: E402
from mcunet_tf.sampling import sample_arch  # noqa: E402
from mcunet_tf.space import SearchSpace  # noqa: E402
from mcunet_tf.subnet_graph import forget_shared_pieces  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("configs", 2000, "Configs to price (after a warm-up pass over the same configs).")
flags.DEFINE_integer("repeats", 3, "Times to price them, each with a fresh model; the best and the median are printed.")
flags.DEFINE_float("width", 0.5, "Width multiplier W of the sampled space.")
flags.DEFINE_integer("resolution", 128, "Resolution R of the sampled space.")
flags.DEFINE_integer("classes", 1000, "Classifier outputs.")
flags.DEFINE_boolean("profile", False, "Also print the top functions by cumulative time.")


def main(argv: list[str]) -> None:
    del argv
    space = SearchSpace(num_classes=FLAGS.classes)
    rng = np.random.default_rng(0)
    configs = [sample_arch(space, rng, width=FLAGS.width, resolution=FLAGS.resolution) for _ in range(FLAGS.configs)]
    rates, costs = [], []
    for _ in range(max(1, FLAGS.repeats)):
        forget_shared_pieces()  # every repeat starts as a new search does
        model = CostModel(space)
        for config in configs[:200]:
            model.cost(config)
        wall, cpu = time.perf_counter(), time.process_time()
        costs = [model.cost(config) for config in configs]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rates.append((len(configs) / wall, len(configs) / cpu))
    best_wall, best_cpu = max(rates, key=lambda rate: rate[1])
    median_cpu = statistics.median(rate[1] for rate in rates)
    print(f"W={FLAGS.width:g} R={FLAGS.resolution}: {len(configs)} configs, {len(rates)} repeats")
    print(f"  {best_wall:8.0f} configs/s (wall)   {best_cpu:8.0f} configs/s (CPU of this process), best repeat")
    print(f"  {median_cpu:8.0f} configs/s (CPU), median; each repeat: " + ", ".join(f"{cpu:.0f}" for _, cpu in rates))
    memoised = model.stats()["memoized_operators"]
    print(f"  {1e3 / best_cpu:8.2f} ms CPU per config; {memoised} operator plans memoised")
    if FLAGS.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [model.cost(c) for c in configs[:500]])
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        print(text.getvalue())
    digest = hashlib.sha256(repr([sorted(cost.to_dict().items()) for cost in costs]).encode()).hexdigest()
    print(f"  digest of the {len(costs)} costs: {digest[:16]}")


if __name__ == "__main__":
    from tinyengine_gen import cli

    cli.run(main, program="benchmarks/cost_model_speed.py")
