"""Every sub-network of a supernet in one traced graph: the choices are tensors (masks), not Python state.

``Supernet.set_active`` is Python state, so a ``tf.function`` of the supernet retraces for
every sampled sub-network (seconds each, and the sandwich rule draws new ones every
step), while running it eagerly is about ten times slower than a graph. Training
therefore runs the supernet's own weights through an equivalent *masked* network whose
choices arrive as tensors (:meth:`MaskedSupernet.encode`):

* kernel size: the depthwise kernel of each size comes from the layer's own
  ``active_kernel`` (centre crop through the learned transforms), is zero-padded to the
  largest size and selected with a one-hot weight. A zero-padded odd kernel gives the
  same SAME-padded output as the small kernel, strides included (both windows share
  their centre);
* expand ratio: the hidden channels beyond ``in_channels * ratio`` are zeroed after each
  BN + ReLU6, which is what slicing the weights computes;
* depth: a block past its stage's depth passes its input through (``x + 0 * (f(x) - x)``).

Batch-norm statistics in training mode are per channel, so the active channels see exactly
the statistics the sliced network sees; moving averages are updated only for the active
channels of active blocks, as ``ElasticBatchNormalization`` does. The tests compare the
logits and the BN updates with ``Supernet`` itself on random sub-networks.

Every sub-network costs what the largest costs (inactive parts are computed, then
masked): on small CPU-trained supernets that is still several times faster than eager
execution, and there is a single trace to wait for. The gradients of inactive weights are
zeros rather than absent.
"""

from __future__ import annotations


import dataclasses

import numpy as np
import tensorflow as tf

from mcunet_tf.arch import ArchConfig, check_arch
from mcunet_tf.errors import InvalidArchitectureError
from mcunet_tf.layers import ElasticBatchNormalization, ElasticMBConv, relu6
from mcunet_tf.supernet import Supernet

__all__ = ["Encoding", "MaskedSupernet"]


@dataclasses.dataclass(frozen=True, eq=False)
class Encoding:
    """A sub-network as arrays over the supernet's ``stages x max_depth`` elastic blocks (stage-major)."""

    #: [blocks, len(kernel_sizes)] one-hot float32 of each block's kernel size
    kernel: np.ndarray
    #: [blocks] int32: active hidden channels (in_channels * expand ratio)
    hidden: np.ndarray
    #: [blocks] float32: 1 for blocks within their stage's depth, 0 for skipped ones
    active: np.ndarray
    #: [blocks] float32: 1 where the expansion conv runs (expand ratio > 1)
    expand: np.ndarray

    def tensors(self) -> dict[str, tf.Tensor]:
        return {f.name: tf.constant(getattr(self, f.name)) for f in dataclasses.fields(self)}


