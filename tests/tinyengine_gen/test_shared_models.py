"""The real int8 models in ../shared/models: compile, build with gcc, identical to TFLM.

Each model is checked on 20 random inputs (the C build; the numpy reference on two), and
the MLPerf VWW model on the real person / no-person photos.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.shared_assets import MODEL_NAMES, read_bmp_gray, shared_model, shared_sample
from tflm_backend.tflm_runner import TflmModel


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_shared_model_bit_exact_with_tflm(tmp_path, name):
    path = shared_model(name)
    model = path.read_bytes()
    comparison = compile_and_compare(model, tmp_path, trials=20, seed=7, reference_trials=1)
    assert comparison.checked == 20


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_shared_model_peak_sram_below_tflm_arena(tmp_path, name):
    path = shared_model(name)
    from tinyengine_gen.codegen.project import generate_from_file

    project = generate_from_file(path)
    tflm = TflmModel(path.read_bytes())
    inputs = [np.zeros(info["shape"], dtype=info["dtype"]) for info in tflm.input_details]
    assert project.report["peak_sram_bytes"] < tflm.arena_bytes(inputs)


_QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("variant", ["default", "speed", "int4"])
def test_shared_model_project_holds_every_header_its_files_include(name, variant):
    """A project copies only the kernels its layers use, and each family's Armv7E-M code
    (kernels/arm/) only where that family is used: every quoted #include of every file, in
    either build (the DSP one's arm/ headers too), must still find its file in the project."""
    from mcunet_tf.int4_weights import requantize_weights_int4
    from tinyengine_gen.codegen.project import generate
    from tinyengine_gen.compiler import CompileOptions
    from tinyengine_gen.frontend.reader import read_model_bytes

    model = shared_model(name).read_bytes()
    options = {"default": CompileOptions(), "speed": CompileOptions(prefer="speed"),
               "int4": CompileOptions(pack_int4=True)}[variant]
    if variant == "int4":
        model = requantize_weights_int4(model)
    files = generate(read_model_bytes(model, source=name), options).files
    missing = [
        (path, header)
        for path, text in sorted(files.items())
        for header in _QUOTED_INCLUDE.findall(text)
        if str(PurePosixPath(path).parent / header).removeprefix("./") not in files
    ]
    assert not missing, missing
    assert any(path.startswith("kernels/arm/") for path in files)


def _vww_input(image: np.ndarray, details: dict) -> np.ndarray:
    """MLPerf VWW preprocessing: grey replicated to RGB, pixel / 255, quantised to the input's int8."""
    rgb = np.repeat(image[..., None], 3, axis=-1).astype(np.float32) / 255.0
    scale, zero_point = details["scale"], details["zero_point"]
    q = np.round(rgb / scale) + zero_point
    return np.clip(q, -128, 127).astype(np.int8).reshape(details["shape"])


def test_mlperf_vww_real_photos_identical_and_person_scores_higher(tmp_path):
    path = shared_model("mlperf_vww_96_int8.tflite")
    person = read_bmp_gray(shared_sample("person.bmp"))
    no_person = read_bmp_gray(shared_sample("no_person.bmp"))
    from tinyengine_gen.frontend.reader import read_model

    graph = read_model(path)
    tensor = graph.tensor(graph.inputs[0])
    details = {"scale": tensor.quant.scale, "zero_point": tensor.quant.zero_point, "shape": tensor.shape}
    cases = [[_vww_input(person, details)], [_vww_input(no_person, details)]]
    comparison = compile_and_compare(path.read_bytes(), tmp_path, inputs=cases)
    person_scores = comparison.host.run(cases[0])[0].reshape(-1)
    no_person_scores = comparison.host.run(cases[1])[0].reshape(-1)
    assert person_scores[1] > no_person_scores[1]
