"""The zoo: typical Keras models as written (batch left unfixed), each either compiled and
bit-exact with TFLite Micro, or one TFLite Micro itself cannot run.

Where TFLite Micro cannot run a file as exported, our build of it is checked bit for bit
against TFLite Micro running an equivalent file:

* shape subgraphs with REDUCE_PROD (not registered in the tflite-micro package): the same
  file with those subgraphs evaluated into constants (same weights, same quantisation);
* a dynamic SPACE_TO_BATCH_ND (dilated convolution) keeps placeholder batch-1 shapes for
  its phase images that TFLM does not resize, so its outputs are not the model's: the same
  file with those shapes written out (``with_phase_batches``). A batch-1 re-export is no
  oracle: there the converter fuses a following RELU into the convolution, one
  requantisation fewer than the file has.

A model that needs an operator this branch does not compile yet is an expected failure
that names the operator; the reason is computed from the registry, so the test runs for
real once the operator is registered. Everything else that fails, fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.harness import compile_and_compare, with_phase_batches, with_shapes_folded
from tests.model_factory import convert_int8, keras
from tests.tinyengine_gen.zoo_models import CONVERTED_APART, ZOO, randomise_batch_norm
from tflm_backend.tflm_runner import TflmModel, TflmRefusedError
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.base import supported_opcodes

#: Operators of issue #16 that are still being written (on this branch or the opsmath one).
OPEN_OPERATORS = frozenset(
    {
        "SUB", "MINIMUM", "MAXIMUM", "RELU", "RELU6", "LEAKY_RELU", "PRELU", "HARD_SWISH", "TANH", "ELU",
        "LOG_SOFTMAX", "REDUCE_MAX", "RSQRT", "SQUARED_DIFFERENCE", "L2_NORMALIZATION", "RESIZE_BILINEAR",
    }
)  # fmt: skip

#: Quick ones kept in the default suite.
DEFAULT = ("reshape_dense", "slicing_splitting")

TRIALS = 5


def _convert(name: str) -> bytes:
    def build():
        model = {**ZOO, **CONVERTED_APART}[name]()
        randomise_batch_norm(model)
        return model

    return convert_int8(build)


def _xfail_if_awaiting_operators(model: bytes) -> None:
    tree_ops = set(_opcodes(model))
    missing = sorted(tree_ops - set(supported_opcodes()))
    if missing and set(missing) <= OPEN_OPERATORS:
        pytest.xfail(f"awaits operator(s) {', '.join(missing)} (issue #16)")


def _opcodes(model: bytes) -> list[str]:
    from tinyengine_gen.frontend.schema import BUILTIN_OPERATOR_NAMES, schema

    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    codes = [BUILTIN_OPERATOR_NAMES[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in tree.operatorCodes]
    return [codes[op.opcodeIndex] for sg in tree.subgraphs for op in sg.operators]


def _tflm_runs(model: bytes) -> bool:
    try:
        TflmModel(model)
    except (RuntimeError, TflmRefusedError):
        return False
    return True


def _tflm_runs_faithfully(model: bytes, fixed: bytes) -> bool:
    """TFLM runs the file and gives what it gives on the equivalent ``fixed`` file.

    TFLM does not resize tensors: where the converter left placeholder shapes (a dynamic
    SPACE_TO_BATCH_ND's phase images) it computes on them and its outputs are not the model's.
    """
    if not _tflm_runs(model):
        return False
    tflm, oracle = TflmModel(model), TflmModel(fixed)
    rng = np.random.default_rng(99)
    case = [rng.integers(-128, 128, tuple(t.shape), dtype=np.int8) for t in _probe_shapes(model)]
    return all(np.array_equal(a, b.reshape(a.shape)) for a, b in zip(tflm.run(case), oracle.run(case)))


def _probe_shapes(model: bytes):
    graph = read_model_bytes(model)
    return [graph.tensor(i) for i in graph.inputs]


def _check(name: str, tmp_path) -> None:
    _check_model(_convert(name), tmp_path)


def _check_model(model: bytes, tmp_path) -> None:
    _xfail_if_awaiting_operators(model)
    oracle = with_shapes_folded(model)
    if "SPACE_TO_BATCH_ND" in _opcodes(model):
        oracle = with_phase_batches(oracle)
    assert _tflm_runs(oracle), "TFLM cannot run the equivalent file either"
    if _tflm_runs_faithfully(model, oracle):
        compile_and_compare(model, tmp_path, trials=TRIALS)
    else:
        compile_and_compare(model, tmp_path, trials=TRIALS, tflm_model=oracle)


@pytest.mark.parametrize("name", DEFAULT)
def test_zoo_default(tmp_path, name):
    _check(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(ZOO) - set(DEFAULT)))
def test_zoo(tmp_path, name):
    _check(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONVERTED_APART))
def test_zoo_converted_apart(tmp_path, name):
    """A model whose conversion crashes the TFLite calibrator (the default GRU's WHILE loop,
    segmentation fault) is converted in a child process: a crash is recorded as what it is
    (nothing for TFLM or us to run); a file, if the converter makes one, is checked like the rest."""
    target = tmp_path / f"{name}.tflite"
    code = f"from tests.tinyengine_gen.test_zoo import _convert; open({str(target)!r}, 'wb').write(_convert({name!r}))"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, timeout=600)
    if result.returncode < 0:
        pytest.xfail(f"the TFLite converter crashes on {name} (signal {-result.returncode}): no int8 file to run")
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    _check_model(target.read_bytes(), tmp_path)


def test_zoo_size():
    assert len(ZOO) >= 30
    assert keras is not None
