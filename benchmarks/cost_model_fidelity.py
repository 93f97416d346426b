"""Does the search's cost model equal the firmware? Predicted vs measured Flash, SRAM, instructions.

    .venv/bin/python benchmarks/cost_model_fidelity.py --subnets=12 [--board=mps2-an500] \\
        [--spaces=0.3:96,0.5:128,0.7:144] [--seed=0] [--json=OUT] [--speed_configs=400] [--patch=off|auto]

Samples ``--subnets`` sub-networks spread over the (W, R) spaces, prices each as the search
does (:class:`mcunet_tf.search.budget.Pricer` with the board's calibration: one compile of
the config's graph, no conversion), then exports each with :mod:`mcunet_tf.export`, builds
it with ``--target=cortex-m --board=B --layout=qemu`` and runs it under QEMU
(``-icount shift=0``). One row per sub-network: predicted and ELF Flash, predicted and ELF
SRAM, predicted and measured instructions, with the errors; then the mean and maximum
errors and Spearman's rank correlation of the instruction counts. With ``--patch=auto`` each
sub-network is priced and built with the patch schedule the engine picks (rows marked ``*``
are patch-based), as a search under a tight SRAM budget compiles them. The calibration
(``python -m mcunet_tf.calibrate``) samples with another seed, so these rows are held out.

Last, the search's pricing speed in the same run: configs per second (CPU of this process)
of ``Pricer.price`` against the previous way, replayed with the same cost model: the Flash
early exit priced every sketch in full, then each config was compiled twice (once for the
cost, once more for the latency estimate).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from mcunet_tf.cost_model import patch_options  # noqa: E402
from mcunet_tf.firmware_cost import firmware_cost_model  # noqa: E402
from mcunet_tf.firmware_measure import (  # noqa: E402
    load_measurements,
    measure_configs,
    sample_configs,
    save_measurements,
)
from mcunet_tf.sampling import sample_arch  # noqa: E402
from mcunet_tf.search.budget import Price, Pricer, SearchBudget  # noqa: E402
from mcunet_tf.space import SearchSpace  # noqa: E402
from mcunet_tf.subnet_graph import build_subnet_graph  # noqa: E402
from tinyengine_gen.atomic_io import write_json_atomically  # noqa: E402
from tinyengine_gen.firmware.toolchain import qemu_available, toolchain_available  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("subnets", 12, "Sub-networks to build and run (spread evenly over --spaces).")
flags.DEFINE_string("board", "mps2-an500", "Board profile (its calibration must be in the package).")
flags.DEFINE_string("spaces", "0.3:96,0.5:128,0.7:144", "(W, R) spaces, as W:R separated by commas.")
flags.DEFINE_integer("seed", 0, "Seed of the sampled sub-networks (calibration uses another).")
flags.DEFINE_string("json", None, "Also write the rows and summary to this JSON file.")
flags.DEFINE_integer("speed_configs", 400, "Configs priced for the speed comparison (0 skips it).")
flags.DEFINE_string(
    "measurements", None, "JSON of the builds' measurements: read where it exists (same sub-networks), else written."
)
flags.DEFINE_enum(
    "patch", "off", ["off", "auto"],
    "auto: price and build each sub-network with the patch schedule tinyengine_gen --patch=auto picks, "
    "as a search with --patch=auto does (--patch_max_overhead 0.2).",
)
flags.DEFINE_boolean("measure_only", False, "Build and run (writing --measurements), print nothing else.")


def _spearman(a: list[float], b: list[float]) -> float:
    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        result = np.empty(len(values))
        result[order] = np.arange(len(values))
        for value in set(values):  # ties share their mean rank
            tied = np.array(values) == value
            result[tied] = result[tied].mean()
        return result

    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1]) if len(a) > 1 else float("nan")


def _error(predicted: float, measured: float) -> float:
    return 100.0 * (predicted - measured) / measured


def _speed(space: SearchSpace, board: str, count: int) -> tuple[float, float]:
    """Configs/s (process CPU) of Pricer.price with the firmware model, and of cost + compile again + table."""
    rng = np.random.default_rng(1)
    configs = [sample_arch(space, rng, width=0.5, resolution=128) for _ in range(count)]
    budget = SearchBudget(sram_bytes=1 << 30, flash_bytes=1 << 30)
    one = Pricer(space, firmware=firmware_cost_model(board))
    two = Pricer(space)

    def previous(config) -> Price:
        """What Pricer.price did before: the Flash early exit priced every sketch in full, then
        the config was compiled for its cost and once more for the latency table."""
        model = two.cost_model
        sketch = build_subnet_graph(config, space, materialize=False)
        early = model._price_from_signatures(sketch)
        if early is not None and early.flash_bytes - model._fusable_bytes(sketch) > budget.flash_bytes * 1.1:
            return Price(early, None)
        cost = model.cost(config)
        return Price(cost, two.latency.estimate_ms(model.compile(config)))

    ways = (lambda c: one.price(c, budget), previous)
    for price in ways:
        for config in configs[: count // 4]:  # warm the operator memo, as the first configs of a search do
            price(config)
    rates: list[list[float]] = [[], []]
    for _ in range(3):  # alternate, best of three each: the least disturbed by other load
        for way, price in enumerate(ways):
            start = time.process_time()
            for config in configs:
                price(config)
            rates[way].append(len(configs) / (time.process_time() - start))
    return max(rates[0]), max(rates[1])


def main(argv: list[str]) -> None:
    del argv
    if not (toolchain_available() and qemu_available()):
        print("cost_model_fidelity: needs arm-none-eabi-gcc (with newlib) and qemu-system-arm", file=sys.stderr)
        sys.exit(2)
    spaces = [(float(w), int(r)) for w, r in (item.split(":") for item in FLAGS.spaces.split(","))]
    space = SearchSpace(num_classes=1000)
    per_space = -(-FLAGS.subnets // len(spaces))
    configs = sample_configs(space, spaces, per_space, FLAGS.seed)
    configs = [configs[i * per_space + j] for j in range(per_space) for i in range(len(spaces))][: FLAGS.subnets]
    cache = Path(FLAGS.measurements) if FLAGS.measurements else None
    if cache is not None and cache.is_file():
        measured = load_measurements(cache)
        if [m.config for m in measured] != configs:
            print(f"cost_model_fidelity: {cache} holds other sub-networks; remove it or change --measurements",
                  file=sys.stderr)
            sys.exit(2)
    else:
        print(f"building and running {len(configs)} sub-networks for {FLAGS.board} ...", flush=True)
        measured = measure_configs(
            space, configs, FLAGS.board, seed=FLAGS.seed, compile_options=patch_options(FLAGS.patch)
        )
        if cache is not None:
            save_measurements(cache, measured)
    if FLAGS.measure_only:
        return
    model = firmware_cost_model(FLAGS.board)
    pricer = Pricer(space, firmware=model, options=patch_options(FLAGS.patch))
    prices = [pricer.price(config).firmware for config in configs]
    print(model.describe(), flush=True)
    rows = []
    for index, (config, price, m) in enumerate(zip(configs, prices, measured)):
        assert price is not None
        rows.append(
            {
                "index": index,
                "width": config.width,
                "resolution": config.resolution,
                "patched": m.compiled.patch_decision is not None and m.compiled.patch_decision.stage is not None,
                "predicted_flash_bytes": price.flash_bytes,
                "elf_flash_bytes": m.elf_flash_bytes,
                "flash_error_pct": _error(price.flash_bytes, m.elf_flash_bytes),
                "predicted_sram_bytes": price.sram_bytes,
                "elf_sram_bytes": m.elf_sram_bytes,
                "sram_error_pct": _error(price.sram_bytes, m.elf_sram_bytes),
                "predicted_instructions": price.instructions,
                "measured_instructions": m.instructions,
                "instructions_error_pct": _error(price.instructions, m.instructions),
                "predicted_latency_ms": price.latency_ms,
            }
        )
    header = (
        f"{'#':>2} {'W':>4} {'R':>4} {'P':>1} | {'Flash pred':>10} {'ELF':>10} {'err%':>6} | {'SRAM pred':>9} {'ELF':>9} "
        f"{'err%':>6} | {'instr pred':>12} {'measured':>12} {'err%':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['index']:>2} {r['width']:>4g} {r['resolution']:>4} {'*' if r['patched'] else ' '} | "
            f"{r['predicted_flash_bytes']:>10,} "
            f"{r['elf_flash_bytes']:>10,} {r['flash_error_pct']:>+6.2f} | {r['predicted_sram_bytes']:>9,} "
            f"{r['elf_sram_bytes']:>9,} {r['sram_error_pct']:>+6.2f} | {r['predicted_instructions']:>12,} "
            f"{r['measured_instructions']:>12,} {r['instructions_error_pct']:>+6.1f}"
        )
    summary = {
        "board": FLAGS.board,
        "patch": FLAGS.patch,
        "patched_rows": sum(r["patched"] for r in rows),
        "subnets": len(rows),
        "spaces": sorted({f"{r['width']:g}:{r['resolution']}" for r in rows}),
        "flash_error_pct_max_abs": max(abs(r["flash_error_pct"]) for r in rows),
        "flash_below_elf_rows": sum(r["predicted_flash_bytes"] < r["elf_flash_bytes"] for r in rows),
        "sram_error_pct_max_abs": max(abs(r["sram_error_pct"]) for r in rows),
        "sram_below_elf_rows": sum(r["predicted_sram_bytes"] < r["elf_sram_bytes"] for r in rows),
        "instructions_error_pct_mean_abs": float(np.mean([abs(r["instructions_error_pct"]) for r in rows])),
        "instructions_error_pct_max_abs": max(abs(r["instructions_error_pct"]) for r in rows),
        "instructions_spearman": _spearman(
            [r["predicted_instructions"] for r in rows], [r["measured_instructions"] for r in rows]
        ),
        "cycles_per_instruction_assumed": model.cycles_per_instruction,
        "clock_hz": model.clock_hz,
    }
    print(
        f"Flash: max |error| {summary['flash_error_pct_max_abs']:.2f} %, rows below the ELF: "
        f"{summary['flash_below_elf_rows']}; SRAM: max |error| {summary['sram_error_pct_max_abs']:.2f} %, rows below: "
        f"{summary['sram_below_elf_rows']}"
    )
    print(
        f"instructions: mean |error| {summary['instructions_error_pct_mean_abs']:.1f} %, max "
        f"{summary['instructions_error_pct_max_abs']:.1f} %, Spearman {summary['instructions_spearman']:.3f} "
        f"(ms at {model.clock_hz / 1e6:g} MHz assume {model.cycles_per_instruction:g} cycles/instruction)"
    )
    if FLAGS.speed_configs > 0:
        now, before = _speed(space, FLAGS.board, FLAGS.speed_configs)
        summary.update(pricer_configs_per_s=now, previous_configs_per_s=before, pricer_speedup=now / before)
        print(
            f"search pricing: {now:.0f} configs/s (one compile, firmware model) vs {before:.0f} configs/s "
            f"(before: sketch priced in full, two compiles): x{now / before:.2f}"
        )
    if FLAGS.json:
        write_json_atomically(Path(FLAGS.json), {"rows": rows, "summary": summary})


if __name__ == "__main__":
    app.run(main)
