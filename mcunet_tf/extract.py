"""Cut a sub-network out of the supernet as a plain tf-keras Model of standard layers.

The result uses only Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Add,
GlobalAveragePooling2D and Dense, carries the inherited weights (sliced channels, and
for small kernels the transformed centre of the largest one), and so converts to int8
TFLite and takes tfmot's quantisation-aware training like any hand-written model. In
inference mode it computes what the supernet computes with the same config active.
"""

from __future__ import annotations


from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tf_keras as keras

from mcunet_tf.arch import ArchConfig
from mcunet_tf.blueprint import STEM_KERNEL, STEM_STRIDE, BlockSpec, blueprint
from mcunet_tf.errors import InvalidArchitectureError
from mcunet_tf.layers import BN_EPSILON, BN_MOMENTUM, ElasticBatchNormalization, ElasticMBConv
from mcunet_tf.supernet import Supernet

__all__ = ["extract_subnet"]

_Weights = list[np.ndarray]


def extract_subnet(supernet: Supernet, config: ArchConfig) -> keras.Model:
    """A standalone model for ``config`` (input ``[R, R, 3]``) with the supernet's weights."""
    if abs(config.width - supernet.width) > 1e-9:
        raise InvalidArchitectureError(
            f"architecture width {config.width} does not match the supernet's {supernet.width}."
        )
    plan = blueprint(config, supernet.space.whole)  # (any network the supernet runs, redistributed or not)
    assign: list[tuple[keras.layers.Layer, _Weights]] = []

    def apply(layer: keras.layers.Layer, x: tf.Tensor, weights: _Weights | None = None) -> tf.Tensor:
        y = layer(x)
        if weights is not None:
            assign.append((layer, weights))
        return y

    inputs = keras.Input((plan.resolution, plan.resolution, 3), name="image")
    stem = _conv(plan.stem_channels, STEM_KERNEL, STEM_STRIDE, "stem_conv")
    x = apply(stem, inputs, supernet.stem_conv.get_weights())
    x = apply(_batch_norm("stem_bn"), x, supernet.stem_bn.get_weights())
    x = keras.layers.ReLU(6.0, name="stem_relu")(x)
    for spec, block in zip(plan.blocks, _active_blocks(supernet, config)):
        x = _block(spec, block, x, apply)
    x = apply(_conv(plan.head_channels, 1, 1, "head_conv"), x, supernet.head_conv.get_weights())
    x = apply(_batch_norm("head_bn"), x, supernet.head_bn.get_weights())
    x = keras.layers.ReLU(6.0, name="head_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = apply(keras.layers.Dense(plan.num_classes, name="classifier"), x, supernet.classifier.get_weights())
    model = keras.Model(inputs, outputs, name=f"subnet_w{config.width:g}_r{config.resolution}")
    for layer, weights in assign:
        layer.set_weights(weights)
    return model


def _active_blocks(supernet: Supernet, config: ArchConfig) -> list[ElasticMBConv]:
    blocks = [supernet.first_block]
    for stage_blocks, depth in zip(supernet.stage_blocks, config.depths):
        blocks.extend(stage_blocks[:depth])
    return blocks


def _conv(filters: int, kernel_size: int, strides: int, name: str) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name)


def _batch_norm(name: str) -> keras.layers.BatchNormalization:
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def _bn_weights(bn: ElasticBatchNormalization | None, channels: int) -> _Weights:
    assert bn is not None
    return [t.numpy() for t in bn.active_parameters(channels)]


def _block(spec: BlockSpec, block: ElasticMBConv, x: tf.Tensor, apply: Callable) -> tf.Tensor:
    """One inverted-residual block of standard layers, mirroring ElasticMBConv.call."""
    shortcut, hidden, name = x, spec.hidden_channels, spec.name
    if spec.has_expand:
        assert block.expand_conv is not None
        kernel = block.expand_conv.active_kernel(spec.in_channels, hidden).numpy()
        x = apply(_conv(hidden, 1, 1, f"{name}_expand"), x, [kernel])
        x = apply(_batch_norm(f"{name}_expand_bn"), x, _bn_weights(block.expand_bn, hidden))
        x = keras.layers.ReLU(6.0, name=f"{name}_expand_relu")(x)
    depthwise = keras.layers.DepthwiseConv2D(
        spec.kernel_size, strides=spec.stride, padding="same", use_bias=False, name=f"{name}_depthwise"
    )
    x = apply(depthwise, x, [block.depthwise.active_kernel(spec.kernel_size, hidden).numpy()])
    x = apply(_batch_norm(f"{name}_depthwise_bn"), x, _bn_weights(block.depthwise_bn, hidden))
    x = keras.layers.ReLU(6.0, name=f"{name}_depthwise_relu")(x)
    kernel = block.project_conv.active_kernel(hidden, spec.out_channels).numpy()
    x = apply(_conv(spec.out_channels, 1, 1, f"{name}_project"), x, [kernel])
    x = apply(_batch_norm(f"{name}_project_bn"), x, _bn_weights(block.project_bn, spec.out_channels))
    if spec.residual:
        x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return x
