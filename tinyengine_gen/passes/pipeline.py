"""The pass order, written once: graph passes before op planning, plan passes after.

Every caller runs these lists through :func:`tinyengine_gen.passes.base.run_passes`; each
pass reads the options to decide whether it runs.

Graph passes: constant folding first (the converter's shape subgraphs become constants
that every later pass and planner can read), the converter's dilated-convolution pattern
into one dilated convolution, a float activation between DEQUANTIZE and QUANTIZE into
its int8 table, a grouped convolution into one convolution per group, a depthwise layer's all-zero
channels out of their block, a convolution's all-zero output channels into constants (a GATHER after the narrower convolution), then the int8 API strips (they change what the graph's inputs and outputs
are), then PAD folding, then the NCHW input fold (off under patching).

Plan passes: packed 4-bit convolution / fully-connected weights first (when asked; the later
passes then leave those layers alone; depthwise layers are packed after the in-place pass,
where they did not go in place), residual fusion (it removes tensors and decides which buffers an ADD
may write over), then in-place kernels, then lean scratch at the peak (which needs the
final lifetimes), then, under ``--prefer=speed``, depthwise channel pairs (Flash for speed;
no lifetime changes).
"""

from __future__ import annotations

from tinyengine_gen.passes.base import Pass
from tinyengine_gen.passes.channel_pairs import CHANNEL_PAIRS
from tinyengine_gen.passes.dead_channels import DROP_DEAD_CHANNELS
from tinyengine_gen.passes.dead_depthwise import DROP_DEAD_DEPTHWISE_CHANNELS
from tinyengine_gen.passes.fold_constants import FOLD_CONSTANTS
from tinyengine_gen.passes.fold_dilated import FOLD_DILATED
from tinyengine_gen.passes.fold_float_unary import FOLD_FLOAT_UNARY
from tinyengine_gen.passes.fold_input_transpose import FOLD_INPUT_TRANSPOSE
from tinyengine_gen.passes.split_grouped_conv import SPLIT_GROUPED_CONV
from tinyengine_gen.passes.fold_pad import FOLD_PAD
from tinyengine_gen.passes.fusion import FUSE_RESIDUAL_ADD
from tinyengine_gen.passes.in_place import IN_PLACE
from tinyengine_gen.passes.int8_io import STRIP_INPUT_QUANTIZE, STRIP_OUTPUT_DEQUANTIZE
from tinyengine_gen.passes.lean_scratch import LEAN_SCRATCH
from tinyengine_gen.passes.pack_int4 import PACK_INT4, PACK_INT4_DEPTHWISE

__all__ = ["GRAPH_PASSES", "PLAN_PASSES"]

GRAPH_PASSES: tuple[Pass, ...] = (
    FOLD_CONSTANTS,
    FOLD_DILATED,
    FOLD_FLOAT_UNARY,
    SPLIT_GROUPED_CONV,
    DROP_DEAD_DEPTHWISE_CHANNELS,
    DROP_DEAD_CHANNELS,
    STRIP_INPUT_QUANTIZE,
    STRIP_OUTPUT_DEQUANTIZE,
    FOLD_PAD,
    FOLD_INPUT_TRANSPOSE,
)
PLAN_PASSES: tuple[Pass, ...] = (PACK_INT4, FUSE_RESIDUAL_ADD, IN_PLACE, PACK_INT4_DEPTHWISE, LEAN_SCRATCH, CHANNEL_PAIRS)
