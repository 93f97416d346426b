"""A project's te_gemm_config.h: only the GEMM kernel variants its layers can reach.

The DSP GEMM kernels (kernels/arm/te_gemm_*_dsp.h) are compiled in several copies: each
tile function as ``NAME##_fast`` (fast_requant layers with the full int8 clamp) and
``NAME##_any`` (any other layer), and the short tile loops once per common depth, the depth
a constant. Kernels are shared files, so by default every copy is compiled, whether a layer
of the model uses it or not: on mcunet_vww the unreachable ones were about 25 KB of the
firmware's Flash. This module decides from the planned layers which copies a project needs
and writes them as macros into the project's ``kernels/te_gemm_config.h`` (the package's
own copy, which compiles everything, is the default every standalone kernel build gets).
Every decision here is exact: a left-out ``_any`` copy or shallow tile is code no layer
reaches, a left-out constant depth runs on the general loop; only code size and speed
depend on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.ops.conv2d import (
    CONV2D_1X1_SHALLOW_S8,
    CONV2D_KXK_SHALLOW_S8,
    CONV2D_NARROW_S8,
    SHALLOW_MAX_DEPTH,
    Conv2DPlan,
)
from tinyengine_gen.passes.fusion import ConvAddPlan
from tinyengine_gen.patching.stage import PatchStagePlan

__all__ = ["CONFIG_HEADER", "CONFIG_USER", "CONSTANT_GROUPS", "GemmConfig", "gemm_config", "emit_gemm_config"]

#: the header te_conv2d_gemm.h includes (kernels/te_gemm_config.h)
CONFIG_HEADER = "te_gemm_config.h"
#: the kernel header that includes it: a project with this file gets its own config
CONFIG_USER = "te_conv2d_gemm.h"
#: the depths / 4 for which the kernels instantiate the tile loops with a constant depth
#: (arm/te_gemm_deep_dsp.h's default TE_GEMM_CONSTANT_GROUPS)
CONSTANT_GROUPS = (2, 4, 6, 7, 8, 10, 12)


@dataclasses.dataclass(frozen=True)
class GemmConfig:
    """What te_gemm_config.h says: the variants a project's GEMM layers need."""

    #: every GEMM layer is a fast_requant one with the full int8 clamp: no ``_any`` copies
    fast_only: bool
    #: constant-depth instantiations of the 1x1 group code kept (a subset of CONSTANT_GROUPS)
    constant_groups: tuple[int, ...]
    #: those of the narrow kernel's tile loops (te_gemm_tiles_any_dsp)
    tiles_constant_groups: tuple[int, ...] = CONSTANT_GROUPS
    #: some layer runs te_gemm_shallow_tile on DSP builds (else its DSP code is left out)
    shallow_tile: bool = True


def _gemm_layers(plans: Iterable[OpPlan]) -> Iterator[Conv2DPlan]:
    """Every int8 convolution a GEMM kernel may run: layers, fused CONV_2D + ADD, patch stages."""
    for plan in plans:
        if isinstance(plan, PatchStagePlan):
            yield from _gemm_layers(plan.stage_plans)
        elif isinstance(plan, ConvAddPlan):
            yield from _gemm_layers([plan.conv])
        elif isinstance(plan, Conv2DPlan) and CONFIG_USER in plan.kernel.sources:
            yield plan


def _full_clamp_fast(plan: Conv2DPlan) -> bool:
    return bool(plan.fast_requant) and plan.act_min == -128 and plan.act_max == 127


def _runs_shallow_tile(plan: Conv2DPlan) -> bool:
    """Whether a DSP build reaches te_gemm_shallow_tile for this layer: a KxK shallow layer,
    an in-place shallow one, or a 1x1 shallow one deeper than the group code takes
    (arm/te_gemm_1x1_dsp.h: TE_GEMM_GROUP_MAX_DEPTH_DSP, the planner's SHALLOW_MAX_DEPTH)."""
    if plan.kernel == CONV2D_KXK_SHALLOW_S8:
        return True
    return plan.kernel == CONV2D_1X1_SHALLOW_S8 and (bool(plan.in_place) or plan.depth > SHALLOW_MAX_DEPTH)


def _kept(groups: Iterable[int]) -> tuple[int, ...]:
    wanted = set(groups)
    return tuple(g for g in CONSTANT_GROUPS if g in wanted)


def gemm_config(plans: Iterable[OpPlan]) -> GemmConfig:
    """The variants ``plans`` need. The 1x1 group code (1x1 shallow layers, plain or fused
    with an ADD) runs on the depth rounded up to four, the narrow kernel's tile loops on
    depth / 4 where the depth is a multiple of four."""
    layers = list(_gemm_layers(plans))
    shallow = [plan for plan in layers if plan.kernel == CONV2D_1X1_SHALLOW_S8 and not plan.in_place]
    narrow = [plan for plan in layers if plan.kernel == CONV2D_NARROW_S8 and plan.depth % 4 == 0]
    return GemmConfig(
        fast_only=all(_full_clamp_fast(plan) for plan in layers),
        constant_groups=_kept(-(-int(plan.depth) // 4) for plan in shallow),
        tiles_constant_groups=_kept(int(plan.depth) // 4 for plan in narrow),
        shallow_tile=any(_runs_shallow_tile(plan) for plan in layers),
    )


def emit_gemm_config(config: GemmConfig) -> str:
    """kernels/te_gemm_config.h for a project (see the package's default copy)."""
    cases = " ".join(f"CASE({g})" for g in config.constant_groups)
    tiles_cases = " ".join(f"CASE({g})" for g in config.tiles_constant_groups)
    return "\n".join(
        [
            "/* Generated by tinyengine_gen: the GEMM kernel variants this model's layers use",
            " * (see tinyengine_gen/codegen/kernel_config.py). Do not edit. */",
            "#ifndef TE_GEMM_CONFIG_H",
            "#define TE_GEMM_CONFIG_H",
            "",
            f"#define TE_GEMM_FAST_ONLY {int(config.fast_only)}",
            f"#define TE_GEMM_CONSTANT_GROUPS(CASE) {cases}".rstrip(),
            f"#define TE_GEMM_TILES_CONSTANT_GROUPS(CASE) {tiles_cases}".rstrip(),
            f"#define TE_GEMM_SHALLOW_TILE {int(config.shallow_tile)}",
            "",
            "#endif /* TE_GEMM_CONFIG_H */",
            "",
        ]
    )
