"""python -m tflm_backend.diff --tflite=MODEL [--seed=N] [--input=x.npy ...] [--keep=DIR] [--json=OUT]

When the generated C gives different bytes from TensorFlow Lite Micro, this finds the first
operator where the runtimes part ways. It runs one input through four executions of the
same file and keeps every op's output:

* **TFLM**, stock TensorFlow Lite Micro with ``InterpreterConfig.kPreserveAllTensors``
  (so no arena reuse) read back with ``GetTensor``: the baseline;
* **TFLite ref**, the TFLite interpreter's reference kernels with
  ``experimental_preserve_all_tensors=True`` (absent where TFLite refuses an old file);
* **numpy**, ``tinyengine_gen.host.reference_runner.run_reference`` over the compiled plans;
* **C**, the generated project built with gcc, *instrumented*: after each kernel call in
  ``te_invoke`` a ``memcpy`` copies that op's outputs from the arena into a separate debug
  buffer (``te_debug_snapshot()``). This keeps the real memory plan (arena reuse, in-place
  kernels) and needs a single build; a snapshot is taken right after the op ran, before
  any later op could overwrite its bytes. (Truncating the model after each op would need
  one build per op and would change the memory plan under test.) The instrumentation
  relies on the ``/* op N: OPCODE */`` line the emitter writes before each op's calls.

It prints one row per op output (op index in the file, opcode, tensor, and for each
runtime ``=`` when identical to the baseline, ``-`` when that runtime does not have the
tensor, e.g. a PAD the compiler folded into its convolution, or how many values differ and
by how much) and names the first op that differs. Exit status 0 when all agree, 1 when an
op differs, 2 for a model the compiler cannot take.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from absl import app, flags

from tflm_backend.tflm_probe import probe_tflm
from tflm_backend.tflm_runner import TflmRefusedError
from tinyengine_gen.compiler import CompiledModel, CompileOptions, compile_graph
from tinyengine_gen.codegen.emitter import emit_project
from tinyengine_gen.host.build import HostModel, build_host_library
from tinyengine_gen.codegen.project import GeneratedProject, write_project
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.host.reference_runner import run_reference
from tinyengine_gen.codegen.report import build_report, report_json

__all__ = [
    "RUNTIMES",
    "Cell",
    "DiffResult",
    "OpRow",
    "c_intermediates",
    "diff_model",
    "format_table",
    "instrument_source",
    "numpy_intermediates",
    "random_inputs",
    "tflite_intermediates",
    "tflm_intermediates",
]

#: Columns of the table, baseline first.
RUNTIMES = ("TFLM", "TFLite ref", "numpy", "C")
_MARKER = re.compile(r"^  /\* op (-?\d+): [\w+]+ \*/$")  # fused ops read e.g. CONV_2D+ADD
_INVOKE = "int te_invoke(void) {"


@dataclasses.dataclass(frozen=True)
class Cell:
    """One runtime's value of one tensor, compared with the baseline."""

    available: bool
    differing: int = 0
    max_abs_diff: float = 0.0

    @property
    def differs(self) -> bool:
        return self.available and self.differing > 0

    def text(self, size: int) -> str:
        if not self.available:
            return "-"
        return "=" if not self.differing else f"{self.differing}/{size} max {self.max_abs_diff:g}"


@dataclasses.dataclass(frozen=True)
class OpRow:
    op_index: int
    opcode: str
    tensor: int
    name: str
    shape: tuple[int, ...]
    baseline: str
    cells: dict[str, Cell]

    @property
    def differs(self) -> bool:
        return any(cell.differs for cell in self.cells.values())

    def to_json(self) -> dict[str, Any]:
        size = int(np.prod(self.shape, dtype=np.int64))
        return {
            "op": self.op_index,
            "opcode": self.opcode,
            "tensor": self.tensor,
            "name": self.name,
            "shape": list(self.shape),
            "baseline": self.baseline,
            "runtimes": {k: v.text(size) for k, v in self.cells.items()},
        }


@dataclasses.dataclass(frozen=True)
class DiffResult:
    model: str
    rows: tuple[OpRow, ...]
    notes: tuple[str, ...]

    @property
    def first_difference(self) -> OpRow | None:
        return next((row for row in self.rows if row.differs), None)

    def to_json(self) -> dict[str, Any]:
        first = self.first_difference
        return {
            "model": self.model,
            "first_difference": None if first is None else first.to_json(),
            "ops": [row.to_json() for row in self.rows],
            "notes": list(self.notes),
        }


