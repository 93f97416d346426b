"""How each operator takes part in a patch stage: its window, and a plan for one patch.

A patch plan is the op's own plan with the spatial sizes of one patch and the padding that
makes its taps land where they land on the full map (``Window.local_padding``); the kernel
is unchanged, so patch outputs are the layer-wise outputs, bit for bit. Ops without an
adapter end a patch stage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.ops.conv2d import Conv2DPlan
from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
from tinyengine_gen.ops.elementwise import AddPlan, broadcast_nest
from tinyengine_gen.patching.regions import Region, Window

__all__ = ["SpatialAdapter", "adapter_for", "register_adapter"]


class SpatialAdapter(Protocol):
    def accepts(self, plan: OpPlan) -> bool:
        """Whether this plan of the adapter's class can run on patches (beyond being NHWC, batch 1)."""

    def window(self, plan: OpPlan) -> Window | None:
        """The layer's window, or None for an element-wise op (output region = input region)."""

    def patch_plan(self, plan: OpPlan, inputs: tuple[int, ...], output: int, held: list[Region], out: Region) -> OpPlan:
        """The plan computing ``out`` from buffers holding ``held`` (one per activation input)."""


def _nhwc(shape: tuple[int, ...], region: Region) -> tuple[int, int, int, int]:
    return (1, region.height, region.width, shape[-1])


class _WindowedAdapter:
    """CONV_2D and DEPTHWISE_CONV_2D: plans with input/output shapes, stride, dilation, padding."""

    def __init__(self, kernel_of: Callable[[OpPlan], tuple[int, int]]) -> None:
        self._kernel_of = kernel_of

    def accepts(self, plan) -> bool:
        return True

    def window(self, plan) -> Window:
        return Window(self._kernel_of(plan), plan.stride, plan.dilation, plan.padding, plan.input_shape[1:3])

    def patch_plan(self, plan, inputs, output, held, out):
        changes = dict(
            inputs=inputs,
            outputs=(output,),
            input_shape=_nhwc(plan.input_shape, held[0]),
            output_shape=_nhwc(plan.output_shape, out),
            padding=self.window(plan).local_padding(out, held[0]),
        )
        if any(f.name == "in_place" for f in dataclasses.fields(plan)):
            changes["in_place"] = False
        return dataclasses.replace(plan, **changes)


class _SameShapeAddAdapter:
    """ADD of two maps of the same shape (residual connections): element-wise on a region."""

    def accepts(self, plan) -> bool:
        nest = plan.nest
        return len(plan.output_shape) == 4 and len(nest.extent) == 1 and nest.step1 == nest.step2 == (1,)

    def window(self, plan) -> None:
        return None

    def patch_plan(self, plan, inputs, output, held, out):
        shape = _nhwc(plan.output_shape, out)
        return dataclasses.replace(
            plan, inputs=inputs, outputs=(output,), output_shape=shape, nest=broadcast_nest(shape, shape, shape)
        )


#: by plan class: the plans that can run on patches
_ADAPTERS: dict[type, SpatialAdapter] = {
    Conv2DPlan: _WindowedAdapter(lambda p: tuple(p.filter.shape[1:3])),
    DepthwiseConv2DPlan: _WindowedAdapter(lambda p: tuple(p.filter.shape[0:2])),
    AddPlan: _SameShapeAddAdapter(),
}


def register_adapter(plan_class: type, adapter: SpatialAdapter) -> None:
    _ADAPTERS[plan_class] = adapter


def adapter_for(plan: OpPlan) -> SpatialAdapter | None:
    """The adapter of a plan that can run on patches, or None."""
    adapter = _ADAPTERS.get(type(plan))
    if adapter is None or getattr(plan, "input_shape", (1,))[0] != 1:
        return None
    if getattr(plan, "input_layout", "NHWC") != "NHWC":
        return None  # patch buffers are NHWC; a stage folds an NCHW input's TRANSPOSE itself
    if not adapter.accepts(plan):
        return None
    return adapter
