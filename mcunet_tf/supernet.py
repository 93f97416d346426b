"""The once-for-all supernet of one width multiplier: every sub-network of a (W, *) space shares it.

Layout (channels x W, rounded by make_divisible): 3x3 stride-2 stem conv, the fixed first
MBConv block, six stages of elastic MBConv blocks (each stage holds ``max(depths)``
blocks; a sub-network runs the first ``depth`` of them), then a 1x1 head conv, global
average pooling and the classifier. The input resolution is free: any R runs on it.
"""

from __future__ import annotations


from typing import Any

import tensorflow as tf
import tf_keras as keras

from mcunet_tf.arch import ArchConfig, BlockChoice, check_arch
from mcunet_tf.blueprint import FIRST_BLOCK_EXPAND, FIRST_BLOCK_KERNEL, STEM_KERNEL, STEM_STRIDE
from mcunet_tf.errors import InvalidArchitectureError
from mcunet_tf.layers import ElasticMBConv, relu6
from mcunet_tf.space import SearchSpace

__all__ = ["Supernet", "largest_arch"]


def largest_arch(space: SearchSpace, width: float, resolution: int | None = None) -> ArchConfig:
    """The biggest sub-network of a width: deepest stages, largest kernels and expand ratios."""
    block = BlockChoice(space.max_kernel_size, space.max_expand_ratio)
    resolution = space.resolutions[-1] if resolution is None else resolution
    return ArchConfig(width, resolution, tuple((block,) * space.max_depth for _ in space.stages))


@keras.utils.register_keras_serializable(package="mcunet_tf")
class Supernet(keras.Model):
    """Elastic MobileNetV2/ProxylessNAS-style network; ``set_active(config)`` picks a sub-network."""

    def __init__(self, space: SearchSpace, width: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.space = space
        self.width = float(width)
        channels = space.channels(self.width)
        self.stem_conv = keras.layers.Conv2D(
            channels.stem, STEM_KERNEL, strides=STEM_STRIDE, padding="same", use_bias=False, name="stem_conv"
        )
        self.stem_bn = keras.layers.BatchNormalization(name="stem_bn")
        self.first_block = ElasticMBConv(
            channels.stem, channels.first_block, 1, (FIRST_BLOCK_KERNEL,), (FIRST_BLOCK_EXPAND,), name="first_block"
        )
        self.stage_blocks = []
        in_channels = channels.first_block
        for s, (stage, out_channels) in enumerate(zip(space.stages, channels.stages)):
            blocks = []
            for b in range(space.max_depth):
                stride = stage.stride if b == 0 else 1
                choices = (space.kernel_sizes, space.expand_ratios)
                blocks.append(ElasticMBConv(in_channels, out_channels, stride, *choices, name=f"stage{s}_block{b}"))
                in_channels = out_channels
            self.stage_blocks.append(blocks)
        self.head_conv = keras.layers.Conv2D(channels.head, 1, use_bias=False, name="head_conv")
        self.head_bn = keras.layers.BatchNormalization(name="head_bn")
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        self.classifier = keras.layers.Dense(space.num_classes, name="classifier")
        self.active = largest_arch(space, self.width)
        self.build_all()

    def build_all(self) -> None:
        """Create every weight now: one eager pass of the largest sub-network on a small zero image.

        Keras builds layers on first use, and a sub-network skips blocks; without this a
        block that no sub-network has run yet would have no weights to extract.
        """
        previous = self.active
        self.active = largest_arch(self.space, self.width)
        size = self.space.resolutions[0]
        try:
            self(tf.zeros((1, size, size, 3)), training=False)
        finally:
            self.active = previous

    def set_active(self, config: ArchConfig) -> None:
        """Run ``config`` from now on (its resolution is that of the inputs you feed)."""
        check_arch(config, self.space.whole)  # (the whole space, redistributed or not)
        if abs(config.width - self.width) > 1e-9:
            raise InvalidArchitectureError(
                f"architecture width {config.width} does not match this supernet's width {self.width}."
            )
        for blocks, stage in zip(self.stage_blocks, config.stages):
            for block, choice in zip(blocks, stage):
                block.set_active(choice.kernel_size, choice.expand_ratio)
        self.active = config

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        x = relu6(self.stem_bn(self.stem_conv(inputs), training=training))
        x = self.first_block(x, training=training)
        for blocks, depth in zip(self.stage_blocks, self.active.depths):
            for block in blocks[:depth]:
                x = block(x, training=training)
        x = relu6(self.head_bn(self.head_conv(x), training=training))
        return self.classifier(self.pool(x))

    def get_config(self) -> dict[str, Any]:
        return {"space": self.space.to_dict(), "width": self.width, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> "Supernet":
        config = dict(config)
        return cls(SearchSpace.from_dict(config.pop("space")), **config)
