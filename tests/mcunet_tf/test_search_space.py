"""python -m mcunet_tf.search_space: output, files, the grid table and one-line failures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.shared_assets import PROJECT_ROOT


def _run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mcunet_tf.search_space", *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_ranks_spaces_and_writes_json_and_plot(tmp_path):
    result = _run("--sram_kb=320", "--flash_kb=1024", "--samples=4", "--top=3", "--processes=2", f"--out={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "108 spaces x 4 samples" in result.stdout and "mean MMACs" in result.stdout
    report = json.loads((tmp_path / "search_space_sram320_flash1024.json").read_text())
    assert report["budget"] == {"sram_bytes": 320 * 1024, "flash_bytes": 1024 * 1024}
    assert report["samples_per_space"] == 4 and report["best"] == report["ranking"][0]
    means = [s["mean_macs"] for s in report["ranking"]]
    assert means == sorted(means, reverse=True)
    assert (tmp_path / report["plot"]).read_bytes().startswith(b"\x89PNG")


def test_grid_prints_the_table(tmp_path):
    result = _run("--grid", "--samples=2", "--processes=2", f"--out={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "2048 kB" in result.stdout and "512 kB" in result.stdout
    cells = json.loads((tmp_path / "search_space_grid.json").read_text())["grid"]
    assert len(cells) == 24 and {(c["sram_kb"], c["flash_kb"]) for c in cells} >= {(192, 512), (512, 2048)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sram_kb=-5",), "flag --sram_kb=-5.0: must be a finite number greater than 0"),
        (("--flash_kb=nan",), "flag --flash_kb=nan: must be a finite number greater than 0"),
        (("--sram_kb=4",), "nothing in the search space fits"),
        (("--samples=0",), "flag --samples=0: must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = _run(*args, f"--out={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert list(tmp_path.iterdir()) == []