def tflm_intermediates(
    model: bytes, inputs: Sequence[np.ndarray], tensors: Sequence[int], source: str = "model.tflite"
) -> dict[int, np.ndarray]:
    """Values of ``tensors`` after one TFLM invoke with every tensor preserved."""
    from tflite_micro.python.tflite_micro import runtime

    try:
        interpreter = runtime.Interpreter.from_bytes(
            model,
            arena_size=max(len(model) * 10, 1 << 20) + (16 << 20),
            intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors,
        )
        for position, array in enumerate(inputs):
            info = interpreter.get_input_details(position)
            interpreter.set_input(np.asarray(array, dtype=info["dtype"]).reshape(info["shape"]), position)
        interpreter.invoke()
    except (RuntimeError, ValueError) as exc:  # it failed to allocate, to prepare an op or to run
        raise TflmRefusedError(f"{source}: stock TFLite Micro cannot run the model: {' '.join(str(exc).split())}") from None
    values = {}
    for index in tensors:
        try:
            tensor = interpreter.GetTensor(index, 0)
        except (RuntimeError, ValueError):  # not kept by TFLM: that row falls back to TFLite's value
            continue
        values[index] = np.array(tensor["tensor_data"])
    return values


def tflite_intermediates(
    model: bytes, inputs: Sequence[np.ndarray], tensors: Sequence[int]
) -> tuple[dict[int, np.ndarray], str | None]:
    """Values of ``tensors`` from the TFLite reference kernels, or ({}, why not) where TFLite refuses the file."""
    try:
        import warnings

        import tensorflow as tf

        with warnings.catch_warnings():  # its deprecation notice says nothing about this model
            warnings.simplefilter("ignore")
            interpreter = tf.lite.Interpreter(
                model_content=model,
                experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
                experimental_preserve_all_tensors=True,
            )
        interpreter.allocate_tensors()
        for info, array in zip(interpreter.get_input_details(), inputs):
            interpreter.set_tensor(info["index"], np.asarray(array, dtype=info["dtype"]).reshape(info["shape"]))
        interpreter.invoke()
        return {index: np.array(interpreter.get_tensor(index)) for index in tensors}, None
    except Exception as exc:  # noqa: BLE001  (TFLite's own refusal of a file TFLM accepts: any type)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return {}, f"TFLite reference interpreter not run: {type(exc).__name__}: {text}"


def numpy_intermediates(compiled: CompiledModel, inputs: Sequence[np.ndarray]) -> dict[int, np.ndarray]:
    return run_reference(compiled, inputs)


def instrument_source(source: str, compiled: CompiledModel) -> tuple[str, dict[int, int], int]:
    """model.c with a copy of each op's outputs into ``te_debug`` after the op runs.

    Returns (new source, tensor index -> offset in the debug buffer, debug buffer bytes).
    """
    lines = source.split("\n")
    if _INVOKE not in lines:
        raise RuntimeError(f"model.c has no '{_INVOKE}' line: update tflm_backend.diff to the emitter")
    start = lines.index(_INVOKE)
    end = lines.index("}", start)
    body = lines[start + 1 : end]
    markers = [i for i, line in enumerate(body) if _MARKER.match(line)]
    if len(markers) != len(compiled.plans) or body[-1] != "  return 0;":
        raise RuntimeError(
            f"model.c has {len(markers)} op markers for {len(compiled.plans)} plans: update tflm_backend.diff to the emitter"
        )
    offsets: dict[int, int] = {}
    copies: list[list[str]] = []
    total = 0
    for plan in compiled.plans:
        statements = []
        for index in plan.outputs:
            nbytes = compiled.graph.tensor(index).nbytes
            offsets[index] = total
            statements.append(f"  memcpy(te_debug + {total}, te_arena + {compiled.tensor_offsets[index]}, {nbytes});")
            total += nbytes
        copies.append(statements)
    ends = markers[1:] + [len(body) - 1]  # each op's calls end where the next op (or "return 0;") starts
    new_body: list[str] = []
    for step, (begin, finish) in enumerate(zip(markers, ends)):
        new_body += body[begin:finish] + copies[step]
    new_body = body[: markers[0]] + new_body + [body[-1]] if markers else body
    debug = [
        "/* tflm_backend.diff: every op's outputs, copied from the arena right after the op ran. */",
        f"static uint8_t te_debug[{max(total, 1)}];",
        "void* te_debug_snapshot(void) { return te_debug; }",
        "",
    ]
    return "\n".join(lines[:start] + debug + [_INVOKE] + new_body + lines[end:]), offsets, total


