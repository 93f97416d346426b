"""Compile a TFLite model to C, build it with gcc, and compare it with TFLite Micro.

Shared by every test that checks bit-exactness; parametrise over models and options.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from tests.model_factory import random_inputs
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.compiler import CompileOptions
from tinyengine_gen.host.build import HostModel, build_host_library
from tinyengine_gen.ops.quantize import dequantize_reference, quantize_reference
from tinyengine_gen.codegen.project import generate, write_project
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.host.reference_runner import run_reference

__all__ = ["Comparison", "compile_and_compare"]


@dataclasses.dataclass
class Comparison:
    host: HostModel
    tflm: TflmModel
    project: object
    checked: int


def _assert_same(label: str, ours: np.ndarray, theirs: np.ndarray, trial: int) -> None:
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (label, ours.dtype, theirs.dtype, ours.shape, theirs.shape)
    if not np.array_equal(ours.view(np.uint8), theirs.view(np.uint8)):
        diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        raise AssertionError(
            f"{label} differs from TFLM on input {trial}: {int(np.count_nonzero(diff))} of {diff.size} values, "
            f"max abs diff {diff.max()}"
        )


def compile_and_compare(
    model: bytes,
    tmp_path: Path,
    *,
    trials: int = 3,
    seed: int = 0,
    options: CompileOptions | None = None,
    inputs: list[list[np.ndarray]] | None = None,
    reference_trials: int = 2,
) -> Comparison:
    """Compile, build and run ``model``; assert C, numpy reference and TFLM agree bit for bit.

    The C build is checked on every input; the (slower) numpy reference on the first
    ``reference_trials`` of them.
    """
    graph = read_model_bytes(model, source="test.tflite")
    project = generate(graph, options)
    out_dir = write_project(project, tmp_path / "project")
    build_host_library(out_dir, extra_flags=("-Wall", "-Wextra", "-Werror"))
    host = HostModel(out_dir)
    tflm = TflmModel(model)
    rng = np.random.default_rng(seed)
    cases = inputs if inputs is not None else [random_inputs(host.input_details, rng) for _ in range(trials)]
    for trial, case in enumerate(cases):
        expected = tflm.run(case)
        ours = host.run(case)
        for position, (a, b) in enumerate(zip(ours, expected)):
            _assert_same(f"generated C output {position}", a, b, trial)
        if trial < reference_trials:
            compiled = project.compiled
            reference_inputs = [
                quantize_reference(np.asarray(x), info["scale"], info["zero_point"]) if "float_api" in info else x
                for x, info in zip(case, host.model_input_details)
            ]
            values = run_reference(compiled, reference_inputs)
            for position, (index, info, b) in enumerate(zip(compiled.graph.outputs, host.output_details, expected)):
                value = values[index]
                if "float_api" in info:
                    value = dequantize_reference(value, info["scale"], info["zero_point"])
                _assert_same(f"numpy reference output {position}", value, b, trial)
    return Comparison(host, tflm, project, len(cases))
