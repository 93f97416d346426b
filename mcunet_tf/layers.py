"""Elastic tf-keras layers of the once-for-all supernet: one set of weights, many sub-networks.

* :class:`ElasticDepthwiseConv2D` keeps only the largest kernel; a smaller kernel is the
  centre of the next larger one passed through a learned ``k^2 x k^2`` transform matrix
  (identity at initialisation), as once-for-all's elastic kernel does, so small kernels are
  not forced to equal the centre of the large one.
* :class:`ElasticPointwiseConv2D` and :class:`ElasticBatchNormalization` use the first
  channels of their largest weights (elastic expand ratio is channel slicing).
* :class:`ElasticMBConv` is the inverted-residual block built from them (SE-free, ReLU6).

The active choice is Python state set with ``set_active``: call the layers eagerly (or
re-trace after a change) so that the new choice takes effect. Every layer implements
``get_config`` so that models using them save, load and clone; quantisation-aware
training is applied to the plain model that :mod:`mcunet_tf.extract` makes.
"""

from __future__ import annotations


from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

from mcunet_tf.errors import InvalidArchitectureError

__all__ = ["ElasticDepthwiseConv2D", "ElasticPointwiseConv2D", "ElasticBatchNormalization", "ElasticMBConv", "relu6"]

_PACKAGE = "mcunet_tf"
#: Keras's BatchNormalization defaults; extraction copies them so the plain model matches.
BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3