def c_intermediates(
    compiled: CompiledModel, inputs: Sequence[np.ndarray], work_dir: str | Path
) -> tuple[dict[int, np.ndarray], list[np.ndarray]]:
    """Every op output of the instrumented C build, and the build's graph outputs."""
    emitted = emit_project(compiled)
    files = dict(emitted.files)
    files["model.c"], offsets, total = instrument_source(files["model.c"], compiled)
    report = build_report(compiled, emitted.constant_bytes)
    files["report.json"] = report_json(report)
    out_dir = write_project(GeneratedProject(compiled, files, report), Path(work_dir) / "instrumented")
    library = build_host_library(out_dir)
    host = HostModel(out_dir, library)
    outputs = host.run(inputs)
    lib = ctypes.CDLL(str(library.resolve()))
    lib.te_debug_snapshot.restype = ctypes.c_void_p
    snapshot = np.empty(max(total, 1), np.uint8)
    ctypes.memmove(snapshot.ctypes.data, lib.te_debug_snapshot(), snapshot.nbytes)
    values = {}
    for index, offset in offsets.items():
        tensor = compiled.graph.tensor(index)
        values[index] = snapshot[offset : offset + tensor.nbytes].view(tensor.dtype.numpy).reshape(tensor.shape)
    return values, outputs


def _compare(value: np.ndarray | None, baseline: np.ndarray) -> Cell:
    if value is None:
        return Cell(False)
    a = np.asarray(value).reshape(-1).astype(np.float64)
    b = np.asarray(baseline).reshape(-1).astype(np.float64)
    if a.size != b.size:
        return Cell(True, b.size, float("inf"))
    return Cell(True, int(np.count_nonzero(a != b)), float(np.max(np.abs(a - b), initial=0.0)))


def random_inputs(compiled: CompiledModel, seed: int) -> list[np.ndarray]:
    """One input set for the file's inputs: int8/uint8 over their full range, floats in [-1, 1]."""
    rng = np.random.default_rng(seed)
    graph = compiled.source_graph
    result = []
    for index in graph.inputs:
        tensor = graph.tensor(index)
        dtype = tensor.dtype.numpy
        if np.issubdtype(dtype, np.integer):
            bounds = np.iinfo(dtype)
            result.append(rng.integers(bounds.min, bounds.max + 1, size=tensor.shape, dtype=dtype))
        else:
            result.append(rng.uniform(-1.0, 1.0, size=tensor.shape).astype(dtype))
    return result


