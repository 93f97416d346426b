"""Helpers the mcunet_tf tests share: trained-looking supernets and a fast int8 conversion."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np

from tests.model_factory import full_int8

__all__ = ["randomize_supernet", "convert_subnet_int8"]


def randomize_supernet(supernet, rng: np.random.Generator) -> None:
    """Give BN statistics, biases and kernel transforms non-default values, as training would.

    Untrained BN folds into all-zero biases, which the engine stores once however many layers
    share them; real models have distinct biases, and the Flash comparison should see that.
    """
    for variable in supernet.variables:
        name, shape = variable.name, variable.shape
        if "moving_variance" in name or "gamma" in name:
            variable.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif "moving_mean" in name or "beta" in name or "bias" in name:
            variable.assign(rng.normal(0.0, 0.2, shape).astype("float32"))
        elif "transform" in name:
            variable.assign(variable.numpy() + rng.normal(0.0, 0.05, shape).astype("float32"))


def convert_subnet_int8(
    model, resolution: int, rng: np.random.Generator, samples: int = 4, lower_to_saved_model: bool = False
) -> bytes:
    """Full-integer int8 TFLite (int8 input and output) of a Keras model with a random calibration set.

    The model's call is wrapped in a plain tf.Module: converting from the Keras model would
    first serialise every layer to a SavedModel, which takes four times longer and yields
    the same operators.
    """
    import tensorflow as tf

    module = tf.Module()
    module.variables_ = list(model.variables)
    module.serve = tf.function(
        lambda x: model(x, training=False), input_signature=[tf.TensorSpec((1, resolution, resolution, 3), tf.float32)]
    )

    def representative():
        for _ in range(samples):
            yield [rng.uniform(0.0, 1.0, (1, resolution, resolution, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.serve.get_concrete_function()], module)
    converter.experimental_lower_to_saved_model = lower_to_saved_model
    return full_int8(converter, representative).convert()
