"""Killing ``python -m tinyengine_gen`` mid-write never leaves a half-written ``--out`` folder.

The project is written to a hidden temporary sibling and renamed into place at the end
(:func:`tinyengine_gen.codegen.project.write_project`). Here the process is SIGKILLed while
files are being written (held there by a slowed-down ``fsync``) and at a spread of
moments in a normal run: the target is then either absent, the previous complete
output, or the new complete output, never a mixture.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.model_factory import convert_int8, keras
from tests.shared_assets import PROJECT_ROOT

# Runs the real command line with os.fsync slowed down: after the second file it says so
# on stdout and sleeps, so the parent can kill it with the project half written.
_SLOW_WRITER = """
import os, sys, time
from absl import app
from tinyengine_gen.__main__ import main

real_fsync, written = os.fsync, []

def slow_fsync(fd):
    real_fsync(fd)
    written.append(fd)
    if len(written) == 2:
        print("HALF-WRITTEN", flush=True)
        time.sleep(300)

os.fsync = slow_fsync
sys.argv = ["tinyengine_gen", "--tflite=" + sys.argv[1], "--out=" + sys.argv[2]]
app.run(main)
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    def build():
        inputs = keras.Input((10, 10, 3), batch_size=1)
        x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(x)))

    path = tmp_path_factory.mktemp("models") / "small.tflite"
    path.write_bytes(convert_int8(build))
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyengine_gen", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )


def _kill_half_written(model: Path, out: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(model), str(out)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "HALF-WRITTEN", child.stderr.read() if child.stderr else ""
        staging = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp-")]
        assert staging and any(p.is_file() for p in staging[0].rglob("*")), "the kill must land mid-write"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_kill_mid_write_leaves_no_target(model, tmp_path):
    out = tmp_path / "out"
    _kill_half_written(model, out)
    assert not out.exists()
    assert _visible(tmp_path) == []  # only the hidden staging folder of the killed run remains


def test_kill_mid_write_keeps_the_previous_output_whole(model, tmp_path):
    out = tmp_path / "out"
    assert _cli(f"--tflite={model}", f"--out={out}").returncode == 0
    before = _files(out)
    (out / "model.c").write_bytes(before["model.c"] + b"/* earlier run */\n")
    before = _files(out)
    _kill_half_written(model, out)
    assert _files(out) == before
    # and the next run replaces it whole
    assert _cli(f"--tflite={model}", f"--out={out}").returncode == 0
    assert b"earlier run" not in (out / "model.c").read_bytes()
    assert _visible(tmp_path) == ["out"]


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2, 1.6, 2.0, 3.0])
def test_sigkill_at_any_moment_leaves_absent_or_complete_output(model, tmp_path, delay):
    reference = tmp_path / "reference"
    assert _cli(f"--tflite={model}", f"--out={reference}").returncode == 0
    expected = _files(reference)
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-m", "tinyengine_gen", f"--tflite={model}", f"--out={out}"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert not out.exists() or _files(out) == expected


# --- the firmware path: a kill during the cross build, and two builds into one folder at once

_FIRMWARE = ("--target=cortex-m", "--board=stm32f746")


def _staging(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def test_kill_during_firmware_build_keeps_previous_output_and_next_run_cleans_up(model, tmp_path):
    from tests.tinyengine_gen.firmware._firmware_models import require_toolchain

    require_toolchain()
    out = tmp_path / "out"
    assert _cli(f"--tflite={model}", f"--out={out}").returncode == 0
    before = _files(out)
    child = subprocess.Popen(
        [sys.executable, "-m", "tinyengine_gen", f"--tflite={model}", f"--out={out}", *_FIRMWARE],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any((p / out.name / "firmware" / "build").is_dir() for p in _staging(out)):
            assert child.poll() is None and time.monotonic() < deadline, "the cross build never started"
            time.sleep(0.05)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the run and its make / gcc children, mid-build
        child.wait(timeout=60)
    assert _files(out) == before
    assert _staging(out), "the killed run leaves its staging folder"
    assert _cli(f"--tflite={model}", f"--out={out}").returncode == 0  # its owner is gone: removed
    assert _staging(out) == [] and _visible(tmp_path) == ["out"]
    assert _files(out) == before


def test_two_firmware_builds_into_one_folder_at_once_both_leave_it_whole(model, tmp_path):
    from tests.tinyengine_gen.firmware._firmware_models import require_toolchain

    require_toolchain()
    out = tmp_path / "out"
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "tinyengine_gen", f"--tflite={model}", f"--out={out}", *_FIRMWARE, f"--input_cases={n}"],
            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for n in (1, 2)
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read() if run.stderr else ""
    report = json.loads((out / "report.json").read_text())
    assert report["firmware"]["input_cases"] in (1, 2)
    assert (out / "firmware" / "fw.elf").is_file() and (out / "model.c").is_file()
    assert _staging(out) == [] and _visible(tmp_path) == ["out"]
