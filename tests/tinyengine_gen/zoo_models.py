"""Typical small Keras models, written as a user writes them (batch dimension unfixed).

Weights are random; every BatchNormalization gets moving statistics and affine terms
drawn so that activations are neither dead nor saturated. Each builder returns a
tf-keras model; ``tests/tinyengine_gen/test_zoo.py`` converts and compiles them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.model_factory import keras, tf

__all__ = ["ZOO", "randomise_batch_norm"]


def randomise_batch_norm(model, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            n = mean.shape
            layer.set_weights(
                [rng.uniform(0.5, 1.5, n), rng.uniform(-0.2, 0.2, n), rng.uniform(-0.3, 0.3, n), rng.uniform(0.2, 1.0, n)]
            )


def _conv_bn(x, filters, kernel=3, strides=1, activation="relu", depthwise=False, dilation=1):
    if depthwise:
        x = keras.layers.DepthwiseConv2D(kernel, strides, padding="same", use_bias=False, dilation_rate=dilation)(x)
    else:
        x = keras.layers.Conv2D(filters, kernel, strides, padding="same", use_bias=False, dilation_rate=dilation)(x)
    x = keras.layers.BatchNormalization()(x)
    if activation is None:
        return x
    return keras.layers.Activation(activation)(x) if isinstance(activation, str) else activation(x)


def _head(x, classes=4):
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.layers.Dense(classes, activation="softmax")(x)


def mobilenet_v1():
    i = keras.Input((24, 24, 3))
    x = _conv_bn(i, 8, strides=2, activation=_relu6)
    for filters, stride in ((16, 1), (16, 2), (24, 1)):
        x = _conv_bn(x, 0, strides=stride, activation=_relu6, depthwise=True)
        x = _conv_bn(x, filters, kernel=1, activation=_relu6)
    return keras.Model(i, _head(x))


def _relu6(x):
    return tf.nn.relu6(x)


def _inverted_residual(x, filters, stride, expand=3, activation=_relu6, se=False):
    inputs = x
    x = _conv_bn(x, int(x.shape[-1]) * expand, kernel=1, activation=activation)
    x = _conv_bn(x, 0, strides=stride, activation=activation, depthwise=True)
    if se:
        s = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
        s = keras.layers.Conv2D(max(int(x.shape[-1]) // 4, 4), 1, activation="relu")(s)
        s = keras.layers.Conv2D(int(x.shape[-1]), 1, activation="hard_sigmoid")(s)
        x = keras.layers.Multiply()([x, s])
    x = _conv_bn(x, filters, kernel=1, activation=None)
    if stride == 1 and int(inputs.shape[-1]) == filters:
        x = keras.layers.Add()([inputs, x])
    return x


def mobilenet_v2():
    i = keras.Input((24, 24, 3))
    x = _conv_bn(i, 8, strides=2, activation=_relu6)
    for filters, stride in ((8, 1), (12, 2), (12, 1)):
        x = _inverted_residual(x, filters, stride)
    return keras.Model(i, _head(x))


def _hard_swish(x):
    return x * tf.nn.relu6(x + 3.0) / 6.0


def mobilenet_v3_small():
    i = keras.Input((24, 24, 3))
    x = _conv_bn(i, 8, strides=2, activation=_hard_swish)
    x = _inverted_residual(x, 8, 1, activation="relu", se=True)
    x = _inverted_residual(x, 12, 2, activation=_hard_swish, se=True)
    return keras.Model(i, _head(x))


def ds_cnn():
    i = keras.Input((49, 10, 1))
    x = _conv_bn(i, 16, kernel=(10, 4), strides=(2, 2))
    for _ in range(2):
        x = _conv_bn(x, 0, depthwise=True)
        x = _conv_bn(x, 16, kernel=1)
    x = keras.layers.AveragePooling2D((int(x.shape[1]), int(x.shape[2])))(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(i, keras.layers.Dense(12, activation="softmax")(x))


def conv1d_audio():
    i = keras.Input((64, 8))
    x = keras.layers.Conv1D(12, 5, strides=2, activation="relu")(i)
    x = keras.layers.Conv1D(12, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(i, keras.layers.Dense(5)(x))


def dense_autoencoder():
    i = keras.Input((32,))
    x = keras.layers.Dense(16, activation="relu")(i)
    x = keras.layers.Dense(8, activation="relu")(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(i, keras.layers.Dense(32)(x))


def resnet8():
    i = keras.Input((16, 16, 3))
    x = _conv_bn(i, 8)
    for filters, stride in ((8, 1), (12, 2), (16, 2)):
        y = _conv_bn(x, filters, strides=stride)
        y = _conv_bn(y, filters, activation=None)
        shortcut = x if stride == 1 else keras.layers.Conv2D(filters, 1, stride)(x)
        x = keras.layers.Activation("relu")(keras.layers.Add()([shortcut, y]))
    x = keras.layers.AveragePooling2D(int(x.shape[1]))(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(i, keras.layers.Dense(10)(x))


def small_unet():
    i = keras.Input((16, 16, 2))
    a = _conv_bn(i, 8)
    b = _conv_bn(keras.layers.MaxPooling2D()(a), 12)
    u = keras.layers.UpSampling2D()(b)
    x = keras.layers.Concatenate()([a, u])
    return keras.Model(i, keras.layers.Conv2D(1, 1, activation="sigmoid")(x))


def depthwise_multiplier():
    i = keras.Input((8, 8, 3))
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(i)
    return keras.Model(i, keras.layers.Conv2D(4, 1)(x))


def conv2d_transpose_decoder():
    i = keras.Input((8,))
    x = keras.layers.Dense(4 * 4 * 8, activation="relu")(i)
    x = keras.layers.Reshape((4, 4, 8))(x)
    x = keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)
    return keras.Model(i, keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")(x))


def _activation_model(activation: Callable[[object], object]) -> Callable[[], object]:
    def build():
        i = keras.Input((8, 8, 3))
        x = keras.layers.Conv2D(6, 3, padding="same")(i)
        x = activation(x)
        return keras.Model(i, keras.layers.Conv2D(4, 1)(x))

    return build


def rescaling_normalization():
    i = keras.Input((8, 8, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(i)
    norm = keras.layers.Normalization(mean=[0.1, -0.2, 0.3], variance=[0.5, 1.5, 1.0])
    x = norm(x)
    return keras.Model(i, keras.layers.Conv2D(4, 3)(x))


def merge_layers():
    i = keras.Input((6, 6, 4))
    a = keras.layers.Conv2D(4, 1)(i)
    b = keras.layers.Conv2D(4, 1)(i)
    x = keras.layers.Add()([a, b])
    y = keras.layers.Multiply()([a, b])
    z = keras.layers.Subtract()([a, b])
    m = keras.layers.Maximum()([a, b])
    n = keras.layers.Minimum()([a, b])
    v = keras.layers.Average()([a, b])
    return keras.Model(i, keras.layers.Concatenate()([x, y, z, m, n, v]))


def add_concat():
    i = keras.Input((6, 6, 4))
    a = keras.layers.Conv2D(4, 1)(i)
    b = keras.layers.Conv2D(4, 3, padding="same")(i)
    return keras.Model(i, keras.layers.Concatenate()([keras.layers.Add()([a, b]), a]))


def cropping():
    i = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(i)
    x = keras.layers.Cropping2D(((1, 2), (3, 0)))(x)
    return keras.Model(i, keras.layers.Conv2D(4, 1)(x))


def slicing_splitting():
    i = keras.Input((8, 8, 6))
    x = keras.layers.Conv2D(6, 1)(i)
    a, b, c = tf.split(x, 3, axis=-1)
    y = keras.layers.Concatenate()([c, a])
    z = x[:, 1:7, ::2, :4]
    return keras.Model(i, [keras.layers.Conv2D(3, 1)(y), z, b])


def attention_block():
    i = keras.Input((6, 8))
    x = keras.layers.MultiHeadAttention(2, 4)(i, i)
    x = keras.layers.Add()([i, x])
    return keras.Model(i, keras.layers.Dense(4)(x))


def pooling_variants():
    i = keras.Input((12, 12, 4))
    x = keras.layers.Conv2D(6, 3, padding="same")(i)
    a = keras.layers.MaxPooling2D(2)(x)
    b = keras.layers.AveragePooling2D(3, 2, padding="same")(x)
    y = keras.layers.Concatenate()([a, b])
    return keras.Model(i, [keras.layers.GlobalAveragePooling2D()(y), keras.layers.GlobalMaxPooling2D()(y)])


def dilated_conv():
    i = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(6, 3, dilation_rate=2, padding="same", activation="relu")(i)
    return keras.Model(i, keras.layers.Conv2D(4, 3, dilation_rate=2)(x))


def dilated_depthwise():
    i = keras.Input((16, 16, 4))
    x = keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same")(i)
    return keras.Model(i, keras.layers.Conv2D(4, 1)(x))


def gru():
    """A GRU as TFLite Micro can run it: unrolled. The default GRU converts to a WHILE loop
    whose calibration crashes the TFLite calibrator (segmentation fault, TF 2.x); unrolled,
    the converter writes each step's FULLY_CONNECTED, SPLIT, LOGISTIC, TANH, MUL, ADD, SUB."""
    i = keras.Input((6, 4), batch_size=1)  # as for the LSTM, the converter needs the batch fixed
    x = keras.layers.GRU(8, unroll=True)(i)
    return keras.Model(i, keras.layers.Dense(3)(x))


