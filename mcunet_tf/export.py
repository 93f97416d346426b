"""Export a trained tf-keras model as a fully int8 TFLite model that TinyEngine can run.

The export is what the microcontroller will execute, so it is checked before anyone flashes
it: the converter is asked for int8 input and output, per-channel weights and calibration
from a representative dataset, and then

1. every tensor must be int8 (activations, weights) or int32 (biases, shapes): a float
   tensor left behind means a layer the converter could not quantise, and would need a
   float kernel on the device; the error names it;
2. the file must compile with ``tinyengine_gen`` and the generated C, built with gcc, must
   give the same output bytes as stock TensorFlow Lite Micro on a few random inputs.

The same converter settings serve a QAT model (its fake-quant ranges are used) and a float
model (post-training quantisation, calibrated on the representative data).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mcunet_tf.errors import McunetError

__all__ = [
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "check_int8_tensors",
    "convert_int8",
    "convert_int8_traced",
    "export_int8",
    "representative_inputs",
    "single_examples",
    "verify_bit_exact",
]

#: TFLite TensorType values an int8 export may hold (schema: INT32 = 2, INT8 = 9).
_ALLOWED_TYPES = {2: "int32", 9: "int8"}


class ExportError(McunetError, ValueError):
    """The model cannot be exported as an int8 model that TinyEngine runs bit-exactly."""


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    per_channel: bool = True
    #: how many representative examples calibrate the activation ranges
    calibration_samples: int = 100
    #: random int8 inputs on which the C build must equal TFLM (0 skips the check)
    verify_inputs: int = 3
    seed: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class ExportResult:
    model: bytes
    #: tinyengine_gen's report.json of the compiled model (empty when not verified)
    report: dict[str, Any]
    inputs_checked: int

    def write(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.model)
        return target


def single_examples(data: Any, input_rank: int) -> Iterator[tuple[np.ndarray, Any]]:
    """(x, y) pairs one example at a time from ``data``: a tf.data dataset or iterable of (x, y) or of x.

    ``input_rank`` is the rank of the model's input including the batch axis; an element
    whose x has that rank is a batch and is split, one rank less is a single example.
    ``y`` is None where the elements carry no labels.
    """
    for element in data:
        x, y = (element[0], element[1]) if isinstance(element, (tuple, list)) else (element, None)
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == input_rank:
            labels = [None] * len(x) if y is None else list(np.asarray(y).reshape(len(x), -1)[:, 0])
            yield from zip(x, labels)
        elif x.ndim == input_rank - 1:
            yield x, None if y is None else np.asarray(y).reshape(-1)[0]
        else:
            raise ValueError(
                f"an input of shape {x.shape} fits neither a batch nor an example of a rank-{input_rank} model input"
            )


def representative_inputs(data: Any, samples: int, input_rank: int) -> Callable[[], Iterable[list[np.ndarray]]]:
    """A converter ``representative_dataset``: the first ``samples`` inputs of ``data``, each as [1, ...]."""

    def generate():
        for x, _ in itertools.islice(single_examples(data, input_rank), samples):
            yield [x[None]]

    return generate


def convert_int8(model: Any, representative: Callable[[], Iterable], *, per_channel: bool = True) -> bytes:
    """Full-integer conversion: int8 input and output, int8 kernels only, calibrated on ``representative``."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if not per_channel:
        converter._experimental_disable_per_channel = True
    try:
        return converter.convert()
    except Exception as exc:  # the converter's own refusal (a layer with no int8 kernel, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{model.name}: the TFLite converter could not make an int8 model: {first}") from exc


