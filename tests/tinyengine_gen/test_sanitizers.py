"""The generated C under AddressSanitizer and UndefinedBehaviorSanitizer, compared with TFLM.

Every shared model and one small model per supported operator is compiled with
``-Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all`` together
with a small C driver that reads inputs from a file, calls ``te_invoke`` and writes the
outputs. The driver runs as a subprocess, so a sanitizer abort fails the test instead of
killing pytest, and its outputs must equal TFLite Micro's byte for byte.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from tests.model_factory import convert_int8, full_int8, keras, random_inputs, tf
from tests.shared_assets import MODEL_NAMES, shared_model
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.ops.base import supported_opcodes
from tinyengine_gen.codegen.project import generate, write_project
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema

SANITIZER_FLAGS = (
    "-std=c99", "-Wall", "-Wextra", "-Werror",
    "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1",
)  # fmt: skip
_SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not found (apt-get install gcc)")


def _driver_source(num_inputs: int, num_outputs: int) -> str:
    """A C driver: for each trial, read every input from argv[1], invoke, append outputs to argv[2]."""
    inputs = ", ".join(f"TE_INPUT{i}_BYTES" for i in range(num_inputs))
    outputs = ", ".join(f"TE_OUTPUT{i}_BYTES" for i in range(num_outputs))
    return f"""#include <stdio.h>
#include <stdlib.h>
#include "model.h"

static const unsigned long input_bytes[TE_NUM_INPUTS] = {{{inputs}}};
static const unsigned long output_bytes[TE_NUM_OUTPUTS] = {{{outputs}}};

