"""python -m mcunet_tf.search: bad input is one line on stderr and exit status 2, before any trial."""

from __future__ import annotations

from tests.mcunet_tf.search._cli import run_search_cli
from tests.mcunet_tf.search.conftest import toy_supernet_job


def test_a_budget_nothing_fits_is_reported_in_one_line(tmp_path):
    toy_supernet_job(tmp_path / "supernet").manifest().write(tmp_path / "supernet")
    result = run_search_cli(tmp_path / "supernet", tmp_path / "search", 4, "--sram_kb=2", timeout=300)
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("search: error: budget: not even the smallest sub-network of W=0.3, R=32 fits SRAM 2 kB")
    assert not (tmp_path / "search").exists() or not list((tmp_path / "search").rglob("trial.json"))


def test_a_folder_that_is_not_a_supernet_is_reported(tmp_path):
    result = run_search_cli(tmp_path, tmp_path / "search", 4, timeout=300)
    assert result.returncode == 2
    assert "no supernet.json; pass the --out folder of python -m mcunet_tf.train_supernet" in result.stderr