class MaskedSupernet:
    """``masked(encoding, images, training)`` computes ``supernet(images)`` of the encoded sub-network."""

    def __init__(self, supernet: Supernet) -> None:
        if min(supernet.space.depths) < 1:
            raise InvalidArchitectureError("masked supernet: every stage must keep at least one block.")
        self.supernet = supernet
        self.space = supernet.space
        self.blocks: list[ElasticMBConv] = [block for stage in supernet.stage_blocks for block in stage]

    def encode(self, config: ArchConfig) -> Encoding:
        check_arch(config, self.space.whole)  # (the whole space, redistributed or not)
        if abs(config.width - self.supernet.width) > 1e-9:
            raise InvalidArchitectureError(
                f"architecture width {config.width} does not match this supernet's width {self.supernet.width}."
            )
        count, depth = len(self.blocks), self.space.max_depth
        kernel = np.zeros((count, len(self.space.kernel_sizes)), np.float32)
        hidden = np.zeros(count, np.int32)
        active = np.zeros(count, np.float32)
        expand = np.zeros(count, np.float32)
        for s, stage in enumerate(config.stages):
            for b in range(depth):
                i, block = s * depth + b, self.blocks[s * depth + b]
                choice = stage[b] if b < len(stage) else stage[-1]  # skipped blocks: any valid choice
                kernel[i, self.space.kernel_sizes.index(choice.kernel_size)] = 1.0
                hidden[i] = block.in_channels * choice.expand_ratio
                active[i] = 1.0 if b < len(stage) else 0.0
                expand[i] = 1.0 if choice.expand_ratio > 1 else 0.0
        return Encoding(kernel, hidden, active, expand)

    def __call__(self, encoding: dict[str, tf.Tensor], images: tf.Tensor, training: bool) -> tf.Tensor:
        net = self.supernet
        x = relu6(net.stem_bn(net.stem_conv(images), training=training))
        x = net.first_block(x, training=training)
        depth = self.space.max_depth
        for i, block in enumerate(self.blocks):
            y = self._block(block, i, encoding, x, training)
            x = y if i % depth == 0 else x + encoding["active"][i] * (y - x)
        x = relu6(net.head_bn(net.head_conv(x), training=training))
        return net.classifier(net.pool(x))

    def _block(self, block: ElasticMBConv, i: int, encoding: dict[str, tf.Tensor], x: tf.Tensor, training: bool):
        hidden_max = block.in_channels * block.expand_ratios[-1]
        mask = tf.cast(tf.sequence_mask(encoding["hidden"][i], hidden_max), x.dtype)
        update = encoding["active"][i]
        h = x
        if block.expand_conv is not None:
            expanded = tf.nn.conv2d(x, block.expand_conv.kernel, strides=1, padding="VALID")
            expanded = relu6(_batch_norm(block.expand_bn, expanded, mask, update * encoding["expand"][i], training))
            if 1 in block.expand_ratios:  # ratio 1 skips the expansion: the input itself, zero-padded
                passthrough = tf.pad(x, [[0, 0], [0, 0], [0, 0], [0, hidden_max - block.in_channels]])
                expanded = tf.where(encoding["expand"][i] > 0, expanded, passthrough)
            h = expanded * mask
        h = tf.nn.depthwise_conv2d(
            h, self._depthwise_kernel(block, i, encoding), (1, block.strides, block.strides, 1), "SAME"
        )
        h = relu6(_batch_norm(block.depthwise_bn, h, mask, update, training)) * mask
        h = tf.nn.conv2d(h, block.project_conv.kernel, strides=1, padding="VALID")
        h = _batch_norm(block.project_bn, h, tf.ones([block.out_channels], h.dtype), update, training)
        return x + h if block.residual else h

    def _depthwise_kernel(self, block: ElasticMBConv, i: int, encoding: dict[str, tf.Tensor]) -> tf.Tensor:
        layer, largest = block.depthwise, block.depthwise.kernel_sizes[-1]
        kernels = []
        for k in layer.kernel_sizes:
            pad = (largest - k) // 2
            kernel = layer.active_kernel(k, layer.channels)
            kernels.append(tf.pad(kernel, [[pad, pad], [pad, pad], [0, 0], [0, 0]]))
        weights = encoding["kernel"][i]
        return tf.add_n([weights[j] * kernel for j, kernel in enumerate(kernels)])


def _batch_norm(
    bn: ElasticBatchNormalization | None, x: tf.Tensor, mask: tf.Tensor, update: tf.Tensor, training: bool
) -> tf.Tensor:
    """ElasticBatchNormalization over all channels; moving averages change only where ``mask * update``."""
    assert bn is not None
    if not training:
        return tf.nn.batch_normalization(x, bn.moving_mean, bn.moving_variance, bn.beta, bn.gamma, bn.epsilon)
    mean, variance = tf.nn.moments(x, axes=[0, 1, 2])
    decay = 1.0 - bn.momentum
    keep = mask * update > 0
    bn.moving_mean.assign(tf.where(keep, bn.moving_mean - (bn.moving_mean - mean) * decay, bn.moving_mean))
    bn.moving_variance.assign(
        tf.where(keep, bn.moving_variance - (bn.moving_variance - variance) * decay, bn.moving_variance)
    )
    return tf.nn.batch_normalization(x, mean, variance, bn.beta, bn.gamma, bn.epsilon)
