"""python -m tinyengine_gen: the project folder, report.json, and clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.model_factory import convert_int8, keras, tf
from tests.shared_assets import PROJECT_ROOT


@pytest.fixture(scope="module")
def conv_model(tmp_path_factory):
    def build():
        inputs = keras.Input((12, 12, 3), batch_size=1)
        return keras.Model(inputs, keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs))

    path = tmp_path_factory.mktemp("models") / "conv.tflite"
    path.write_bytes(convert_int8(build))
    return path


def _run_cli(*args: str, cwd=PROJECT_ROOT, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyengine_gen", *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line_exit_2(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_writes_project_and_report(conv_model, tmp_path):
    out = tmp_path / "out"
    result = _run_cli(f"--tflite={conv_model}", f"--out={out}", "--host_build")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} >= {"model.h", "model.c", "kernels", "report.json", "Makefile", "libmodel.so"}
    report = json.loads((out / "report.json").read_text())
    assert set(report) >= {"macs", "weights_bytes", "arena_bytes", "peak_sram_bytes", "ops"}
    assert report["macs"] == 6 * 6 * 8 * 3 * 3 * 3
    assert [op["name"] for op in report["ops"]] == ["CONV_2D"]
    assert report["ops"][0]["macs"] == report["macs"] and report["ops"][0]["live_bytes"] > 0
    assert f"#define TE_ARENA_BYTES {report['arena_bytes']}" in (out / "model.h").read_text()
    kernels = sorted(p.name for p in (out / "kernels").iterdir() if p.is_file())
    # Only the kernels a one-convolution model uses: convolution variants, the fixed-point header,
    # the GEMM variants its layers reach (te_gemm_config.h) and, in arm/, the Armv7E-M code of the
    # convolutions' GEMM core.
    assert "te_fixedpoint.h" in kernels and any(k.startswith("te_conv2d") and k.endswith(".c") for k in kernels)
    assert all(k.startswith(("te_conv2d", "te_fixedpoint", "te_gemm_config")) for k in kernels), kernels
    arm = sorted(p.name for p in (out / "kernels" / "arm").iterdir())
    assert {p.name for p in (out / "kernels").iterdir() if p.is_dir()} == {"arm"}
    assert arm and all(k.startswith(("te_gemm", "te_conv2d", "te_fixedpoint")) for k in arm), arm


def test_same_model_gives_identical_files(conv_model, tmp_path):
    for name in ("a", "b"):
        assert _run_cli(f"--tflite={conv_model}", f"--out={tmp_path / name}").returncode == 0
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative


def test_garbage_file_exit_2_one_line_no_output(tmp_path):
    bad = tmp_path / "garbage.tflite"
    bad.write_bytes(b"\x10\x00\x00\x00TFL3" + bytes(range(256)) * 4)
    out = tmp_path / "out"
    result = _run_cli(f"--tflite={bad}", f"--out={out}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "garbage.tflite" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["garbage.tflite"]


def test_truncated_file_exit_2(conv_model, tmp_path):
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(conv_model.read_bytes()[:300])
    result = _run_cli(f"--tflite={cut}", f"--out={tmp_path / 'out'}")
    assert result.returncode == 2 and "cut.tflite" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_float_model_is_refused_with_the_op_named(tmp_path):
    inputs = keras.Input((8, 8, 3), batch_size=1)
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    path = tmp_path / "float.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    result = _run_cli(f"--tflite={path}", f"--out={tmp_path / 'out'}")
    assert result.returncode == 2
    assert "float.tflite" in result.stderr and "CONV_2D" in result.stderr and "float32" in result.stderr
    assert not (tmp_path / "out").exists()


def test_failed_run_keeps_previous_output(conv_model, tmp_path):
    out = tmp_path / "out"
    assert _run_cli(f"--tflite={conv_model}", f"--out={out}").returncode == 0
    before = (out / "model.c").read_bytes()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all")
    assert _run_cli(f"--tflite={bad}", f"--out={out}").returncode == 2
    assert (out / "model.c").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tflite", "out"]


@pytest.fixture
def user_folder(conv_model, tmp_path) -> Path:
    """A user's working folder: sources, a git folder, and the model to compile."""
    folder = tmp_path / "work"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "main.c").write_text("int main(void) { return 0; }\n")
    (folder / "model.tflite").write_bytes(conv_model.read_bytes())
    return folder


