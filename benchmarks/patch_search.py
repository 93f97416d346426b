"""Search-space optimisation with and without patch-based memory (MCUNetV2), at tight SRAM budgets.

    .venv/bin/python benchmarks/patch_search.py [--samples=100] [--sram_kb=32,64,128] [--flash_kb=1024]
        [--out=out/patch_search] [--pipeline]

Samples every (W, R) space once per memory model (``--patch=off``: layer-wise peak;
``--patch=auto``: the peak of the schedule ``tinyengine_gen --patch=auto`` compiles, MACs
with its recomputed halos), ranks the spaces under each SRAM budget and prints, per budget,
the best (W, R), its fitting fraction and the mean MACs of its fitting sub-networks for both,
and their ratio. ``patch_search_cdf.png`` draws, per budget, the CDF of the fitting MACs of
both best spaces in one panel (the MCUNet paper's FLOPs-CDF figure). ``--pipeline`` also runs
the main job (toy task) at the first budget with ``--patch=auto`` and ``--patch=off`` and
prints both best accuracies (minutes each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from mcunet_tf.cost_model import patch_options  # noqa: E402
from mcunet_tf.space import SearchSpace  # noqa: E402
from mcunet_tf.space.ranking import KIB, Budget, rank_spaces, sample_spaces  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("samples", 100, "Sub-networks sampled per (W, R) space.")
flags.DEFINE_list("sram_kb", ["32", "64", "128"], "SRAM budgets in kB.")
flags.DEFINE_float("flash_kb", 1024, "Flash budget in kB.")
flags.DEFINE_float("patch_max_overhead", 0.2, "MAC bound of the patch schedules.")
flags.DEFINE_integer("processes", 0, "Worker processes (0: one per core).")
flags.DEFINE_string("out", "out/patch_search", "Folder for the JSON figures and the CDF plot.")
flags.DEFINE_boolean("pipeline", False, "Also run the main job at the first budget with and without patching.")

MODES = ("off", "auto")


def _rank_all(space: SearchSpace, budgets: list[Budget]) -> dict[str, list]:
    results = {}
    for mode in MODES:
        started = time.perf_counter()
        samples = sample_spaces(
            space, FLAGS.samples, 0, processes=FLAGS.processes or None,
            flash_limit=budgets[0].flash_bytes, sram_limit=max(b.sram_bytes for b in budgets),
            options=patch_options(mode, FLAGS.patch_max_overhead),
        )
        print(f"--patch={mode}: {len(samples)} spaces x {FLAGS.samples} samples in {time.perf_counter() - started:.0f} s")
        results[mode] = [rank_spaces(samples, budget) for budget in budgets]
    return results


def _plot(path: Path, budgets: list[Budget], best: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(1, len(budgets), figsize=(4.2 * len(budgets), 3.6), dpi=110, squeeze=False)
    for axis, budget, index in zip(axes[0], budgets, range(len(budgets))):
        for mode, style in zip(MODES, ("--", "-")):
            score = best[mode][index]
            if score is None:
                continue
            macs = np.array(score.fitting_macs) / 1e6
            label = f"{'patch-based' if mode == 'auto' else 'layer-wise'}: W{score.width:g} R{score.resolution}"
            axis.plot(macs, np.arange(1, len(macs) + 1) / len(macs), style, label=label)
        axis.set_title(f"SRAM {budget.sram_bytes // KIB} kB")
        axis.set_xlabel("MMACs of fitting sub-networks")
        axis.set_ylabel("CDF")
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)


def _pipeline_accuracy(sram_kb: float, mode: str, out: Path) -> float | None:
    folder = out / f"pipeline_sram{sram_kb:g}_{mode}"
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    command = [sys.executable, "-m", "mcunet_tf.pipeline", f"--out={folder}", f"--sram_kb={sram_kb:g}", f"--patch={mode}"]
    if subprocess.run(command, env=env, check=False).returncode != 0:
        return None
    result = json.loads((folder / "search" / "result.json").read_text())
    return float(result["best"]["val_accuracy"])


def main(argv: list[str]) -> None:
    del argv
    budgets = [Budget.from_kb(float(s), FLAGS.flash_kb) for s in FLAGS.sram_kb]
    ranked = _rank_all(SearchSpace(), budgets)
    best = {mode: [r[0] if r else None for r in ranked[mode]] for mode in MODES}
    print(f"{'SRAM':>6}  {'layer-wise best':>16} {'fit':>5} {'mean MMACs':>10}  {'patch-based best':>16} {'fit':>5} "
          f"{'mean MMACs':>10}  {'ratio':>6}")
    rows = []
    for index, budget in enumerate(budgets):
        off, auto = best["off"][index], best["auto"][index]

        def cell(score):
            if score is None:
                return f"{'nothing fits':>16} {'-':>5} {'-':>10}"
            return f"{f'W{score.width:g} R{score.resolution}':>16} {score.fitting_fraction:>5.0%} {score.mean_macs / 1e6:>10.1f}"

        ratio = auto.mean_macs / off.mean_macs if off and auto else float("nan")
        print(f"{budget.sram_bytes // KIB:>4}kB  {cell(off)}  {cell(auto)}  {ratio:>6.2f}")
        rows.append({"sram_kb": budget.sram_bytes // KIB, "off": off.to_dict() if off else None,
                     "auto": auto.to_dict() if auto else None, "mean_macs_ratio": ratio})
    out = Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    _plot(out / "patch_search_cdf.png", budgets, best)
    report = {"samples": FLAGS.samples, "flash_kb": FLAGS.flash_kb, "budgets": rows}
    if FLAGS.pipeline:
        sram = budgets[0].sram_bytes / KIB
        report["pipeline"] = {mode: _pipeline_accuracy(sram, mode, out) for mode in MODES}
        print(f"main job at SRAM {sram:g} kB: best accuracy {report['pipeline']}")
    (out / "patch_search.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out / 'patch_search.json'} and patch_search_cdf.png")


if __name__ == "__main__":
    app.run(main)
