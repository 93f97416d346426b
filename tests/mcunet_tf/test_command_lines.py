"""The NAS command lines: every bad flag is one line on stderr, exit status 2, before any work.

Each case runs the real command in a child process (flag errors come before TensorFlow is
imported, so a case takes about a second). That an error raised after TensorFlow has been
imported is still exactly one line is checked in tests/mcunet_tf/training/test_train_cli.py
and tests/mcunet_tf/search/test_fatal_errors.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(module: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the command must quiet TensorFlow
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _one_error_line(result: subprocess.CompletedProcess, program: str) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"{program}: error: ")
    return lines[0][len(f"{program}: error: ") :]


CASES = [
    # (module, program, flags, what the one line starts with)
    ("mcunet_tf.search", "search", ["--supernet=S", "--sram_kb=nan"], "flag --sram_kb=nan: must be a finite number"),
    ("mcunet_tf.search", "search", ["--supernet=S", "--trials=-3"], "flag --trials=-3: -3 is not a positive integer"),
    ("mcunet_tf.search", "search", ["--supernet=S", "--batch_size=0"], "flag --batch_size=0: 0 is not a positive"),
    ("mcunet_tf.search", "search", ["--supernet=S", "--mutation_prob=-1"], "flag --mutation_prob=-1.0: must be a number"),
    ("mcunet_tf.search", "search", ["--supernet=S", "--project_dir=FILE"], "flag --project_dir=FILE: is a file"),
    ("mcunet_tf.search", "search", [], "flag --supernet=None: is required: pass the --out folder of python -m"),
    ("mcunet_tf.search", "search", ["--supernet=S", "--sram_kb=1", "extra"], "unexpected argument 'extra': every"),
    ("mcunet_tf.train_supernet", "train_supernet", ["--epochs=0"], "flag --epochs=0: 0 is not a positive integer"),
    ("mcunet_tf.train_supernet", "train_supernet", ["--out=FILE"], "flag --out=FILE: is a file"),
    ("mcunet_tf.pipeline", "pipeline", ["--sram_kb=nan"], "flag --sram_kb=nan: must be a finite number"),
    ("mcunet_tf.pipeline", "pipeline", ["--trials=-3"], "flag --trials=-3: -3 is not a positive integer"),
    ("mcunet_tf.pipeline", "pipeline", ["--epochs=0"], "flag --epochs=0: 0 is not a positive integer"),
    ("mcunet_tf.pipeline", "pipeline", ["--out=FILE/sub"], "flag --out=FILE/sub: is a file (or lies under one)"),
    ("mcunet_tf.search_space", "search_space", ["--min_fitting_fraction=2"], "flag --min_fitting_fraction=2.0:"),
    ("mcunet_tf.quickstart", "mcunet_tf.quickstart", ["--out=FILE"], "flag --out=FILE: is a file"),
]


@pytest.mark.parametrize(("module", "program", "args", "expected"), CASES, ids=[" ".join(c[2]) or c[0] for c in CASES])
def test_a_bad_flag_is_one_line_exit_2_and_nothing_written(tmp_path, module, program, args, expected):
    user_file = tmp_path / "precious.txt"
    user_file.write_text("user data")
    work = tmp_path / "work"
    args = [a.replace("FILE", str(user_file)).replace("=S", f"={tmp_path / 'supernet'}") for a in args]
    outputs = [f"--out={work}"] if module != "mcunet_tf.search" else [f"--project_dir={work}"]
    if any(a.startswith(("--out=", "--project_dir=")) for a in args):
        outputs = []
    line = _one_error_line(_run(module, *outputs, *args), program)
    assert line.startswith(expected.replace("FILE", str(user_file)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt"]
    assert user_file.read_text() == "user data"


def test_the_algorithm_flag_lists_the_search_algorithms():
    from mcunet_tf.search.run import ALGORITHMS

    line = _one_error_line(_run("mcunet_tf.search", "--supernet=x", "--algorithm=?"), "search")
    assert line.endswith(f"value should be one of <{'|'.join(ALGORITHMS)}> (see --helpshort)")
