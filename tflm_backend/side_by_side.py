"""Run one model in stock TFLite Micro and as TinyEngine C, and compare them.

Both runtimes see the same inputs in the same process; latency is the median of repeated
invokes of each, measured in the same run so that ratios are meaningful on a noisy machine.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tflm_backend.tflite_reference import TfliteReference, xnnpack_latency_ms
from tflm_backend.tflm_probe import probe_tflm
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.compiler import CompileOptions
from tinyengine_gen.host.build import HostModel, build_host_library, host_flash_bytes
from tinyengine_gen.memory.offline_plan import embed_offline_plan
from tinyengine_gen.passes.int8_io import strip_input_quantize
from tinyengine_gen.codegen.project import generate, write_project
from tinyengine_gen.frontend.reader import read_model

__all__ = ["SideBySide", "compare_model", "random_model_inputs", "format_table", "choose_options"]

INPUT_APIS = ("auto", "float", "int8")


@dataclasses.dataclass
class SideBySide:
    model: str
    macs: int
    model_bytes: int
    tflm_arena_bytes: int
    tflm_latency_ms: float
    te_peak_sram_bytes: int
    te_arena_bytes: int
    te_weights_bytes: int
    te_flash_bytes: int
    te_latency_ms: float
    bit_exact: bool
    inputs_checked: int
    max_abs_diff: float
    tflite_reference_bit_exact: bool | None
    tflite_reference_note: str | None
    input_api: str = "as in the model"
    tflm_offline_plan_arena_bytes: int | None = None
    tflm_offline_plan_identical: bool | None = None
    xnnpack_latency_ms: float | None = None
    patch: dict | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "macs": self.macs,
            "tflm": {
                "arena_bytes": self.tflm_arena_bytes,
                "latency_ms": self.tflm_latency_ms,
                "model_bytes": self.model_bytes,
                "offline_plan_arena_bytes": self.tflm_offline_plan_arena_bytes,
                "offline_plan_outputs_identical": self.tflm_offline_plan_identical,
            },
            "tinyengine": {
                "peak_sram_bytes": self.te_peak_sram_bytes,
                "arena_bytes": self.te_arena_bytes,
                "flash_bytes": self.te_flash_bytes,
                "weights_bytes": self.te_weights_bytes,
                "latency_ms": self.te_latency_ms,
                "patch": self.patch,
            },
            "tflite_xnnpack": {"latency_ms": self.xnnpack_latency_ms, "threads": 1},
            "input_api": self.input_api,
            "bit_exact": self.bit_exact,
            "inputs_checked": self.inputs_checked,
            "max_abs_diff": self.max_abs_diff,
            "tflite_reference": {"bit_exact": self.tflite_reference_bit_exact, "note": self.tflite_reference_note},
        }


def random_model_inputs(details: Sequence[dict], count: int, seed: int) -> list[list[np.ndarray]]:
    """``count`` input sets: int8 over its full range, floats uniform in [-1, 1] (or [0, 1) for images)."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        case = []
        for info in details:
            dtype, shape = np.dtype(info["dtype"]), tuple(info["shape"])
            if np.issubdtype(dtype, np.integer):
                bounds = np.iinfo(dtype)
                case.append(rng.integers(bounds.min, bounds.max + 1, size=shape, dtype=dtype))
            else:
                case.append(rng.uniform(-1.0, 1.0, size=shape).astype(dtype))
        cases.append(case)
    return cases


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return math.inf
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0))


def _repeats_for(seconds_per_run: float, budget_s: float, max_repeats: int) -> int:
    return int(min(max_repeats, max(3, budget_s / max(seconds_per_run, 1e-6))))


def choose_options(graph, input_api: str, patch: str = "off") -> tuple[CompileOptions, str]:
    """Compile options for a comparison and a phrase saying what the C build's input is.

    ``auto`` takes the int8 input API when the model quantises a float input as its first
    step: the caller then quantises (exactly as TFLite Micro's QUANTIZE) and the float
    image never occupies the microcontroller's SRAM — the layout MCU deployments use.
    """
    if input_api not in INPUT_APIS:
        raise ValueError(f"input_api must be one of {INPUT_APIS}")
    strippable = strip_input_quantize(graph) is not graph
    if input_api == "int8" or (input_api == "auto" and strippable):
        if not strippable:
            return CompileOptions(patch=patch), "as in the model (no float input behind a QUANTIZE)"
        return CompileOptions(int8_input=True, patch=patch), "int8 (float input quantised by the caller)"
    return CompileOptions(patch=patch), "as in the model"