def diff_model(
    model: bytes,
    inputs: Sequence[np.ndarray] | None = None,
    *,
    seed: int = 0,
    compiled: CompiledModel | None = None,
    work_dir: str | Path | None = None,
    source: str = "model.tflite",
    isolate_tflm: bool = False,
) -> DiffResult:
    """Run ``model`` op by op in all four runtimes on one input and compare every op output with TFLM.

    ``compiled`` replaces the compiler's own plan (tests corrupt one to check the diff finds it).
    It must be compiled without a int8 input/output API, so its inputs are the file's.
    ``isolate_tflm``: run TFLM on the file in a child process first (command-line input).
    """
    graph = read_model_bytes(model, source=source)
    # Residual fusion would remove the convolution's own output; a debugger wants every op's.
    compiled = compiled or compile_graph(graph, CompileOptions(fuse_residual_add=False))
    if compiled.graph.inputs != compiled.source_graph.inputs:
        raise ValueError("diff_model needs a plan whose inputs are the file's (compile without int8_input)")
    inputs = list(inputs) if inputs is not None else random_inputs(compiled, seed)
    source_ops = compiled.source_graph.operators
    outputs = sorted({t for op in source_ops for t in op.outputs})
    notes: list[str] = []
    if isolate_tflm:
        probe_tflm(model, source)
    tflm = tflm_intermediates(model, inputs, outputs, source)
    tflite, why_not = tflite_intermediates(model, inputs, outputs)
    if why_not:
        notes.append(why_not)
    reference = numpy_intermediates(compiled, inputs)
    with tempfile.TemporaryDirectory(prefix="te-diff-") as scratch:
        c_values, _ = c_intermediates(compiled, inputs, work_dir or scratch)
    computed = {t for plan in compiled.plans for t in plan.outputs}
    runs = {
        "TFLM": tflm,
        "TFLite ref": tflite,
        "numpy": {t: v for t, v in reference.items() if t in computed},
        "C": c_values,
    }
    rows = []
    for op in source_ops:
        for index in op.outputs:
            tensor = compiled.source_graph.tensor(index)
            baseline_name = next((name for name in RUNTIMES[:2] if index in runs[name]), None)
            if baseline_name is None:
                continue
            baseline = runs[baseline_name][index]
            cells = {name: _compare(runs[name].get(index), baseline) for name in RUNTIMES}
            rows.append(OpRow(op.index, op.opcode, index, tensor.name, tuple(tensor.shape), baseline_name, cells))
    return DiffResult(source, tuple(rows), tuple(notes))


def format_table(result: DiffResult) -> str:
    """The per-op table and a last line naming the first op that differs."""
    header = ("op", "opcode", "tensor", "shape") + RUNTIMES
    body = []
    for row in result.rows:
        size = int(np.prod(row.shape, dtype=np.int64))
        name = row.name if len(row.name) <= 40 else "..." + row.name[-37:]
        cells = tuple(row.cells[r].text(size) + ("*" if r == row.baseline and r != "TFLM" else "") for r in RUNTIMES)
        body.append((str(row.op_index), row.opcode, f"{row.tensor}:{name}", "x".join(map(str, row.shape))) + cells)
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    lines = [f"{result.model}: every op output against TFLM ('=' identical, '-' not computed there, n/size max |diff|)"]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header] + body]
    lines += [f"note: {note}" for note in result.notes]
    first = result.first_difference
    if first is None:
        lines.append("all runtimes agree on every op output")
    else:
        size = int(np.prod(first.shape, dtype=np.int64))
        which = ", ".join(f"{r} ({first.cells[r].text(size)})" for r in RUNTIMES if first.cells[r].differs)
        lines.append(
            f"first difference: op {first.op_index} ({first.opcode}), tensor {first.tensor} '{first.name}': {which}"
        )
    return "\n".join(lines)


FLAGS = flags.FLAGS


def _define_flags() -> None:
    """Flags exist only when this module is the program (compare.py defines flags of the same names)."""
    flags.DEFINE_string("tflite", None, "Path of the .tflite model.")
    flags.DEFINE_integer("seed", 0, "Seed of the random input (when --input is not given).")
    flags.DEFINE_multi_string("input", [], "A .npy file per model input, in order (default: one random input).")
    flags.DEFINE_string("keep", None, "Keep the instrumented C project in this folder.")
    flags.DEFINE_string("json", None, "Also write the table as JSON to this file.")
    flags.mark_flag_as_required("tflite")


def _run() -> int:
    from tinyengine_gen.atomic_io import write_text_atomically
    from tinyengine_gen.cli import check_file_destination

    if FLAGS.json is not None:
        check_file_destination(FLAGS.json, "--json")
    path = Path(FLAGS.tflite)
    inputs = [np.load(p) for p in FLAGS.input] or None
    result = diff_model(
        path.read_bytes(), inputs, seed=FLAGS.seed, work_dir=FLAGS.keep, source=path.name, isolate_tflm=True
    )
    print(format_table(result))
    if FLAGS.json:
        write_text_atomically(FLAGS.json, json.dumps(result.to_json(), indent=2) + "\n")
    return 0 if result.first_difference is None else 1


def main(argv: list[str]) -> None:
    from tinyengine_gen.cli import report_user_errors

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    sys.exit(report_user_errors("tflm_backend.diff", _run))


if __name__ == "__main__":
    from tinyengine_gen import cli

    _define_flags()
    cli.run(main, program="tflm_backend.diff", tensorflow=True)
