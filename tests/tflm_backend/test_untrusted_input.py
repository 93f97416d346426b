"""compare and diff on hostile input: one line and exit 2, never a traceback or TFLM's abort.

Stock TFLite Micro aborts (SIGABRT) on a SOFTMAX without options and crashes (SIGSEGV) on
an offline-plan metadata entry pointing at a buffer that does not exist: a vector our
reader never reads. The command lines run TFLM on such files in a child process first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.tiny_model import pack, tiny_tree
from tests.shared_assets import PROJECT_ROOT
from tests.tinyengine_gen.test_hostile_models import _softmax_tree
from tflm_backend.tflm_probe import probe_tflm
from tflm_backend.tflm_runner import TflmModel, TflmRefusedError
from tinyengine_gen.frontend.schema import schema


def _bad_metadata() -> bytes:
    """The tiny model with an OfflineMemoryAllocation entry naming buffer 99 (there are 3)."""
    tree = tiny_tree()
    entry = schema.MetadataT()
    entry.name, entry.buffer = b"OfflineMemoryAllocation", 99
    tree.metadata = [entry]
    return pack(tree)


def _unallocatable() -> bytes:
    """The tiny model whose operator names intermediate tensor 99: TFLM cannot allocate it."""
    tree = tiny_tree()
    tree.subgraphs[0].operators[0].intermediates = [99]
    return pack(tree)


def _cli(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )


def _one_line_exit_2(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    for word in words:
        assert word in result.stderr, result.stderr


def test_probe_reports_tflm_abort_and_refusal_as_one_error():
    probe_tflm(pack(tiny_tree()), "tiny.tflite")  # a model TFLM runs: no error
    with pytest.raises(TflmRefusedError, match=r"^sm.tflite: stock TFLite Micro crashed \(SIGABRT\)"):
        probe_tflm(pack(_softmax_tree(with_options=False)), "sm.tflite")
    with pytest.raises(TflmRefusedError, match=r"^meta.tflite: stock TFLite Micro crashed \(SIGSEGV\)"):
        probe_tflm(_bad_metadata(), "meta.tflite")
    with pytest.raises(TflmRefusedError, match=r"^i.tflite: stock TFLite Micro cannot load the model: .*allocate"):
        probe_tflm(_unallocatable(), "i.tflite")


def test_in_process_refusal_is_a_typed_error():
    with pytest.raises(TflmRefusedError, match=r"^x.tflite: stock TFLite Micro cannot load the model"):
        TflmModel(_unallocatable(), source="x.tflite")


@pytest.mark.parametrize(
    "case, words",
    [
        pytest.param("missing", ["missing.tflite", "No such file"], marks=pytest.mark.slow),
        pytest.param("directory", ["folder", "directory"], marks=pytest.mark.slow),
        ("json_directory", ["--json=", "is a folder"]),
        ("bad_metadata", ["bad_metadata.tflite: stock TFLite Micro crashed (SIGSEGV)"]),
        pytest.param("unallocatable", ["unallocatable.tflite: stock TFLite Micro cannot load"], marks=pytest.mark.slow),
    ],
)
def test_compare_on_untrusted_input(tmp_path, case, words):
    model = tmp_path / f"{case}.tflite"
    args = [f"--tflite={model}", "--inputs=1", "--repeats=3"]
    if case == "directory":
        model = tmp_path / "folder"
        model.mkdir()
        args[0] = f"--tflite={model}"
    elif case == "json_directory":
        model.write_bytes(pack(tiny_tree()))
        args.append(f"--json={tmp_path}")
    elif case == "bad_metadata":
        model.write_bytes(_bad_metadata())
    elif case == "unallocatable":
        model.write_bytes(_unallocatable())
    _one_line_exit_2(_cli("tflm_backend.compare", *args), *words)


@pytest.mark.parametrize("case", ["bad_metadata", pytest.param("json_directory", marks=pytest.mark.slow)])
def test_diff_on_untrusted_input(tmp_path, case):
    model = tmp_path / "m.tflite"
    model.write_bytes(_bad_metadata() if case == "bad_metadata" else pack(tiny_tree()))
    args = [f"--tflite={model}"] + ([f"--json={tmp_path}"] if case == "json_directory" else [])
    words = ["m.tflite: stock TFLite Micro crashed (SIGSEGV)"] if case == "bad_metadata" else ["is a folder"]
    _one_line_exit_2(_cli("tflm_backend.diff", *args), *words)
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["m.tflite"]
