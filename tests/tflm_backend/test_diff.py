"""tflm_backend.diff: per-op comparison of TFLM, TFLite, the numpy plans and the instrumented C."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from tests.model_factory import convert_int8, keras
from tests.shared_assets import PROJECT_ROOT
from tflm_backend.diff import diff_model, format_table, instrument_source
from tinyengine_gen.compiler import CompileOptions, compile_graph
from tinyengine_gen.frontend.reader import read_model_bytes


def _build():
    layers = keras.layers
    x = keras.Input((10, 10, 3))
    y = layers.Conv2D(6, 3, activation="relu")(layers.ZeroPadding2D(2)(x))  # a PAD the converter keeps and we fold
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = layers.Add()([y, layers.Conv2D(6, 1)(y)])
    y = layers.Dense(4)(layers.GlobalAveragePooling2D()(y))
    return keras.Model(x, layers.Softmax()(y))


@pytest.fixture(scope="module")
def model() -> bytes:
    return convert_int8(_build)


def _op_index(model: bytes, opcode: str) -> int:
    return next(op.index for op in read_model_bytes(model).operators if op.opcode == opcode)


def test_identical_model_has_no_difference(model, tmp_path):
    result = diff_model(model, seed=1, work_dir=tmp_path)
    assert result.first_difference is None
    opcodes = [row.opcode for row in result.rows]
    assert opcodes[:2] == ["PAD", "CONV_2D"] and "SOFTMAX" in opcodes
    pad = result.rows[0]
    assert not pad.cells["C"].available and not pad.cells["numpy"].available  # folded into the convolution
    assert all(row.cells[r].available for row in result.rows[1:] for r in ("TFLM", "TFLite ref", "numpy", "C"))
    table = format_table(result)
    assert table.splitlines()[-1] == "all runtimes agree on every op output"
    assert "DEPTHWISE_CONV_2D" in table and (tmp_path / "instrumented" / "libmodel.so").is_file()


def test_a_corrupted_multiplier_is_found_at_its_op(model, tmp_path):
    depthwise = _op_index(model, "DEPTHWISE_CONV_2D")
    compiled = compile_graph(read_model_bytes(model))
    plans = tuple(
        dataclasses.replace(p, multipliers=np.asarray(p.multipliers) // 2) if p.op_index == depthwise else p
        for p in compiled.plans
    )
    result = diff_model(model, seed=1, compiled=dataclasses.replace(compiled, plans=plans), work_dir=tmp_path)
    first = result.first_difference
    assert first is not None and first.op_index == depthwise and first.opcode == "DEPTHWISE_CONV_2D"
    assert first.cells["C"].differs and first.cells["numpy"].differs and not first.cells["TFLite ref"].differs
    assert first.cells["C"].max_abs_diff > 0
    assert f"first difference: op {depthwise} (DEPTHWISE_CONV_2D)" in format_table(result)


def test_a_wrong_numpy_reference_is_found_and_c_stays_exact(model, tmp_path, monkeypatch):
    add = _op_index(model, "ADD")
    compiled = compile_graph(read_model_bytes(model), CompileOptions(fuse_residual_add=False))
    plan_type = type(next(p for p in compiled.plans if p.op_index == add))
    original = plan_type.reference

    def off_by_one(self, values):
        result = original(self, values)
        if self.op_index == add:
            result = {k: np.clip(v.astype(np.int16) + 1, -128, 127).astype(np.int8) for k, v in result.items()}
        return result

    monkeypatch.setattr(plan_type, "reference", off_by_one)
    result = diff_model(model, seed=2, compiled=compiled, work_dir=tmp_path)
    first = result.first_difference
    assert first is not None and first.op_index == add
    assert first.cells["numpy"].differs and not first.cells["C"].differs
    assert first.cells["numpy"].max_abs_diff == 1


def test_instrumentation_needs_the_emitters_op_markers(model):
    compiled = compile_graph(read_model_bytes(model))
    with pytest.raises(RuntimeError, match=r"model.c has 0 op markers for \d+ plans: update tflm_backend.diff"):
        instrument_source("int te_invoke(void) {\n  return 0;\n}\n", compiled)


def test_command_line(model, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    run = subprocess.run(
        [sys.executable, "-m", "tflm_backend.diff", f"--tflite={path}", f"--json={tmp_path / 'd.json'}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "all runtimes agree on every op output" in run.stdout and (tmp_path / "d.json").is_file()
    path.write_bytes(b"not a model at all")
    run = subprocess.run(
        [sys.executable, "-m", "tflm_backend.diff", f"--tflite={path}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    # one line, though the command imports TensorFlow (whose start-up log it keeps off stderr)
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert run.stderr.startswith("tflm_backend.diff: error: m.tflite: not a TFLite flatbuffer")