def gru_while_loop():
    """The GRU as written by default: the converter makes a WHILE loop of its steps."""
    i = keras.Input((6, 4), batch_size=1)
    x = keras.layers.GRU(8)(i)
    return keras.Model(i, keras.layers.Dense(3)(x))


def lstm():
    i = keras.Input((6, 4), batch_size=1)  # the converter cannot lower an unfixed-batch LSTM to int8
    x = keras.layers.LSTM(8)(i)
    return keras.Model(i, keras.layers.Dense(3)(x))


def lstm_sequence():
    i = keras.Input((10, 5), batch_size=1)
    x = keras.layers.LSTM(16, return_sequences=True)(i)
    return keras.Model(i, keras.layers.TimeDistributed(keras.layers.Dense(4))(x))


def flatten_dense():
    i = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(4, 3)(i)
    x = keras.layers.Flatten()(x)
    return keras.Model(i, keras.layers.Dense(5, activation="softmax")(x))


def reshape_dense():
    i = keras.Input((4, 4, 3))
    x = keras.layers.Reshape((16, 3))(i)
    return keras.Model(i, keras.layers.Dense(3)(x))


def zero_padding():
    i = keras.Input((10, 10, 3))
    x = keras.layers.ZeroPadding2D(((1, 2), (2, 1)))(i)
    return keras.Model(i, keras.layers.Conv2D(4, 3, strides=2)(x))


