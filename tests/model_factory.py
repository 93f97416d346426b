"""Small int8 TFLite models built in code with tf-keras and the TFLite converter.

Tests build the models they need here instead of shipping binary blobs: each is one to a
few ops, quantised with a random representative dataset, per channel or per tensor.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import functools
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["keras", "tf", "convert_int8", "convert_function", "full_int8", "random_inputs"]


@functools.cache
def _tf():
    import tensorflow as tf

    return tf


@functools.cache
def _keras():
    import tf_keras

    return tf_keras


def __getattr__(name: str):
    if name == "tf":
        return _tf()
    if name == "keras":
        return _keras()
    raise AttributeError(name)


def convert_int8(
    build: Callable[[], object],
    *,
    per_channel: bool = True,
    int8_io: bool = True,
    seed: int = 0,
    samples: int = 16,
    spread: float = 1.0,
) -> bytes:
    """Convert the tf-keras model made by ``build()`` to a fully int8 TFLite flatbuffer."""
    tf = _tf()
    _keras().utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed + 1)
    shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]

    def representative():
        for _ in range(samples):
            yield [rng.uniform(-spread, spread, (1, *s)).astype(np.float32) for s in shapes]

    converter = full_int8(tf.lite.TFLiteConverter.from_keras_model(model), representative, int8_io=int8_io)
    if not per_channel:
        converter._experimental_disable_per_channel = True
    return converter.convert()


def convert_function(fn: Callable, shape: Sequence[int], *, int8: bool = True) -> bytes:
    """A one-input tf.function -> TFLite flatbuffer: fully int8 (random representative data) or float."""
    tf = _tf()
    concrete = tf.function(fn, input_signature=[tf.TensorSpec(shape, tf.float32)]).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], concrete)
    if int8:
        rng = np.random.default_rng(0)
        full_int8(converter, lambda: ([rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(8)))
    return converter.convert()


def full_int8(converter, representative: Callable[[], object], *, int8_io: bool = True):
    """``converter`` set up for a fully int8 model calibrated on ``representative`` (a
    representative dataset: a callable yielding lists of float inputs); with ``int8_io`` the
    model's inputs and outputs are int8 too. The one place the tests spell this out."""
    tf = _tf()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter


def random_inputs(details: Sequence[dict], rng: np.random.Generator) -> list[np.ndarray]:
    """Random inputs matching report/TFLM input details (int8 full range, floats in [-1, 1])."""
    result = []
    for info in details:
        dtype = np.dtype(info["dtype"])
        shape = tuple(int(d) for d in info["shape"])
        if dtype == np.int8:
            result.append(rng.integers(-128, 128, size=shape, dtype=np.int8))
        else:
            result.append(rng.uniform(-1.0, 1.0, size=shape).astype(dtype))
    return result