int main(int argc, char** argv) {{
  FILE* in;
  FILE* out;
  int trial, i, trials;
  if (argc != 4) return 2;
  in = fopen(argv[1], "rb");
  out = fopen(argv[2], "wb");
  trials = atoi(argv[3]);
  if (in == NULL || out == NULL) return 3;
  for (trial = 0; trial < trials; ++trial) {{
    for (i = 0; i < TE_NUM_INPUTS; ++i) {{
      if (fread(te_input(i), 1, input_bytes[i], in) != input_bytes[i]) return 4;
    }}
    if (te_invoke() != 0) return 5;
    for (i = 0; i < TE_NUM_OUTPUTS; ++i) {{
      if (fwrite(te_output(i), 1, output_bytes[i], out) != output_bytes[i]) return 6;
    }}
  }}
  fclose(in);
  fclose(out);
  return 0;
}}
"""


def build_and_run_sanitized(project, folder: Path, cases, name: str, flags=SANITIZER_FLAGS) -> np.ndarray:
    """Build ``project`` (already written to ``folder``) with the driver under ``flags``, run
    it on ``cases`` and return the bytes it wrote; any sanitizer report fails the caller."""
    report = project.report
    (folder / "driver.c").write_text(_driver_source(len(report["inputs"]), len(report["outputs"])))
    sources = ["driver.c", "model.c", *sorted(str(p.relative_to(folder)) for p in (folder / "kernels").glob("*.c"))]
    build = subprocess.run(["gcc", *flags, "-I.", "-o", "driver", *sources, "-lm"], cwd=folder, capture_output=True, text=True)
    assert build.returncode == 0, f"{name}: sanitizer build failed:\n{build.stderr[-4000:]}"
    (folder / "inputs.bin").write_bytes(b"".join(np.ascontiguousarray(a).tobytes() for case in cases for a in case))
    run = subprocess.run(
        ["./driver", "inputs.bin", "outputs.bin", str(len(cases))],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **_SANITIZER_ENV},
        timeout=600,
    )
    assert run.returncode == 0, f"{name}: driver exited with {run.returncode} under sanitizers:\n{run.stderr[-6000:]}"
    assert "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr[-6000:]
    return np.frombuffer((folder / "outputs.bin").read_bytes(), dtype=np.uint8)


def run_under_sanitizers(
    model: bytes, tmp_path: Path, *, trials: int = 3, seed: int = 0, name: str = "model", oracle: bytes | None = None
) -> int:
    """Build ``model``'s C with ASan+UBSan, run it on random inputs, compare with TFLM running
    ``oracle`` (an equivalent file, default ``model`` itself); returns trials run."""
    project = generate(read_model_bytes(model, source=f"{name}.tflite"))
    folder = write_project(project, tmp_path / "project")
    report = project.report
    rng = np.random.default_rng(seed)
    cases = [random_inputs(report["inputs"], rng) for _ in range(trials)]
    produced = build_and_run_sanitized(project, folder, cases, name)
    tflm = TflmModel(model if oracle is None else oracle)
    position = 0
    for trial, case in enumerate(cases):
        for index, (expected, info) in enumerate(zip(tflm.run(case), report["outputs"])):
            ours = produced[position : position + expected.nbytes]
            position += expected.nbytes
            assert info["shape"] == list(expected.shape), (name, index, info["shape"], expected.shape)
            if not np.array_equal(ours, np.ascontiguousarray(expected).view(np.uint8).reshape(-1)):
                raise AssertionError(f"{name}: output {index} differs from TFLM on trial {trial}")
    assert position == produced.size
    return trials


# --- shared models -----------------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_shared_model_clean_under_sanitizers(tmp_path, name):
    # mbv2_224 (300 M MACs) takes about 10 s under ASan at -O1: no need for the slow mark.
    model = shared_model(name).read_bytes()
    assert run_under_sanitizers(model, tmp_path, trials=2, seed=3, name=name) == 2


# --- one small model per operator --------------------------------------------------------


def _keras_model(build: Callable[[], object], **options) -> Callable[[], bytes]:
    return lambda: convert_int8(build, **options)


def _function_model(fn: Callable, shape: tuple[int, ...]) -> Callable[[], bytes]:
    """int8 model of a tf.function on one float input (for ops Keras layers do not produce)."""

    def convert() -> bytes:
        concrete = tf.function(fn).get_concrete_function(tf.TensorSpec(shape, tf.float32))
        rng = np.random.default_rng(0)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], tf.Module())
        full_int8(converter, lambda: ([rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(16)))
        return converter.convert()

    return convert


def _pack(tree: object) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")  # type: ignore[attr-defined]
    return bytes(builder.Output())


def _reshape_rewritten(opcode: str) -> Callable[[], bytes]:
    """A one-RESHAPE model rewritten to SQUEEZE or EXPAND_DIMS (the converter emits RESHAPE for both)."""

    def convert() -> bytes:
        shape = (2, 3, 1, 5) if opcode == "SQUEEZE" else (2, 3, 5)
        target = (2, 3, 5) if opcode == "SQUEEZE" else (2, 3, 1, 5)
        tree = schema.ModelT.InitFromPackedBuf(_function_model(lambda x: tf.reshape(x, target), shape)(), 0)
        subgraph = tree.subgraphs[0]
        (op,) = subgraph.operators
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = getattr(schema.BuiltinOperator, opcode)
        code.version = 1
        tree.operatorCodes.append(code)
        op.opcodeIndex = len(tree.operatorCodes) - 1
        if opcode == "SQUEEZE":
            op.inputs = op.inputs[:1]
            op.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
            op.builtinOptions = schema.SqueezeOptionsT()
            op.builtinOptions.squeezeDims = [2]
        else:
            axis = subgraph.tensors[op.inputs[1]]
            axis.shape = [1]
            tree.buffers[axis.buffer].data = np.frombuffer(np.int32(2).tobytes(), dtype=np.uint8)
            op.builtinOptionsType = schema.BuiltinOptions.ExpandDimsOptions
            op.builtinOptions = schema.ExpandDimsOptionsT()
        return _pack(tree)

    return convert


def _swapped_unary(opcode: str, shape: tuple[int, ...], *ranges: float) -> bytes:
    from tests.tinyengine_gen.ops._unary import swapped_unary_model

    return swapped_unary_model(opcode, shape, *ranges)


def _svdf_model() -> bytes:
    from tests.tinyengine_gen.ops.test_svdf import svdf_model

    return svdf_model(batch=2)


def _data_movement(fn: Callable, *shapes: tuple[int, ...]) -> Callable[[], bytes]:
    """int8 model of a tf.function, converted as the data-movement op tests convert theirs."""

    def convert() -> bytes:
        from tests.tinyengine_gen.ops.test_data_movement import _convert

        return _convert(fn, list(shapes))

    return convert


def _batch_matmul_model() -> bytes:
    from tests.tinyengine_gen.ops.test_batch_matmul import _convert

    return _convert(lambda a, b: tf.linalg.matmul(a, b), [(1, 4, 6), (1, 6, 5)])


def _space_to_batch_model() -> bytes:
    """SPACE_TO_BATCH_ND then BATCH_TO_SPACE_ND whose crops remove exactly the padding (TFLM
    pads with an offset it never sets, so no padded value may reach the output)."""
    from tests.tinyengine_gen.passes.test_fold_dilated import _convert_function

    def fn(x):
        phases = tf.space_to_batch_nd(x, (2, 3), [[1, 1], [2, 1]])
        return tf.batch_to_space(phases * 0.5 + 0.25, (2, 3), [[1, 1], [2, 1]])

    return _convert_function(fn, (1, 8, 6, 3))


def _unfixed_batch_reshape_model() -> bytes:
    """The zoo's reshape_dense exported with its batch unfixed: a shape subgraph of SHAPE,
    GATHER, REDUCE_PROD, PACK... folded at compile time."""
    from tests.tinyengine_gen.zoo_models import ZOO

    return convert_int8(ZOO["reshape_dense"])


def _fill_model() -> bytes:
    """FILL of a shape computed from the (unfixed) batch, added to the input."""

    def build():
        inputs = keras.Input((4, 3))
        fill = keras.layers.Lambda(lambda t: tf.fill(tf.stack([tf.shape(t)[0], 4, 3]), 0.5))(inputs)
        return keras.Model(inputs, keras.layers.Add()([inputs, fill]))

    return convert_int8(build)


def _tflm_oracle(model: bytes) -> bytes | None:
    """None where TFLM runs ``model`` itself, else the file with its shape subgraphs folded
    (REDUCE_PROD is not registered in the tflite-micro package)."""
    from tests.harness import with_shapes_folded
    from tflm_backend.tflm_runner import TflmRefusedError

    try:
        TflmModel(model)
    except (RuntimeError, TflmRefusedError):
        return with_shapes_folded(model)
    return None


def _two_inputs(layer: Callable[[], object], shape: tuple[int, ...]) -> Callable[[], object]:
    def build():
        a, b = keras.Input(shape, batch_size=1), keras.Input(shape, batch_size=1)
        return keras.Model([a, b], layer()([a, b]))

    return build


def _one_input(shape: tuple[int, ...], *layers: Callable[[], object]) -> Callable[[], object]:
    def build():
        inputs = keras.Input(shape, batch_size=1)
        x = inputs
        for layer in layers:
            x = layer()(x)
        return keras.Model(inputs, x)

    return build


def _layer(name: str, *args, **kwargs) -> Callable[[], object]:
    """A layer factory: keras (and TensorFlow) load only when a test builds its model."""
    return lambda: getattr(keras.layers, name)(*args, **kwargs)


OPERATOR_MODELS: dict[str, Callable[[], bytes]] = {
    "BATCH_MATMUL": _batch_matmul_model,
    "BATCH_TO_SPACE_ND": _space_to_batch_model,
    "FILL": _fill_model,
    "GATHER": _data_movement(lambda x: tf.gather(x, tf.constant([3, 0, 9, 3], tf.int32), axis=1), (1, 10, 4)),
    "PACK": _data_movement(lambda a, b, c: tf.stack([a, b, c], axis=1), (1, 5, 3), (1, 5, 3), (1, 5, 3)),
    "REDUCE_PROD": _unfixed_batch_reshape_model,
    "SHAPE": _unfixed_batch_reshape_model,
    "SPACE_TO_BATCH_ND": _space_to_batch_model,
    "SPLIT": _data_movement(lambda x: tuple(tf.split(x, 2, axis=3)), (1, 6, 6, 4)),
    "SPLIT_V": _data_movement(lambda x: tuple(tf.split(x, [1, 3, 2], axis=3)), (1, 6, 8, 6)),
    "STRIDED_SLICE": _data_movement(lambda x: x[:, 1:7, 2:, :3] * 1.0, (1, 8, 8, 4)),
    "TRANSPOSE_CONV": _keras_model(_one_input((4, 4, 3), _layer("Conv2DTranspose", 5, 3, 2, "same"))),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _keras_model(_one_input((5, 3), _layer("LSTM", 6, return_sequences=True))),
    "UNPACK": _data_movement(lambda x: tuple(tf.unstack(x, axis=1)), (1, 4, 3)),
    "ADD": _keras_model(_two_inputs(_layer("Add"), (5, 5, 3))),
    "AVERAGE_POOL_2D": _keras_model(_one_input((9, 9, 4), _layer("AveragePooling2D", 3, strides=2, padding="same"))),
    "CONCATENATION": _keras_model(_two_inputs(_layer("Concatenate"), (4, 4, 3))),
    "CONV_2D": _keras_model(
        _one_input((9, 9, 3), _layer("Conv2D", 5, 3, strides=2, padding="same", activation="relu"))
    ),
    "DEPTHWISE_CONV_2D": _keras_model(
        _one_input((9, 9, 4), _layer("DepthwiseConv2D", 3, strides=2, padding="same", activation="relu6"))
    ),
    "DEQUANTIZE": _keras_model(_one_input((6, 6, 2), _layer("Conv2D", 3, 3)), int8_io=False),
    "ELU": lambda: _swapped_unary("ELU", (4, 6), -3.0, 2.0, -1.0, 2.0),
    "EXPAND_DIMS": _reshape_rewritten("EXPAND_DIMS"),
    "FULLY_CONNECTED": _keras_model(_one_input((20,), _layer("Dense", 7, activation="relu"))),
    "HARD_SWISH": _function_model(lambda x: x * tf.nn.relu6(x + 3.0) / 6.0, (1, 3, 4, 5)),
    "L2_NORMALIZATION": _function_model(lambda x: tf.math.l2_normalize(x, axis=-1), (1, 3, 9)),
    "LEAKY_RELU": _function_model(lambda x: tf.nn.leaky_relu(x, alpha=0.3), (1, 4, 6)),
    "LOG_SOFTMAX": _function_model(tf.nn.log_softmax, (2, 10)),
    "LOGISTIC": _keras_model(_one_input((4, 6), _layer("Activation", "sigmoid"))),
    "MAX_POOL_2D": _keras_model(_one_input((8, 8, 3), _layer("MaxPooling2D", 2))),
    "MAXIMUM": _keras_model(_two_inputs(_layer("Maximum"), (3, 4, 5))),
    "MEAN": _keras_model(_one_input((6, 6, 5), _layer("GlobalAveragePooling2D"))),
    "MINIMUM": _keras_model(_two_inputs(_layer("Minimum"), (3, 4, 5))),
    "MUL": _keras_model(_two_inputs(_layer("Multiply"), (3, 4, 5))),
    "PAD": _keras_model(_one_input((5, 5, 3), _layer("ZeroPadding2D", ((1, 2), (0, 1))))),
    "PADV2": _function_model(lambda x: tf.pad(x, [[0, 0], [1, 2], [2, 0], [0, 1]], constant_values=0.5), (1, 4, 5, 3)),
    "PRELU": _keras_model(_one_input((4, 5, 3), _layer("PReLU", shared_axes=[1, 2]))),
    "QUANTIZE": _keras_model(_one_input((6, 6, 2), _layer("Conv2D", 3, 3)), int8_io=False),
    "REDUCE_MAX": _function_model(lambda x: tf.reduce_max(x, axis=[1, 2]), (1, 5, 4, 3)),
    "RELU": _function_model(tf.nn.relu, (1, 4, 6)),
    "RELU6": _function_model(tf.nn.relu6, (1, 4, 6)),
    "RESHAPE": _keras_model(_one_input((4, 6), _layer("Reshape", (3, 8)))),
    "RESIZE_BILINEAR": _keras_model(_one_input((3, 4, 2), _layer("UpSampling2D", 2, interpolation="bilinear"))),
    "RESIZE_NEAREST_NEIGHBOR": _keras_model(_one_input((3, 4, 2), _layer("UpSampling2D", 2, interpolation="nearest"))),
    "RSQRT": lambda: _swapped_unary("RSQRT", (4, 6), 0.0, 4.0, 0.0, 8.0),  # input zero point -128: all bytes valid
    "SOFTMAX": _keras_model(_one_input((10,), _layer("Softmax"))),
    "SQUARED_DIFFERENCE": _keras_model(
        _two_inputs(lambda: keras.layers.Lambda(lambda t: tf.math.squared_difference(t[0], t[1])), (3, 4, 5))
    ),
    "SQUEEZE": _reshape_rewritten("SQUEEZE"),
    "SUB": _keras_model(_two_inputs(_layer("Subtract"), (3, 4, 5))),
    "SVDF": lambda: _svdf_model(),
    "TANH": _function_model(tf.math.tanh, (1, 4, 6)),
    "TRANSPOSE": _keras_model(_one_input((3, 4, 5), _layer("Permute", (3, 1, 2)))),
}


def test_every_supported_operator_has_a_sanitizer_model():
    missing = sorted(set(supported_opcodes()) - set(OPERATOR_MODELS))
    assert not missing, f"add a small model for {missing} to OPERATOR_MODELS"


@pytest.mark.parametrize("opcode", sorted(OPERATOR_MODELS))
def test_operator_model_clean_under_sanitizers(tmp_path, opcode):
    if opcode not in supported_opcodes():
        pytest.skip(f"{opcode} has no planner yet")
    model = OPERATOR_MODELS[opcode]()
    assert opcode in {op.opcode for op in read_model_bytes(model).operators}
    oracle = _tflm_oracle(model)
    assert run_under_sanitizers(model, tmp_path, trials=3, seed=1, name=opcode.lower(), oracle=oracle) == 3


def test_sanitizers_catch_an_out_of_bounds_write(tmp_path):
    """The harness itself: a project whose kernel writes past its output must fail loudly."""
    model = OPERATOR_MODELS["RESHAPE"]()
    project = generate(read_model_bytes(model, source="reshape.tflite"))
    broken = copy.copy(project.files)
    broken["model.c"] = broken["model.c"].replace("  return 0;\n}", "  te_arena[TE_ARENA_BYTES] = 1;\n  return 0;\n}")
    assert broken["model.c"] != project.files["model.c"]
    folder = write_project(type(project)(project.compiled, broken, project.report), tmp_path / "project")
    (folder / "driver.c").write_text(_driver_source(1, 1))
    sources = ["driver.c", "model.c", *sorted(str(p.relative_to(folder)) for p in (folder / "kernels").glob("*.c"))]
    flags = [f for f in SANITIZER_FLAGS if f != "-Werror"]  # gcc rightly warns about the constant index
    assert subprocess.run(["gcc", *flags, "-I.", "-o", "driver", *sources, "-lm"], cwd=folder).returncode == 0
    (folder / "inputs.bin").write_bytes(bytes(int(np.prod(project.report["inputs"][0]["shape"]))))
    run = subprocess.run(
        ["./driver", "inputs.bin", "outputs.bin", "1"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **_SANITIZER_ENV},
    )
    assert run.returncode in (86, 87) and ("AddressSanitizer" in run.stderr or "runtime error" in run.stderr)
