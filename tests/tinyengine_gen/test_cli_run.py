"""tinyengine_gen.cli.run: absl's flag errors and positional arguments become one line and exit 2; quiet start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.shared_assets import PROJECT_ROOT
from tinyengine_gen.cli import _native_stderr_held_back


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyengine_gen", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["extra"], "unexpected argument 'extra': every option is a flag written --name=value"),
        (["--patch_max_overhead=nan"], "flag --patch_max_overhead=nan: must be a finite number, 0 or more"),
        (["--boards=x"], "Unknown command line flag 'boards'. Did you mean: board ?"),
    ],
)
def test_flag_errors_are_one_line_and_exit_2_not_absl_usage(tmp_path, args, line):
    """absl alone: exit 1 and 2 lines, or (a positional argument) the 58-line module docstring."""
    result = _run("--tflite=m.tflite", "--out=o", *args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"tinyengine_gen: error: {line} (see --helpshort)"]
    assert result.stdout == ""


def test_native_stderr_is_held_back_and_replayed_only_on_failure(capfd):
    """What hides TensorFlow's start-up log (written by C++ to file descriptor 2) unless the import fails."""
    with _native_stderr_held_back():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on\n")
    assert capfd.readouterr().err == ""
    with pytest.raises(ImportError), _native_stderr_held_back():
        os.write(2, b"why the import failed\n")
        raise ImportError("broken")
    assert capfd.readouterr().err == "why the import failed\n"