def relu6(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.relu6(x)


def _check_choice(layer: keras.layers.Layer, what: str, value: int, allowed: Sequence[int]) -> int:
    if value not in allowed:
        raise InvalidArchitectureError(f"{layer.name}: {what} {value} is not one of {list(allowed)}.")
    return int(value)


@keras.utils.register_keras_serializable(package=_PACKAGE)
class ElasticDepthwiseConv2D(keras.layers.Layer):
    """Depthwise convolution (no bias, SAME padding) with elastic kernel size and channel count."""

    def __init__(self, channels: int, kernel_sizes: Sequence[int] = (3, 5, 7), strides: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.kernel_sizes = tuple(sorted(int(k) for k in kernel_sizes))
        self.strides = int(strides)
        self.active_kernel_size = self.kernel_sizes[-1]

    def build(self, input_shape: tf.TensorShape) -> None:
        largest = self.kernel_sizes[-1]
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=(largest, largest, self.channels, 1), initializer="he_normal"
        )
        # transforms[i] maps the centre of kernel_sizes[i + 1] to kernel_sizes[i].
        self.transforms = [
            self.add_weight(
                name=f"transform_{big}to{small}", shape=(small * small, small * small), initializer="identity"
            )
            for small, big in zip(self.kernel_sizes[:-1], self.kernel_sizes[1:])
        ]
        super().build(input_shape)

    def set_active(self, kernel_size: int) -> None:
        self.active_kernel_size = _check_choice(self, "kernel size", kernel_size, self.kernel_sizes)

    def active_kernel(self, kernel_size: int, channels: int) -> tf.Tensor:
        """The ``[k, k, channels, 1]`` kernel for ``kernel_size``: centre crops through the transforms."""
        _check_choice(self, "kernel size", kernel_size, self.kernel_sizes)
        kernel = self.depthwise_kernel[:, :, :channels, :]
        size = self.kernel_sizes[-1]
        for position in range(len(self.kernel_sizes) - 2, -1, -1):
            small = self.kernel_sizes[position]
            if small < kernel_size:
                break
            start = (size - small) // 2
            crop = kernel[start : start + small, start : start + small, :, :]
            flat = tf.reshape(tf.transpose(crop, [2, 3, 0, 1]), [-1, small * small])
            flat = tf.matmul(flat, self.transforms[position])
            kernel = tf.transpose(tf.reshape(flat, [channels, 1, small, small]), [2, 3, 0, 1])
            size = small
        return kernel

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        kernel = self.active_kernel(self.active_kernel_size, int(inputs.shape[-1]))
        strides = (1, self.strides, self.strides, 1)
        return tf.nn.depthwise_conv2d(inputs, kernel, strides=strides, padding="SAME")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(channels=self.channels, kernel_sizes=list(self.kernel_sizes), strides=self.strides)
        return config


@keras.utils.register_keras_serializable(package=_PACKAGE)
class ElasticPointwiseConv2D(keras.layers.Layer):
    """1x1 convolution without bias whose input and output channel counts may shrink."""

    def __init__(self, max_in_channels: int, max_out_channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_in_channels = int(max_in_channels)
        self.max_out_channels = int(max_out_channels)
        self.active_out_channels = self.max_out_channels

    def build(self, input_shape: tf.TensorShape) -> None:
        self.kernel = self.add_weight(
            name="kernel", shape=(1, 1, self.max_in_channels, self.max_out_channels), initializer="he_normal"
        )
        super().build(input_shape)

    def set_active(self, out_channels: int) -> None:
        if not 1 <= out_channels <= self.max_out_channels:
            raise InvalidArchitectureError(
                f"{self.name}: {out_channels} output channels requested; this layer has 1..{self.max_out_channels}."
            )
        self.active_out_channels = int(out_channels)

    def active_kernel(self, in_channels: int, out_channels: int) -> tf.Tensor:
        return self.kernel[:, :, :in_channels, :out_channels]

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        kernel = self.active_kernel(int(inputs.shape[-1]), self.active_out_channels)
        return tf.nn.conv2d(inputs, kernel, strides=1, padding="VALID")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(max_in_channels=self.max_in_channels, max_out_channels=self.max_out_channels)
        return config


@keras.utils.register_keras_serializable(package=_PACKAGE)
class ElasticBatchNormalization(keras.layers.Layer):
    """Batch normalisation over the first ``C`` channels of its largest parameters (C from the input).

    In training it normalises with the batch statistics and updates only the active slice
    of the moving averages, so sub-networks of different widths share statistics the way
    once-for-all's dynamic batch norm does.
    """

    def __init__(
        self, channels: int, momentum: float = BN_MOMENTUM, epsilon: float = BN_EPSILON, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape: tf.TensorShape) -> None:
        shape = (self.channels,)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape, initializer="ones", trainable=False)
        super().build(input_shape)

    def active_parameters(self, channels: int) -> list[tf.Tensor]:
        """[gamma, beta, moving_mean, moving_variance] of the first ``channels`` channels (Keras's order)."""
        return [v[:channels] for v in (self.gamma, self.beta, self.moving_mean, self.moving_variance)]

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        channels = int(inputs.shape[-1])
        gamma, beta, moving_mean, moving_variance = self.active_parameters(channels)
        if training:
            mean, variance = tf.nn.moments(inputs, axes=[0, 1, 2])
            decay = 1.0 - self.momentum
            self.moving_mean[:channels].assign(moving_mean - (moving_mean - mean) * decay)
            self.moving_variance[:channels].assign(moving_variance - (moving_variance - variance) * decay)
        else:
            mean, variance = moving_mean, moving_variance
        return tf.nn.batch_normalization(inputs, mean, variance, beta, gamma, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(channels=self.channels, momentum=self.momentum, epsilon=self.epsilon)
        return config


@keras.utils.register_keras_serializable(package=_PACKAGE)
class ElasticMBConv(keras.layers.Layer):
    """Inverted residual: [1x1 expand, BN, ReLU6] -> kxk depthwise, BN, ReLU6 -> 1x1 project, BN (+ input).

    There is no expansion conv when the largest expand ratio is 1, and it is skipped while
    the active ratio is 1; the residual add is
    present when the stride is 1 and the channel counts agree (see :mod:`mcunet_tf.blueprint`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        strides: int = 1,
        kernel_sizes: Sequence[int] = (3, 5, 7),
        expand_ratios: Sequence[int] = (3, 4, 6),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.strides = int(in_channels), int(out_channels), int(strides)
        self.kernel_sizes = tuple(sorted(int(k) for k in kernel_sizes))
        self.expand_ratios = tuple(sorted(int(e) for e in expand_ratios))
        hidden = self.in_channels * self.expand_ratios[-1]
        expands = self.expand_ratios[-1] > 1
        self.expand_conv = ElasticPointwiseConv2D(self.in_channels, hidden, name="expand") if expands else None
        self.expand_bn = ElasticBatchNormalization(hidden, name="expand_bn") if self.expand_conv is not None else None
        self.depthwise = ElasticDepthwiseConv2D(hidden, self.kernel_sizes, self.strides, name="depthwise")
        self.depthwise_bn = ElasticBatchNormalization(hidden, name="depthwise_bn")
        self.project_conv = ElasticPointwiseConv2D(hidden, self.out_channels, name="project")
        self.project_bn = ElasticBatchNormalization(self.out_channels, name="project_bn")
        self.active_expand_ratio = self.expand_ratios[-1]
        self.depthwise.set_active(self.kernel_sizes[-1])

    @property
    def residual(self) -> bool:
        return self.strides == 1 and self.in_channels == self.out_channels

    def set_active(self, kernel_size: int, expand_ratio: int) -> None:
        self.active_expand_ratio = _check_choice(self, "expand ratio", expand_ratio, self.expand_ratios)
        self.depthwise.set_active(kernel_size)
        if self.expand_conv is not None:
            self.expand_conv.set_active(self.in_channels * self.active_expand_ratio)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        x = inputs
        if self.active_expand_ratio > 1 and self.expand_conv is not None and self.expand_bn is not None:
            x = relu6(self.expand_bn(self.expand_conv(x), training=training))
        x = relu6(self.depthwise_bn(self.depthwise(x), training=training))
        x = self.project_bn(self.project_conv(x), training=training)
        return inputs + x if self.residual else x

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            strides=self.strides,
            kernel_sizes=list(self.kernel_sizes),
            expand_ratios=list(self.expand_ratios),
        )
        return config