def convert_int8_traced(
    model: Any, input_shape: tuple[int, ...], representative: Callable[[], Iterable], *, per_channel: bool = True
) -> bytes:
    """:func:`convert_int8` of the model's call traced as one function of a fixed input shape.

    Converting from the Keras model first serialises every layer to a SavedModel; tracing
    its call in a plain ``tf.Module`` yields the same int8 operators about four times
    faster, which is what benchmarks exporting dozens of sub-networks need.
    """
    import tensorflow as tf

    module = tf.Module()
    module.variables_ = list(model.variables)
    module.serve = tf.function(
        lambda x: model(x, training=False), input_signature=[tf.TensorSpec(input_shape, tf.float32)]
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.serve.get_concrete_function()], module)
    converter.experimental_lower_to_saved_model = False
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if not per_channel:
        converter._experimental_disable_per_channel = True
    try:
        return converter.convert()
    except Exception as exc:  # the converter's own refusal (a layer with no int8 kernel, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{model.name}: the TFLite converter could not make an int8 model: {first}") from exc


def check_int8_tensors(model: bytes, source: str = "<export>") -> None:
    """Raise ExportError naming the first tensor that is neither int8 nor int32."""
    from tinyengine_gen.frontend.schema import schema

    root = schema.Model.GetRootAs(model, 0)
    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    for s in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(s)
        for i in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(i)
            if tensor.Type() not in _ALLOWED_TYPES:
                name = (tensor.Name() or b"").decode("utf-8", "replace")
                kind = names.get(tensor.Type(), str(tensor.Type())).lower()
                raise ExportError(
                    f"{source}: tensor {i} '{name}' is {kind}; an int8 export holds only int8 and int32 tensors "
                    f"(a float tensor means a layer was left unquantised)"
                )


def _random_int8_inputs(details: list[dict], count: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        [rng.integers(-128, 128, size=tuple(info["shape"]), dtype=np.int8) for info in details] for _ in range(count)
    ]


def verify_bit_exact(
    model: bytes, *, inputs: int = 3, seed: int = 0, work_dir: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Compile ``model`` with tinyengine_gen, build it, and require TFLM's output bytes; returns report.json."""
    from tflm_backend.tflm_runner import TflmModel
    from tinyengine_gen.errors import TinyEngineError
    from tinyengine_gen.host.build import HostModel, build_host_library
    from tinyengine_gen.codegen.project import generate, write_project
    from tinyengine_gen.frontend.reader import read_model_bytes

    with tempfile.TemporaryDirectory(prefix="mcunet-export-") as scratch:
        try:
            project = generate(read_model_bytes(model, source="export.tflite"))
            out_dir = write_project(project, Path(work_dir or scratch) / "export")
            build_host_library(out_dir)
        except TinyEngineError as exc:
            raise ExportError(f"the exported model does not compile with tinyengine_gen: {exc}") from exc
        host, tflm = HostModel(out_dir), TflmModel(model)
        for trial, case in enumerate(_random_int8_inputs(host.input_details, inputs, seed)):
            for position, (ours, theirs) in enumerate(zip(host.run(case), tflm.run(case))):
                if ours.shape != theirs.shape or ours.tobytes() != theirs.tobytes():
                    differing = (
                        int(np.count_nonzero(ours.reshape(-1) != theirs.reshape(-1)))
                        if ours.shape == theirs.shape
                        else -1
                    )
                    raise ExportError(
                        f"the tinyengine_gen build differs from TFLite Micro on random input {trial}, output {position} "
                        f"({differing} of {theirs.size} values); run python -m tflm_backend.diff on the model to find the op"
                    )
        return project.report


def export_int8(
    model: Any,
    data: Any,
    options: ExportOptions = ExportOptions(),
    *,
    work_dir: str | os.PathLike[str] | None = None,
) -> ExportResult:
    """Convert ``model`` (float or QAT) to int8 TFLite, check its tensors, and verify it against TFLM."""
    representative = representative_inputs(data, options.calibration_samples, len(model.inputs[0].shape))
    flatbuffer = convert_int8(model, representative, per_channel=options.per_channel)
    check_int8_tensors(flatbuffer, source=f"{model.name} (exported)")
    if options.verify_inputs <= 0:
        return ExportResult(flatbuffer, {}, 0)
    report = verify_bit_exact(flatbuffer, inputs=options.verify_inputs, seed=options.seed, work_dir=work_dir)
    return ExportResult(flatbuffer, report, options.verify_inputs)
