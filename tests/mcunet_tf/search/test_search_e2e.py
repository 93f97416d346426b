"""End to end on the toy task: train a supernet, search under a tight budget, and confirm the winner fits.

The cost model says the best config fits; then the extracted sub-network is converted to
int8 TFLite with mcunet_tf.export and compiled by tinyengine_gen, whose own report must
agree: the generated arena is within the SRAM budget and the weights within Flash.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from mcunet_tf.arch import ArchConfig
from mcunet_tf.export import ExportOptions, export_int8
from mcunet_tf.search.budget import Pricer, SearchBudget
from mcunet_tf.search.run import SearchJob, run_search
from mcunet_tf.search.tuner import EvaluationOptions
from mcunet_tf.space.ranking import KIB
from mcunet_tf.training.checkpointing import load_supernet
from mcunet_tf.training.data import load_split
from mcunet_tf.training.evaluation import recalibrated_subnet
from mcunet_tf.training.shrinking import SubnetSampler
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.frontend.reader import read_model_bytes

SRAM_KB, FLASH_KB = 11.0, 80.0  # the W=0.3, R=32 tiny space spans 8 to 19 kB and 27 to 175 kB


def test_search_under_a_tight_budget_returns_a_config_tinyengine_confirms(toy_supernet, tmp_path):
    budget = SearchBudget.from_kb(SRAM_KB, FLASH_KB)
    job = SearchJob(
        toy_supernet,
        budget,
        trials=6,
        project_dir=tmp_path / "search",
        population_size=4,
        evaluation=EvaluationOptions(batch_size=64, calibration_batches=2, eval_examples=128),
    )
    outcome = run_search(job, log=lambda _: None)

    supernet, manifest, _ = load_supernet(toy_supernet)
    sampler = SubnetSampler(manifest.space, manifest.width, manifest.resolution)
    assert not budget.fits(Pricer(manifest.space).price(sampler.largest())), "the budget must be tight"
    assert outcome.stats["trials"] == 6 and outcome.stats["rejected_over_budget"] > 0
    rows = list(csv.DictReader(outcome.files["trials.csv"].read_text().splitlines()))
    assert len(rows) == 6 and all(
        float(r["peak_sram_kb"]) <= SRAM_KB and float(r["flash_kb"]) <= FLASH_KB for r in rows
    )
    best = json.loads(outcome.files["best_config.json"].read_text())
    assert best["val_accuracy"] == pytest.approx(max(float(r["val_accuracy"]) for r in rows), abs=1e-6)
    assert outcome.files["pareto.png"].read_bytes()[:4] == b"\x89PNG"
    assert len(list(csv.DictReader(outcome.files["pareto.csv"].read_text().splitlines()))) >= 1

    config = ArchConfig.from_dict(best["arch"])
    price = Pricer(manifest.space).price(config)
    assert budget.fits(price)

    train = load_split(manifest.data, "train")
    calibration = train.take_images(32, 2)
    model = recalibrated_subnet(supernet, config, calibration)
    exported = export_int8(
        model, [(np.concatenate(calibration), None)], ExportOptions(calibration_samples=32, verify_inputs=0)
    )
    report = generate(read_model_bytes(exported.model, source="best.tflite")).report
    assert report["peak_sram_bytes"] == price.cost.peak_sram_bytes <= SRAM_KB * KIB
    assert report["weights_bytes"] <= price.cost.weights_bytes <= FLASH_KB * KIB
    assert report["macs"] == price.cost.macs


@pytest.mark.slow
def test_the_searched_config_builds_and_matches_tflite_micro_bit_for_bit(toy_supernet):
    """The full export check: gcc builds the generated C and its outputs equal stock TFLM's."""
    supernet, manifest, _ = load_supernet(toy_supernet)
    config = SubnetSampler(manifest.space, manifest.width, manifest.resolution).smallest()
    calibration = load_split(manifest.data, "train").take_images(32, 2)
    model = recalibrated_subnet(supernet, config, calibration)
    exported = export_int8(
        model, [(np.concatenate(calibration), None)], ExportOptions(calibration_samples=32, verify_inputs=2)
    )
    assert exported.inputs_checked == 2
    assert exported.report["peak_sram_bytes"] == Pricer(manifest.space).price(config).cost.peak_sram_bytes
