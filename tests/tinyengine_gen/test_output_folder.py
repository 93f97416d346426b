"""The --out guard: never replace what we did not write; swap in only whole, successful outputs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_assets import PROJECT_ROOT
from tinyengine_gen.errors import OutputFolderError
from tinyengine_gen.codegen.output_folder import MARKER_NAME, check_output_folder, remove_dead_staging, staged_output, write_files

FILES = {"model.c": "int x;\n", "kernels/k.c": "int k;\n", "report.json": "{}\n"}


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _write(out: Path | str, files=FILES, protect=()) -> None:
    with staged_output(out, protect) as staging:
        write_files(staging, files)


def _user_folder(root: Path) -> Path:
    folder = root / "work"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "main.c").write_text("int main(void) { return 0; }\n")
    (folder / "model.tflite").write_bytes(b"TFL3")
    return folder


@pytest.mark.parametrize("out", [".", "", "sub/..", ".."])
def test_current_folder_its_ancestors_and_empty_are_refused(tmp_path, monkeypatch, out):
    folder = _user_folder(tmp_path)
    monkeypatch.chdir(folder)
    (folder / "sub").mkdir()
    before = _tree(tmp_path)
    with pytest.raises(OutputFolderError, match=r"current folder or one of its ancestors|--out is empty"):
        _write(out)
    assert _tree(tmp_path) == before


def test_folder_that_holds_the_model_is_refused(tmp_path, monkeypatch):
    folder = _user_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _tree(folder)
    with pytest.raises(OutputFolderError, match=r"--out=.*work holds the input .*model.tflite"):
        _write(folder, protect=[folder / "model.tflite"])
    with pytest.raises(OutputFolderError, match=r"is the input"):
        _write(folder / "model.tflite", protect=[folder / "model.tflite"])
    assert _tree(folder) == before


def test_foreign_non_empty_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = _user_folder(tmp_path)
    before = _tree(folder)
    with pytest.raises(OutputFolderError, match=rf"non-empty folder that tinyengine_gen did not write \(no {MARKER_NAME}"):
        _write(folder)
    assert _tree(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_file_is_refused_and_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(OutputFolderError, match="is a file, not a folder"):
        _write(tmp_path / "notes.txt")
    with pytest.raises(OutputFolderError, match="notes.txt is a file, so no folder can be made under it"):
        _write(tmp_path / "notes.txt" / "out")
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_read_only_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    _write(out)
    before = _tree(out)
    out.chmod(0o555)
    try:
        with pytest.raises(OutputFolderError, match="is read-only"):
            _write(out, {"other.c": ""})
        assert _tree(out) == before
    finally:
        out.chmod(0o755)


def test_mount_point_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "mnt"
    out.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out or real(p))
    with pytest.raises(OutputFolderError, match="is a mount point"):
        _write(out)


def test_previous_output_empty_folder_and_legacy_output_are_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    _write(out)
    assert (out / MARKER_NAME).is_file() and _tree(out)["model.c"] == b"int x;\n"
    _write(out, {"model.c": "int y;\n"})
    assert sorted(_tree(out)) == [MARKER_NAME, "model.c"]
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty)
    legacy = tmp_path / "legacy"  # written before the marker existed
    (legacy / "kernels").mkdir(parents=True)
    for name in ("model.c", "model.h", "report.json", "Makefile"):
        (legacy / name).write_text("old\n")
    _write(legacy)
    assert _tree(legacy)["model.c"] == b"int x;\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "legacy", "out"]


def test_failure_inside_the_block_keeps_the_old_output_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    _write(out)
    before = _tree(out)
    with pytest.raises(RuntimeError):
        with staged_output(out) as staging:
            write_files(staging, {"model.c": "half\n"})
            raise RuntimeError("the host build failed")
    assert _tree(out) == before
    with pytest.raises(RuntimeError):
        with staged_output(tmp_path / "new" / "deeper" / "out"):
            raise RuntimeError("failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_only_staging_of_dead_owners_is_removed(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = [f".out.tmp-{dead_pid}-ab12", f".out.old-{dead_pid}-cd34", f".out.tmp-{live.pid}-ef56", f".out.tmp-{os.getpid()}-0a0b"]
        for name in names:
            (tmp_path / name).mkdir()
        (tmp_path / ".other.tmp-1-ab").mkdir()
        removed = remove_dead_staging(out)
        assert sorted(p.name for p in removed) == sorted(names[:2])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".other.tmp-1-ab", *names[2:]])
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_modes_follow_the_umask(tmp_path, monkeypatch, umask):
    monkeypatch.chdir(tmp_path)
    old = os.umask(umask)
    try:
        _write(tmp_path / "out")
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((out / "kernels").stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((out / "model.c").stat().st_mode) == 0o666 & ~umask


def test_atomic_file_writes_follow_the_umask(tmp_path):
    from tinyengine_gen.atomic_io import write_text_atomically

    old = os.umask(0o022)
    try:
        write_text_atomically(tmp_path / "plot.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plot.txt").stat().st_mode) == 0o644


# Stages 40 files slowly, so that two of these overlap in time.
_SLOW_STAGER = """
import sys, time
from pathlib import Path
from tinyengine_gen.codegen.output_folder import staged_output, write_files
with staged_output(sys.argv[1]) as staging:
    for i in range(40):
        write_files(staging, {f"f{i:02d}.c": sys.argv[2]})
        time.sleep(0.02)
"""


def test_two_writers_at_once_each_leave_a_whole_output(tmp_path):
    out = tmp_path / "out"
    runs = [
        subprocess.Popen([sys.executable, "-c", _SLOW_STAGER, str(out), tag], cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)
        for tag in ("first", "second")
    ]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
    tree = _tree(out)
    assert len(tree) == 41  # 40 files and the marker, all from one writer
    assert len({content for name, content in tree.items() if name != MARKER_NAME}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_check_output_folder_returns_the_absolute_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_output_folder("build/model") == tmp_path.resolve() / "build" / "model"
