"""python -m mcunet_tf.quickstart: the built-in default main job until the full pipeline lands.

Builds a small MobileNetV2-style Keras model in process (inverted residual blocks with
depthwise convolutions and residual adds, global pooling, a classifier with softmax),
converts it to a fully int8 TFLite model, compiles it with tinyengine_gen and prints the
side-by-side comparison with stock TFLite Micro: peak SRAM, Flash, host latency and
whether the outputs are identical. The weights are untrained: this job shows the compiler
and the comparison, not accuracy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from absl import flags

from tinyengine_gen import cli, flag_rules

FLAGS = flags.FLAGS
flags.DEFINE_string("out", "out/quickstart", "Folder for the .tflite model, the C project and comparison.json.")
flag_rules.folder_path("out")
flags.DEFINE_integer("resolution", 64, "Input resolution R of the demo model (R x R x 3).", lower_bound=16)
flags.DEFINE_integer("classes", 2, "Number of output classes.", lower_bound=2)
flags.DEFINE_integer("inputs", 20, "Random inputs on which the outputs are compared.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed for weights, calibration data and inputs.")


def build_demo_model(resolution: int, classes: int):
    """A small MobileNetV2-style tf-keras model (the op mix the real MCUNet models use)."""
    import tf_keras as keras

    layers = keras.layers
    inputs = keras.Input((resolution, resolution, 3), batch_size=1)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.ReLU(6.0)(layers.BatchNormalization()(x))
    for channels, stride, expand, kernel in [(16, 1, 3, 3), (24, 2, 4, 5), (24, 1, 4, 3), (40, 2, 6, 7), (40, 1, 3, 5)]:
        x = _inverted_residual(layers, x, channels, stride, expand, kernel)
    x = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(96, 1, use_bias=False)(x)))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Softmax()(layers.Dense(classes)(x))
    return keras.Model(inputs, outputs, name="quickstart_mbv2")


def _inverted_residual(layers, x, channels: int, stride: int, expand: int, kernel: int):
    shortcut = x
    hidden = int(x.shape[-1]) * expand
    y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(hidden, 1, use_bias=False)(x)))
    y = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False)(y)
    y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(channels, 1, use_bias=False)(y))
    if stride == 1 and int(shortcut.shape[-1]) == channels:
        y = layers.Add()([shortcut, y])
    return y


def convert_to_int8(model, resolution: int, seed: int) -> bytes:
    """Full-integer post-training quantisation with int8 input and output."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def calibration():
        for _ in range(32):
            yield [rng.uniform(0.0, 1.0, (1, resolution, resolution, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def main(argv: list[str]) -> None:
    del argv
    import tf_keras as keras

    from tflm_backend.side_by_side import compare_model, format_table
    from tinyengine_gen.atomic_io import write_bytes_atomically, write_json_atomically
    from tinyengine_gen.cli import report_user_errors

    keras.utils.set_random_seed(FLAGS.seed)
    out = Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    model = build_demo_model(FLAGS.resolution, FLAGS.classes)
    tflite_path = out / "quickstart.tflite"
    write_bytes_atomically(tflite_path, convert_to_int8(model, FLAGS.resolution, FLAGS.seed))
    print(f"built {model.name}: {model.count_params():,} parameters, int8 TFLite at {tflite_path}")
    result = report_user_errors(
        "mcunet_tf.quickstart",
        lambda: compare_model(tflite_path, inputs=FLAGS.inputs, seed=FLAGS.seed, work_dir=out),
    )
    print(f"generated C project: {out / tflite_path.stem}")
    print(format_table(result))
    write_json_atomically(out / "comparison.json", result.to_json())
    sys.exit(0 if result.bit_exact else 1)


if __name__ == "__main__":
    cli.run(main, program="mcunet_tf.quickstart", tensorflow=True)
