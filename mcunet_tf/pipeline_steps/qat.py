"""Step 4, QAT and int8 export: the best sub-network extracted, BN recalibrated, fine-tuned, exported."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcunet_tf.arch import ArchConfig
from mcunet_tf.export import check_int8_tensors, convert_int8, representative_inputs
from mcunet_tf.int4_weights import requantize_weights_int4
from mcunet_tf.pipeline_steps.search import SearchResult
from mcunet_tf.pipeline_steps.step import StepResult
from mcunet_tf.qat import QatOptions, fine_tune_qat, keras_accuracy, tflite_accuracy
from mcunet_tf.training.checkpointing import load_supernet
from mcunet_tf.training.data import load_split
from mcunet_tf.training.evaluation import recalibrated_subnet
from tinyengine_gen.atomic_io import write_bytes_atomically

if TYPE_CHECKING:
    from mcunet_tf.pipeline_steps.context import RunContext

__all__ = ["QatResult", "QatStep"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class QatResult(StepResult):
    float_accuracy: float
    ptq_int8_accuracy: float
    model_bytes: int
    qat: bool
    weight_bits: int
    model_accuracy: float  # the exported file, at weight_bits
    tflite: str


def _steps(train: Any, batch_size: int) -> int:
    return max(1, len(train.images) // batch_size) if train.images is not None else 100


class QatStep:
    name = "qat"
    title = "QAT + int8 TFLite export"
    result_type = QatResult

    def run(self, context: RunContext, folder: Path) -> QatResult:
        o, w = context.options, context.options.work
        supernet, manifest, _ = load_supernet(context.out / "supernet")
        config = ArchConfig.from_json(context.result(SearchResult).best["arch_json"])
        train = load_split(manifest.data, "train")
        model = recalibrated_subnet(supernet, config, train.take_images(w.batch_size, 4))
        images, labels = context.test()
        test_batches = [(images[i:i + 256], labels[i:i + 256]) for i in range(0, len(images), 256)]
        representative = representative_inputs(train.batches(w.batch_size), 100, 4)
        float_accuracy = keras_accuracy(model, test_batches)
        ptq = convert_int8(model, representative)
        int8 = ptq
        if w.qat_epochs > 0:
            context.progress.note(f"float accuracy {float_accuracy:.3f}, post-training int8 exported; "
                                  f"QAT fine-tuning {w.qat_epochs} epoch(s)")
            qat_model = fine_tune_qat(
                model, train.batches(w.batch_size, shuffle=True, seed=o.seed).repeat(),
                QatOptions(epochs=w.qat_epochs, steps_per_epoch=w.qat_steps or _steps(train, w.batch_size),
                           weight_bits=o.weight_bits),
            )
            context.progress.note("QAT done; exporting int8 TFLite")
            int8 = convert_int8(qat_model, representative)
        if o.weight_bits == 4:  # filters the converter left int8 (or all, without QAT) onto 4-bit levels
            int8 = requantize_weights_int4(int8)
        check_int8_tensors(int8, source="qat/model_int8.tflite")
        write_bytes_atomically(folder / "model_int8.tflite", int8)
        write_bytes_atomically(folder / "model_ptq_int8.tflite", ptq)
        ptq_accuracy = tflite_accuracy(ptq, test_batches)
        return QatResult(
            float_accuracy=float_accuracy, ptq_int8_accuracy=ptq_accuracy, model_bytes=len(int8),
            qat=w.qat_epochs > 0,
            weight_bits=o.weight_bits,
            model_accuracy=tflite_accuracy(int8, test_batches),
            tflite=str(folder / "model_int8.tflite"),
            summary=f"float {float_accuracy:.3f}, post-training int8 {ptq_accuracy:.3f}; "
                    f"{'QAT' if w.qat_epochs > 0 else 'post-training (no QAT)'} int8 model {len(int8):,} B",
        )
