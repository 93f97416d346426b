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
    tflm_model: bytes | None = None,
) -> Comparison:
    """Compile, build and run ``model``; assert C, numpy reference and TFLM agree bit for bit.

    The C build is checked on every input; the (slower) numpy reference on the first
    ``reference_trials`` of them. The inputs run in sequence: a model with state (SVDF,
    LSTM) carries it from one input to the next in all three. ``tflm_model``: the file TFLM
    runs instead of ``model`` (where ``model`` is a variant TFLM mishandles but that must
    give the same outputs).
    """
    graph = read_model_bytes(model, source="test.tflite")
    project = generate(graph, options)
    out_dir = write_project(project, tmp_path / "project")
    build_host_library(out_dir, extra_flags=("-Wall", "-Wextra", "-Werror"))
    host = HostModel(out_dir)
    tflm = TflmModel(tflm_model if tflm_model is not None else model)
    rng = np.random.default_rng(seed)
    cases = inputs if inputs is not None else [random_inputs(host.input_details, rng) for _ in range(trials)]
    state: dict[int, np.ndarray] = {}  # variable tensors, carried from trial to trial as both runtimes carry them
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
            values = run_reference(compiled, reference_inputs, state)
            for position, (index, info, b) in enumerate(zip(compiled.graph.outputs, host.output_details, expected)):
                value = values[index]
                if "float_api" in info:
                    value = dequantize_reference(value, info["scale"], info["zero_point"])
                _assert_same(f"numpy reference output {position}", value, b, trial)
    return Comparison(host, tflm, project, len(cases))


def compile_and_compare_with_oracle(model: bytes, oracle: bytes, tmp_path: Path, *, trials: int = 5, seed: int = 0) -> None:
    """Compile ``model``; assert its C build gives, bit for bit, what TFLM gives on ``oracle``.

    For a file TFLM cannot run as it is (an unfixed-batch export whose tensors TFLM does
    not resize): ``oracle`` is the batch-1 export of the same weights.
    """
    project = generate(read_model_bytes(model, source="test.tflite"))
    out_dir = write_project(project, tmp_path / "project")
    build_host_library(out_dir, extra_flags=("-Wall", "-Wextra", "-Werror"))
    host = HostModel(out_dir)
    tflm = TflmModel(oracle)
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        case = random_inputs(host.input_details, rng)
        for position, (ours, theirs) in enumerate(zip(host.run(case), tflm.run(case))):
            _assert_same(f"generated C output {position}", ours, theirs.reshape(ours.shape), trial)


def with_shapes_folded(model: bytes) -> bytes:
    """``model`` with its compile-time computable operators replaced by constants, as a file.

    The tinyengine_gen constant-folding pass runs on the graph; every tensor it made
    constant gets a buffer with that value, every placeholder shape it settled is written
    back, and the folded operators are dropped. Quantisation is untouched, so TFLM running
    the result is an exact oracle for an unfixed-batch file TFLM cannot run as it is
    (REDUCE_PROD in its shape subgraphs). The folded values themselves are shapes the file
    already implies (checked against the graph's static shapes by the planners).
    """
    import flatbuffers

    from tinyengine_gen.frontend.schema import schema
    from tinyengine_gen.passes.fold_constants import fold_constants

    graph = read_model_bytes(model)
    folded = fold_constants(graph)
    kept = {op.index for op in folded.operators}
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    subgraph = tree.subgraphs[0]
    for before, after in zip(graph.tensors, folded.tensors):
        raw = subgraph.tensors[before.index]
        if before.data is None and after.data is not None:
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(np.ascontiguousarray(after.data).tobytes(), dtype=np.uint8)
            tree.buffers.append(buffer)
            raw.buffer = len(tree.buffers) - 1
        if tuple(after.shape) != tuple(before.shape):
            raw.shape = np.asarray(after.shape, dtype=np.int32)
            raw.shapeSignature = None
    subgraph.operators = [op for index, op in enumerate(subgraph.operators) if index in kept]
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def with_phase_batches(model: bytes) -> bytes:
    """``model`` with the placeholder batch of every SPACE_TO_BATCH_ND's phase images written out.

    An unfixed-batch export keeps batch 1 in the static shapes of SPACE_TO_BATCH_ND's output
    and of the operators between it and BATCH_TO_SPACE_ND (the converter's dilated
    convolution); TFLM does not resize tensors, so it runs the file on one phase image.
    Here those tensors get their true batch (input batch x block size), propagated through
    each operator that reads a corrected tensor as its first input, up to BATCH_TO_SPACE_ND.
    Operators, weights and quantisation are untouched, so TFLM running the result is an
    exact oracle for the file as it is (unlike a batch-1 re-export, where the converter may
    fuse differently, e.g. a RELU into the convolution with one requantisation less).
    """
    import flatbuffers

    from tinyengine_gen.frontend.schema import BUILTIN_OPERATOR_NAMES, schema

    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    subgraph = tree.subgraphs[0]
    codes = [BUILTIN_OPERATOR_NAMES[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in tree.operatorCodes]
    batches: dict[int, int] = {}
    for op in subgraph.operators:
        opcode, first, out = codes[op.opcodeIndex], int(op.inputs[0]), int(op.outputs[0])
        if opcode == "SPACE_TO_BATCH_ND":
            block = np.frombuffer(bytes(tree.buffers[subgraph.tensors[int(op.inputs[1])].buffer].data), np.int32)
            batches[out] = int(subgraph.tensors[first].shape[0]) * int(np.prod(block))
        elif opcode != "BATCH_TO_SPACE_ND" and first in batches:
            batches[out] = batches[first]
    for index, batch in batches.items():
        tensor = subgraph.tensors[index]
        tensor.shape = np.asarray([batch, *list(tensor.shape)[1:]], dtype=np.int32)
        tensor.shapeSignature = None
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
