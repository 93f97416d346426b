"""How a sub-network of a trained supernet is scored: extract, recalibrate BN, measure accuracy.

This is what a search trial does and what the training loop reports after each epoch, so
the two numbers mean the same thing: the accuracy of the standalone model (standard
layers, inherited weights) that would be exported, with BN statistics recomputed for it
on a few training batches.
"""

from __future__ import annotations


from collections.abc import Iterable, Sequence

import numpy as np
import tf_keras as keras

from mcunet_tf.arch import ArchConfig
from mcunet_tf.extract import extract_subnet
from mcunet_tf.supernet import Supernet
from mcunet_tf.training.bn_recalibration import recalibrate_batch_norm

__all__ = ["model_accuracy", "recalibrated_subnet", "subnet_accuracy"]


def model_accuracy(model: keras.Model, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> float:
    """Top-1 accuracy of ``model`` (inference mode) over (images, labels) batches."""
    correct = total = 0
    for images, labels in batches:
        predicted = np.argmax(np.asarray(model(images, training=False)), axis=-1)
        correct += int(np.sum(predicted == np.asarray(labels).reshape(-1)))
        total += len(predicted)
    if total == 0:
        raise ValueError(f"{model.name}: no examples to measure accuracy on.")
    return correct / total


def recalibrated_subnet(supernet: Supernet, config: ArchConfig, calibration: Sequence[np.ndarray]) -> keras.Model:
    """The extracted sub-network with BN statistics recomputed on ``calibration`` image batches."""
    model = extract_subnet(supernet, config)
    recalibrate_batch_norm(model, calibration)
    return model


def subnet_accuracy(
    supernet: Supernet,
    config: ArchConfig,
    calibration: Sequence[np.ndarray],
    evaluation: Sequence[tuple[np.ndarray, np.ndarray]],
) -> float:
    return model_accuracy(recalibrated_subnet(supernet, config, calibration), evaluation)
