"""tfmot's QAT with 4-bit weights and 8-bit activations, as MCUNet's int4 models train.

tfmot's own n-bit scheme (``experimental.default_n_bit``) quantises every weight per tensor;
MCUNet's int4 weights are per channel. This scheme is tfmot's default 8-bit one (the same
layer configs, the same BatchNorm folding and activation quantisers) with each layer's
weight quantiser swapped for a 4-bit one: per output channel and symmetric, narrow range
([-7, 7] levels), for Conv2D and DepthwiseConv2D; per tensor for Dense (the converter writes
a per-tensor FULLY_CONNECTED, whose int8 grid must hold the 4-bit levels exactly).

The converter still writes int8 weights (each level k as round(k * 127 / 7));
:func:`mcunet_tf.int4_weights.requantize_weights_int4` maps them back to k, exactly, and
``tinyengine_gen --pack_int4`` stores them two per byte.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["four_bit_weight_scheme", "WEIGHT_BITS"]

#: the weight widths QAT and export accept
WEIGHT_BITS = (4, 8)


def four_bit_weight_scheme() -> Any:
    """A tfmot ``QuantizeScheme``: int8 activations, 4-bit symmetric weights (per channel for convs)."""
    from tensorflow_model_optimization.python.core.quantization.keras import quantizers
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry as registry,
        default_8bit_quantize_scheme as scheme,
        default_8bit_quantizers as default_quantizers,
    )

    class ConvWeights4Bit(default_quantizers.Default8BitConvWeightsQuantizer):
        """Per-channel 4-bit weights (the 8-bit conv quantiser's per-channel variables)."""

        def __init__(self, **_config: Any) -> None:
            quantizers.LastValueQuantizer.__init__(self, num_bits=4, per_axis=True, symmetric=True, narrow_range=True)

    class Registry(registry.Default8BitQuantizeRegistry):
        def get_quantize_config(self, layer: Any) -> Any:
            config = copy.copy(super().get_quantize_config(layer))
            current = getattr(config, "weight_quantizer", None)
            if isinstance(current, default_quantizers.Default8BitConvWeightsQuantizer):
                config.weight_quantizer = ConvWeights4Bit()
            elif isinstance(current, quantizers.LastValueQuantizer):
                config.weight_quantizer = quantizers.LastValueQuantizer(
                    num_bits=4, per_axis=False, symmetric=True, narrow_range=True
                )
            return config

    class Scheme(scheme.Default8BitQuantizeScheme):
        def get_quantize_registry(self) -> Any:
            return Registry()

    return Scheme()