@pytest.mark.parametrize(
    "out, why",
    [
        (".", "current folder or one of its ancestors"),
        ("", "--out is empty"),
        ("..", "current folder or one of its ancestors"),
        ("{work}", "current folder or one of its ancestors"),
        ("main.c", "is a file, not a folder"),
        ("{tmp}", "current folder or one of its ancestors"),
    ],
)
def test_out_that_would_delete_user_files_is_refused(user_folder, out, why):
    before = _tree(user_folder.parent)
    out = out.format(work=user_folder, tmp=user_folder.parent)
    result = _run_cli("--tflite=model.tflite", f"--out={out}", cwd=user_folder)
    _one_line_exit_2(result, why)
    assert _tree(user_folder.parent) == before


def test_out_that_holds_the_model_or_is_someone_elses_is_refused(user_folder, tmp_path):
    before = _tree(tmp_path)
    _one_line_exit_2(_run_cli(f"--tflite={user_folder / 'model.tflite'}", f"--out={user_folder}"), "holds the input")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("mine\n")
    before = _tree(tmp_path)
    _one_line_exit_2(_run_cli(f"--tflite={user_folder / 'model.tflite'}", f"--out={other}"), "did not write")
    assert _tree(tmp_path) == before


def _previous_output(conv_model, out: Path) -> dict[str, bytes]:
    assert _run_cli(f"--tflite={conv_model}", f"--out={out}").returncode == 0
    return _tree(out)


def test_failing_host_compiler_keeps_previous_output(conv_model, tmp_path):
    out = tmp_path / "out"
    before = _previous_output(conv_model, out)
    result = _run_cli(f"--tflite={conv_model}", f"--out={out}", "--host_build", env={**os.environ, "CC": "false"})
    _one_line_exit_2(result, f"{out.resolve()}: false could not build the generated project")
    assert ".out.tmp-" not in result.stderr  # names --out, not the staging folder that is gone
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    "flags, why",
    [
        (["--memory_plot={tmp}"], "is a folder; give a file name"),
        (["--memory_plot={tmp}/out/report.json/plot.png"], "is a file, not a folder"),
        (["--run_qemu"], "--run_qemu needs --target=cortex-m"),
        (["--prefer=size"], "--prefer"),
        (["--target=cortex-m", "--board=stm32f746", "--run_qemu"], "add --layout=qemu"),
    ],
)
def test_impossible_flags_are_refused_before_anything_is_written(conv_model, tmp_path, flags, why):
    out = tmp_path / "out"
    before = _previous_output(conv_model, out)
    result = _run_cli(f"--tflite={conv_model}", f"--out={out}", *[f.format(tmp=tmp_path) for f in flags])
    _one_line_exit_2(result, why)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_model_file_name_that_is_not_utf8(conv_model, tmp_path):
    name = os.fsdecode(b"\xffmodel.tflite")
    (tmp_path / name).write_bytes(conv_model.read_bytes())
    result = _run_cli(f"--tflite={name}", "--out=out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out" / "report.json").read_text())["model"] == "\\xffmodel.tflite"
    _one_line_exit_2(_run_cli(f"--tflite={name}x", "--out=out2", cwd=tmp_path), "\\xffmodel.tflitex: cannot read")


def test_environment_errors_are_one_line(conv_model, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "sub").mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions are not enforced")
        _one_line_exit_2(_run_cli(f"--tflite={conv_model}", f"--out={locked / 'out'}"), "permission denied")
        _one_line_exit_2(_run_cli(f"--tflite={conv_model}", f"--out={locked / 'sub'}"), "sub")
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(
    "error, expected",
    [
        (OSError(28, "No space left on device", "/data/out/model.c"), "/data/out/model.c: No space left on device"),
        (OSError(18, "Invalid cross-device link", "/a", None, "/mnt/b"), "/a -> /mnt/b: Invalid cross-device link"),
        (NotADirectoryError(20, "Not a directory", os.fsdecode(b"/x/\xff")), "/x/\\xff: Not a directory"),
    ],
)
def test_environment_errors_become_one_line(capsys, error, expected):
    from tinyengine_gen.cli import report_user_errors

    def fail():
        raise error

    with pytest.raises(SystemExit) as exit_info:
        report_user_errors("prog", fail)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"prog: error: {expected}\n"
