"""Two-input Keras models for the tests of the element-wise binary operators (ADD, MUL)."""

from __future__ import annotations

from collections.abc import Callable

from tests.model_factory import keras

__all__ = ["ACTIVATIONS", "two_input_model"]

#: Activation layers the converter fuses into the operator's fusedActivationFunction.
ACTIVATIONS = {"NONE": None, "RELU": lambda: keras.layers.ReLU(), "RELU6": lambda: keras.layers.ReLU(6.0)}


def two_input_model(shape1, shape2, activation: str = "NONE", layer: Callable | None = None) -> Callable[[], object]:
    """A builder of ``layer()([a, b])`` (default ADD) on inputs of the two shapes, then ``activation``."""

    def build():
        a = keras.Input(shape1[1:], batch_size=shape1[0])
        b = keras.Input(shape2[1:], batch_size=shape2[0])
        y = (layer or keras.layers.Add)()([a, b])
        if ACTIVATIONS[activation] is not None:
            y = ACTIVATIONS[activation]()(y)
        return keras.Model([a, b], y)

    return build
