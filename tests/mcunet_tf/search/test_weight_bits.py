"""The search prices Flash at the budget's weight bits (``--weight_bits=4``: packed two per
byte), in the oracle that rejects configs over budget and in the trial metrics alike."""

from __future__ import annotations

from mcunet_tf.search.budget import SearchBudget
from mcunet_tf.search.run import SearchJob, make_oracle
from mcunet_tf.search.tuner import SubnetTuner
from mcunet_tf.supernet import largest_arch
from tests.mcunet_tf.search.conftest import RESOLUTION, WIDTH, toy_supernet_job


def _oracle_and_tuner(tmp_path, bits):
    supernet = tmp_path / "supernet"
    manifest = toy_supernet_job(supernet).manifest()
    manifest.write(supernet)
    budget = SearchBudget(sram_bytes=64 * 1024, flash_bytes=1024 * 1024, weight_bits=bits)
    job = SearchJob(supernet=supernet, budget=budget, trials=2, project_dir=tmp_path / f"search{bits}",
                    population_size=2, patch="off")
    oracle = make_oracle(job, manifest)
    tuner = SubnetTuner(oracle, supernet, project_dir=job.project_dir, weight_bits=job.budget.weight_bits)
    return manifest, oracle, tuner


def test_oracle_and_trial_metrics_price_flash_at_four_bits(tmp_path):
    prices = {}
    for bits in (8, 4):
        manifest, oracle, tuner = _oracle_and_tuner(tmp_path / str(bits), bits)
        config = largest_arch(manifest.space, WIDTH, RESOLUTION)
        oracle_flash = oracle.pricer.price(config).cost.flash_bytes
        assert tuner.pricer(manifest.space).price(config).cost.flash_bytes == oracle_flash
        prices[bits] = oracle_flash
    ratio = prices[4] / prices[8]
    assert ratio < 0.8, prices  # the weights halve; code, biases and multipliers do not