def compare_model(
    path: str | os.PathLike[str],
    *,
    input_api: str = "auto",
    patch: str = "off",
    native: bool = True,
    inputs: int = 20,
    seed: int = 0,
    max_repeats: int = 50,
    latency_budget_s: float = 3.0,
    work_dir: str | os.PathLike[str] | None = None,
    cases: list[list[np.ndarray]] | None = None,
    isolate_tflm: bool = False,
) -> SideBySide:
    """Compile ``path``, build it, and measure it against TFLM on the same inputs.

    ``native`` builds the C for this machine's vector unit (-march=native); False gives a
    baseline x86-64 build. ``isolate_tflm`` first runs TFLM on the model in a child process
    (:func:`~tflm_backend.tflm_probe.probe_tflm`): for files from the command line, on
    which TFLM could abort this process.
    """
    path = Path(path)
    model = path.read_bytes()
    graph = read_model(path)
    options, input_phrase = choose_options(graph, input_api, patch)
    project = generate(graph, options)
    if isolate_tflm:
        probe_tflm(model, path.name)
    with tempfile.TemporaryDirectory(prefix="te-compare-") as scratch:
        out_dir = write_project(project, Path(work_dir or scratch) / path.stem)
        library = build_host_library(out_dir, native=native)
        host = HostModel(out_dir)
        tflm = TflmModel(model, source=path.name)
        tflm_planned = TflmModel(embed_offline_plan(model, str(path)))
        oracle = TfliteReference(model)
        cases = cases if cases is not None else random_model_inputs(host.input_details, inputs, seed)
        exact, worst, oracle_exact = True, 0.0, oracle.available if oracle.available else None
        planned_exact = True
        for case in cases:
            theirs, ours = tflm.run(case), host.run(case)
            planned_exact &= all(_same_bytes(a, b) for a, b in zip(tflm_planned.run(case), theirs))
            for a, b in zip(ours, theirs):
                exact &= _same_bytes(a, b)
                worst = max(worst, _max_abs_diff(a, b))
            reference = oracle.run(case)
            if reference is None:
                oracle_exact = None
            elif oracle_exact is not None:
                oracle_exact &= all(_same_bytes(a, b) for a, b in zip(ours, reference))
        arena = tflm.arena_bytes(cases[0])
        planned_arena = tflm_planned.arena_bytes(cases[0])
        start = time.perf_counter()
        tflm.run(cases[0])
        repeats = _repeats_for(time.perf_counter() - start, latency_budget_s, max_repeats)
        tflm_ms = tflm.latency_ms(cases[0], repeats=repeats)
        te_ms = host.latency_ms(cases[0], repeats=max_repeats)
        xnnpack_ms = xnnpack_latency_ms(model, cases[0], repeats=repeats)
        sections = host_flash_bytes(library)
    report = project.report
    return SideBySide(
        model=path.name,
        macs=int(report["macs"]),
        model_bytes=len(model),
        tflm_arena_bytes=arena,
        tflm_latency_ms=tflm_ms,
        te_peak_sram_bytes=int(report["peak_sram_bytes"]),
        te_arena_bytes=int(report["arena_bytes"]),
        te_weights_bytes=int(report["weights_bytes"]),
        te_flash_bytes=int(sum(sections.values())),
        te_latency_ms=te_ms,
        bit_exact=bool(exact),
        inputs_checked=len(cases),
        max_abs_diff=worst,
        tflite_reference_bit_exact=oracle_exact,
        tflite_reference_note=oracle.error,
        input_api=input_phrase,
        tflm_offline_plan_arena_bytes=planned_arena,
        tflm_offline_plan_identical=bool(planned_exact),
        xnnpack_latency_ms=xnnpack_ms,
        patch=report.get("patch"),
    )


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "-"


def format_table(result: SideBySide) -> str:
    """The side-by-side table a user reads: one row per figure, TFLM | TinyEngine | ratio."""
    rows = [
        ("peak SRAM (B)", f"{result.tflm_arena_bytes:,}", f"{result.te_peak_sram_bytes:,}", _ratio(result.tflm_arena_bytes, result.te_peak_sram_bytes)),
        ("Flash (B)", f"{result.model_bytes:,} model + runtime", f"{result.te_flash_bytes:,} code+data", "-"),
        ("weights (B)", "-", f"{result.te_weights_bytes:,}", "-"),
        ("latency (ms, host)", f"{result.tflm_latency_ms:.3f}", f"{result.te_latency_ms:.3f}", _ratio(result.tflm_latency_ms, result.te_latency_ms)),
    ]
    if result.xnnpack_latency_ms is not None:
        rows.append(
            (
                "TFLite+XNNPACK 1 thread (ms)",
                f"{result.xnnpack_latency_ms:.3f}",
                f"{result.te_latency_ms:.3f}",
                _ratio(result.xnnpack_latency_ms, result.te_latency_ms),
            )
        )
    if result.tflm_offline_plan_arena_bytes is not None:
        rows.insert(
            1,
            (
                "TFLM + our offline plan (B)",
                f"{result.tflm_offline_plan_arena_bytes:,}",
                "-",
                "outputs identical" if result.tflm_offline_plan_identical else "outputs DIFFER",
            ),
        )
    if result.tflite_reference_bit_exact is None:
        oracle = f"TFLite reference interpreter: not run ({result.tflite_reference_note or 'unavailable'})"
    else:
        oracle = f"TFLite reference interpreter: {'identical' if result.tflite_reference_bit_exact else 'DIFFERENT'}"
    widths = [max(len(r[i]) for r in rows + [("", "TFLM", "TinyEngine", "ratio")]) for i in range(4)]
    header = ("", "TFLM", "TinyEngine", "TFLM/ours")
    lines = [f"{result.model}: {result.macs:,} MACs"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)
    verdict = "identical" if result.bit_exact else f"DIFFERENT (max abs diff {result.max_abs_diff})"
    lines.append(f"TinyEngine input API: {result.input_api}")
    if result.patch and result.patch.get("message"):
        lines.append(f"TinyEngine schedule: {result.patch['message']}")
    lines.append(f"outputs vs TFLM on {result.inputs_checked} inputs: {verdict}")
    lines.append(oracle)
    return "\n".join(lines)
