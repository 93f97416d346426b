"""Legacy files: 1-D biases that carry the filter's ``quantized_dimension`` (3), as in
TFLM's person_detect.tflite. TFLite Micro never reads a bias's quantized_dimension and
runs such a file; so do we, bit-exact (through ``python -m tflm_backend.compare``)."""

import json
import subprocess
import sys
from pathlib import Path

import flatbuffers
import pytest

from tests.model_factory import convert_int8, keras
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.frontend.schema import schema

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _legacy_model() -> bytes:
    def build():
        inputs = keras.Input((10, 10, 4), batch_size=1)
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(inputs)
        x = keras.layers.Conv2D(6, 1)(x)
        return keras.Model(inputs, keras.layers.Conv2D(3, 3, strides=2)(x))

    tree = schema.ModelT.InitFromPackedBuf(bytearray(convert_int8(build)), 0)
    edited = 0
    for tensor in tree.subgraphs[0].tensors:
        quant = tensor.quantization
        if len(tensor.shape) == 1 and quant is not None and quant.scale is not None and len(quant.scale) > 1:
            quant.quantizedDimension = 3
            edited += 1
    assert edited >= 2
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_bias_with_the_filters_quantized_dimension_is_read_as_a_vector():
    graph = read_model_bytes(_legacy_model(), source="legacy.tflite")
    biases = [t for t in graph.tensors if len(t.shape) == 1 and t.quant is not None and t.quant.per_channel]
    assert biases and all(t.quant.axis == 0 for t in biases)


@pytest.mark.slow
def test_compare_is_bit_exact_on_a_legacy_file(tmp_path):
    path = tmp_path / "legacy.tflite"
    path.write_bytes(_legacy_model())
    out = tmp_path / "result.json"
    result = subprocess.run(
        [sys.executable, "-m", "tflm_backend.compare", f"--tflite={path}", "--inputs=10", f"--json={out}", "--repeats=3"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "outputs vs TFLM on 10 inputs: identical" in result.stdout, result.stdout[-2000:]
    figures = json.loads(out.read_text())
    found = [value for value in _walk(figures) if isinstance(value, dict) and "bit_exact" in value and "inputs_checked" in value]
    assert found and all(entry["bit_exact"] is True and entry["inputs_checked"] == 10 for entry in found), figures


def _walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
