"""Batch-norm recalibration: fresh running statistics for a sub-network cut from a supernet.

Supernet BN statistics are running averages over *all* the sub-networks trained, so for
one particular sub-network they are off, and its accuracy with them is misleading
(once-for-all and MCUNet both recompute them before evaluating a candidate). This module
resets every BatchNormalization layer and sets its moving mean and variance to the
average of the batch statistics over a few training batches, exactly: with momentum
``1 - 1/n`` on the n-th batch, Keras's moving-average update becomes a running mean.
Only the statistics change; weights, gamma and beta are untouched.
"""

from __future__ import annotations


from collections.abc import Iterable

import numpy as np
import tf_keras as keras

__all__ = ["batch_norm_layers", "recalibrate_batch_norm"]


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batch_norm_layers(layer))
    return found


def recalibrate_batch_norm(model: keras.Model, batches: Iterable[np.ndarray]) -> int:
    """Replace the BN running statistics of ``model`` by their average over ``batches``; returns the batch count.

    ``batches`` yields input batches (images only). Raises ValueError when it yields none:
    silently keeping the supernet's statistics would make every candidate look the same.
    """
    layers = batch_norm_layers(model)
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, np.float32))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape, np.float32))
    count = 0
    try:
        for count, images in enumerate(batches, start=1):
            for layer in layers:
                layer.momentum = 1.0 - 1.0 / count
            model(images, training=True)
    finally:
        for layer, momentum in zip(layers, saved):
            layer.momentum = momentum
    if count == 0:
        raise ValueError(f"{model.name}: BN recalibration got no batches.")
    return count