def grouped_conv():
    i = keras.Input((8, 8, 8))
    return keras.Model(i, keras.layers.Conv2D(8, 3, groups=2, padding="same")(i))


def permute():
    i = keras.Input((6, 8, 3))
    x = keras.layers.Conv2D(4, 1)(i)
    return keras.Model(i, keras.layers.Conv2D(4, 1)(keras.layers.Permute((2, 1, 3))(x)))


ZOO: dict[str, Callable[[], object]] = {
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_small": mobilenet_v3_small,
    "ds_cnn": ds_cnn,
    "conv1d_audio": conv1d_audio,
    "dense_autoencoder": dense_autoencoder,
    "resnet8": resnet8,
    "small_unet": small_unet,
    "conv2d_transpose_decoder": conv2d_transpose_decoder,
    "depthwise_multiplier": depthwise_multiplier,
    "relu": _activation_model(lambda x: keras.layers.ReLU()(x)),
    "relu6": _activation_model(lambda x: keras.layers.ReLU(6.0)(x)),
    "leaky_relu": _activation_model(lambda x: keras.layers.LeakyReLU(0.1)(x)),
    "prelu": _activation_model(lambda x: keras.layers.PReLU()(x)),
    "elu": _activation_model(lambda x: keras.layers.Activation("elu")(x)),
    "tanh": _activation_model(lambda x: keras.layers.Activation("tanh")(x)),
    "sigmoid": _activation_model(lambda x: keras.layers.Activation("sigmoid")(x)),
    "swish": _activation_model(lambda x: keras.layers.Activation("swish")(x)),
    "hard_swish": _activation_model(lambda x: x * tf.nn.relu6(x + 3.0) / 6.0),
    "softmax": _activation_model(lambda x: keras.layers.Softmax()(x)),
    "rescaling_normalization": rescaling_normalization,
    "merge_layers": merge_layers,
    "add_concat": add_concat,
    "cropping": cropping,
    "slicing_splitting": slicing_splitting,
    "attention_block": attention_block,
    "pooling_variants": pooling_variants,
    "dilated_conv": dilated_conv,
    "dilated_depthwise": dilated_depthwise,
    "lstm": lstm,
    "lstm_sequence": lstm_sequence,
    "gru": gru,
    "flatten_dense": flatten_dense,
    "reshape_dense": reshape_dense,
    "zero_padding": zero_padding,
    "grouped_conv": grouped_conv,
    "permute": permute,
}

#: Models whose conversion may crash the converter process: converted in a subprocess.
CONVERTED_APART: dict[str, Callable[[], object]] = {"gru_while_loop": gru_while_loop}
