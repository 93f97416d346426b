"""python -m mcunet_tf.train_supernet: a short run writes a supernet folder; bad input is one line, status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "mcunet_tf.train_supernet", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_short_run_writes_manifest_history_and_checkpoint(tmp_path):
    out = tmp_path / "supernet"
    result = _run(
        "--dataset=toy",
        "--width=0.2",
        "--resolution=16",
        "--epochs=1",
        "--steps_per_epoch=2",
        "--batch_size=8",
        "--toy_train=32",
        "--eval_batches=1",
        "--num_random=1",
        f"--out={out}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((out / "supernet.json").read_text())
    assert manifest["width"] == 0.2 and manifest["data"]["name"] == "toy" and len(manifest["space"]["stages"]) == 4
    assert [e["epoch"] for e in json.loads((out / "history.json").read_text())] == [0]
    assert (out / "checkpoints" / "checkpoint").is_file()
    assert "supernet in" in result.stdout


def test_a_dataset_without_its_folder_is_one_line_and_status_2(tmp_path):
    """The error comes after TensorFlow is imported (6 lines of native log in 2.21, whatever TF_CPP_MIN_LOG_LEVEL)."""
    result = _run("--dataset=vww", f"--out={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "train_supernet: error: dataset 'vww' needs --data_dir (the folder that holds it)."
    ]
