"""Quantisation-aware fine-tuning, and the accuracy it buys, side by side.

A sub-network that ``mcunet_tf`` extracts is a plain tf-keras model (Conv2D,
DepthwiseConv2D, BatchNormalization, ReLU, Add, GlobalAveragePooling2D, Dense). Post-
training int8 quantisation of such small networks often costs accuracy (depthwise layers
with a few wide-ranged channels suffer most); a short QAT fine-tune with
``tfmot.quantization.keras.quantize_model`` trains the weights with the int8 rounding in the
loop and usually recovers it. ``compare_accuracy`` shows whether it did: float, QAT-int8
and post-training-int8 accuracy on the same split, the int8 ones measured on the exported
TFLite files (what the microcontroller runs), not on fake-quant Keras models.

tfmot works on Keras 2 only: run with ``TF_USE_LEGACY_KERAS=1`` and build models with tf_keras.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mcunet_tf.errors import McunetError
from mcunet_tf.export import ExportOptions, convert_int8, representative_inputs, single_examples

__all__ = [
    "AccuracyReport",
    "QatError",
    "QatOptions",
    "compare_accuracy",
    "fine_tune_qat",
    "keras_accuracy",
    "quantize_aware",
    "tflite_accuracy",
]


class QatError(McunetError, ValueError):
    """The model cannot be made quantisation-aware (a subclassed model, an unsupported layer)."""


@dataclasses.dataclass(frozen=True)
class QatOptions:
    epochs: int = 1
    #: batches per epoch; None runs through the dataset once per epoch
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-4
    #: whether the model outputs logits; None: True unless its last layer is a softmax
    from_logits: bool | None = None


def _ends_in_softmax(model: Any) -> bool:
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return type(last).__name__ == "Softmax" or getattr(activation, "__name__", "") == "softmax"


def quantize_aware(model: Any) -> Any:
    """``model`` with fake-quant wrappers (tfmot's default 8-bit scheme, per-channel weights)."""
    import tensorflow_model_optimization as tfmot

    try:
        return tfmot.quantization.keras.quantize_model(model)
    except (ValueError, RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QatError(
            f"{getattr(model, 'name', model)}: tfmot cannot make it quantisation-aware ({first}); "
            "QAT needs a tf_keras Sequential or functional model of standard layers"
        ) from exc


def fine_tune_qat(model: Any, train_data: Any, options: QatOptions = QatOptions(), validation_data: Any = None) -> Any:
    """Quantisation-aware fine-tuning of ``model`` on batched (x, y) data with integer labels."""
    import tf_keras as keras

    qat = quantize_aware(model)
    from_logits = (not _ends_in_softmax(model)) if options.from_logits is None else options.from_logits
    qat.compile(
        optimizer=keras.optimizers.Adam(options.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
        metrics=["accuracy"],
    )
    qat.fit(
        train_data,
        epochs=options.epochs,
        steps_per_epoch=options.steps_per_epoch,
        validation_data=validation_data,
        verbose=0,
    )
    return qat


def keras_accuracy(model: Any, data: Any) -> float:
    """Top-1 accuracy of a (float or fake-quant) Keras model over (x, y) data, batched or not."""
    rank = len(model.inputs[0].shape)
    correct = total = 0
    for x, y in data:
        x = np.asarray(x, np.float32)
        x = x[None] if x.ndim == rank - 1 else x
        scores = np.asarray(model(x, training=False))
        labels = np.asarray(y).reshape(-1)
        correct += int(np.sum(np.argmax(scores.reshape(len(labels), -1), axis=-1) == labels))
        total += len(labels)
    return correct / max(total, 1)


def tflite_accuracy(model: bytes, data: Any) -> float:
    """Top-1 accuracy of an int8 TFLite model over float (x, y) data; x is quantised as the input asks."""
    import tensorflow as tf

    from tinyengine_gen.ops.quantize import quantize_reference

    interpreter = tf.lite.Interpreter(model_content=model)
    interpreter.allocate_tensors()
    given, produced = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero_point = given["quantization"]
    correct = total = 0
    for x, y in single_examples(data, len(given["shape"])):
        q = quantize_reference(x, scale, zero_point)  # exactly as TFLite's QUANTIZE rounds
        interpreter.set_tensor(given["index"], q.reshape(given["shape"]))
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(produced["index"])) == int(y))
        total += 1
    return correct / max(total, 1)


@dataclasses.dataclass(frozen=True)
class AccuracyReport:
    float_accuracy: float
    qat_int8_accuracy: float
    ptq_int8_accuracy: float

    def to_json(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    def format_table(self) -> str:
        rows = [
            ("float (Keras)", self.float_accuracy),
            ("QAT, int8 TFLite", self.qat_int8_accuracy),
            ("post-training int8 TFLite", self.ptq_int8_accuracy),
        ]
        return "\n".join(f"{name:<28}{value * 100:7.2f} %" for name, value in rows)


def compare_accuracy(
    float_model: Any, qat_model: Any, eval_data: Any, calibration_data: Any, options: ExportOptions | None = None
) -> AccuracyReport:
    """Float, QAT-int8 and post-training-int8 accuracy of the same network on ``eval_data``.

    Both int8 models are converted with the exporter's settings; the post-training one is
    calibrated on ``calibration_data`` (a training split, never the evaluation one).
    """
    options = options or ExportOptions()
    rank = len(float_model.inputs[0].shape)
    representative = representative_inputs(calibration_data, options.calibration_samples, rank)
    qat_int8 = convert_int8(qat_model, representative, per_channel=options.per_channel)
    ptq_int8 = convert_int8(float_model, representative, per_channel=options.per_channel)
    return AccuracyReport(
        float_accuracy=keras_accuracy(float_model, eval_data),
        qat_int8_accuracy=tflite_accuracy(qat_int8, eval_data),
        ptq_int8_accuracy=tflite_accuracy(ptq_int8, eval_data),
    )
