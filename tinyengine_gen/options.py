"""The compile options: every choice that changes the generated code, in one frozen object.

Its own module so that the passes can read it (each pass decides from the options whether
it runs) without importing the compiler that runs them.
"""

from __future__ import annotations

import dataclasses

from tinyengine_gen.errors import InvalidOptionsError

__all__ = ["CompileOptions", "PREFERENCES"]

#: What the kernel choice optimises when kernels trade speed for scratch (``--prefer``).
PREFERENCES = ("memory", "speed")


@dataclasses.dataclass(frozen=True)
class CompileOptions:
    """Choices that change the generated code. Passed explicitly, never read from globals."""

    alignment: int = 16
    #: fold an explicit PAD into the convolution that consumes it (exact; saves the padded copy)
    fold_pad: bool = True
    #: let the first convolution read an NCHW input directly instead of after a TRANSPOSE
    #: (a patch stage folds that TRANSPOSE into its own input crops instead)
    fold_input_transpose: bool = True
    #: int8 input API: drop a QUANTIZE right after a float graph input (the caller quantises)
    int8_input: bool = False
    #: int8 output API: drop a DEQUANTIZE right before a float graph output
    int8_output: bool = False
    #: let kernels that can (depthwise) write their output over an input no one reads later
    in_place: bool = True
    #: run a CONV_2D whose output only a same-shape ADD reads as one fused op (no map for it)
    fuse_residual_add: bool = True
    #: compute only the output channels of a CONV_2D whose weights are not all zero, the others
    #: being constants a GATHER places (passes/dead_channels.py; kept only where the peak holds)
    drop_dead_channels: bool = True
    #: where those passes may act: None, every layer; else the operator indices (a depthwise
    #: layer for its block, a CONV_2D for its own channels) the compiler's peak check kept
    dead_channel_layers: tuple[int, ...] | None = None

    def allows_dead_channels(self, op_index: int) -> bool:
        return self.drop_dead_channels and (self.dead_channel_layers is None or op_index in self.dead_channel_layers)
    #: "memory": the fastest kernels that keep the lowest peak (ops at the peak of live bytes take
    #: their lower-scratch variant, slower, wherever that shrinks the arena; the lean_scratch pass);
    #: "speed": every op keeps its fastest kernel, whatever scratch it needs
    prefer: str = "memory"
    #: store CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights that all fit [-8, 7] packed two per byte
    pack_int4: bool = False
    #: patch-based inference of the first stage: "off", "auto" or a grid such as "4x4"
    patch: str = "off"
    #: the operator (index in the file) whose output is the patch stage's split point; None: search
    patch_split: int | None = None
    #: ``auto`` only keeps schedules whose extra MACs are at most this fraction of the network's
    patch_max_overhead: float = 0.2

    def __post_init__(self) -> None:
        if self.prefer not in PREFERENCES:
            raise InvalidOptionsError(f"prefer={self.prefer!r}: use one of {', '.join(PREFERENCES)}")
