"""The lint configuration in pyproject.toml ([tool.ruff]) holds for the whole tree.

Runs in the default suite, so CI (``bash run.sh test``) fails on a new lint error. ruff
comes with the ``test`` extra; where it is not installed the test skips and says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["tinyengine_gen", "tflm_backend", "mcunet_tf", "datasets", "tests", "benchmarks"]


def _ruff() -> str:
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.is_file() else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    return found


def test_ruff_finds_nothing():
    result = subprocess.run([_ruff(), "check", "--no-cache", *PACKAGES], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
