"""How each operator takes part in a patch stage: its window, and a plan for one patch.

A patch plan is the op's own plan with the spatial sizes of one patch and the padding that
makes its taps land where they land on the full map (``Window.local_padding``); the kernel
is unchanged, so patch outputs are the layer-wise outputs, bit for bit. Ops without an
adapter end a patch stage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.ops.conv2d import Conv2DPlan
from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
from tinyengine_gen.ops.elementwise import AddPlan, broadcast_nest
from tinyengine_gen.patching.regions import Region, Window

__all__ = ["SpatialAdapter", "adapter_for", "required_adapter", "register_adapter"]

#: the plan class an adapter serves
P = TypeVar("P", contravariant=True)
#: a windowed plan (CONV_2D, DEPTHWISE_CONV_2D)
W = TypeVar("W", Conv2DPlan, DepthwiseConv2DPlan)


class SpatialAdapter(Protocol[P]):
    def accepts(self, plan: P) -> bool:
        """Whether this plan of the adapter's class can run on patches (batch 1, an NHWC
        input, and whatever else the adapter's op needs)."""

    def window(self, plan: P) -> Window | None:
        """The layer's window, or None for an element-wise op (output region = input region)."""

    def patch_plan(self, plan: P, inputs: tuple[int, ...], output: int, held: list[Region], out: Region) -> OpPlan:
        """The plan computing ``out`` from buffers holding ``held`` (one per activation input)."""


def _nhwc(shape: tuple[int, ...], region: Region) -> tuple[int, int, int, int]:
    return (1, region.height, region.width, shape[-1])


class _WindowedAdapter(Generic[W]):
    """CONV_2D and DEPTHWISE_CONV_2D: plans with input/output shapes, stride, dilation, padding.
    Patch buffers are NHWC: a layer reading an NCHW input is not accepted (a stage folds an
    NCHW model input's TRANSPOSE itself)."""

    def __init__(
        self, kernel_of: Callable[[W], tuple[int, int]], nhwc: Callable[[W], bool] = lambda plan: True
    ) -> None:
        self._kernel_of: Callable[[W], tuple[int, int]] = kernel_of
        self._nhwc: Callable[[W], bool] = nhwc

    def accepts(self, plan: W) -> bool:
        return plan.input_shape[0] == 1 and self._nhwc(plan)

    def window(self, plan: W) -> Window:
        return Window(self._kernel_of(plan), plan.stride, plan.dilation, plan.padding, plan.input_shape[1:3])

    def patch_plan(
        self, plan: W, inputs: tuple[int, ...], output: int, held: list[Region], out: Region
    ) -> OpPlan:
        return dataclasses.replace(
            plan,
            inputs=inputs,
            outputs=(output,),
            input_shape=_nhwc(plan.input_shape, held[0]),
            output_shape=_nhwc(plan.output_shape, out),
            padding=self.window(plan).local_padding(out, held[0]),
            in_place=False,
        )


class _SameShapeAddAdapter:
    """ADD of two maps of the same shape (residual connections): element-wise on a region."""

    def accepts(self, plan: AddPlan) -> bool:
        nest = plan.nest
        return len(plan.output_shape) == 4 and len(nest.extent) == 1 and nest.step1 == nest.step2 == (1,)

    def window(self, plan: AddPlan) -> None:
        return None

    def patch_plan(self, plan: AddPlan, inputs: tuple[int, ...], output: int, held: list[Region], out: Region) -> OpPlan:
        shape = _nhwc(plan.output_shape, out)
        return dataclasses.replace(
            plan, inputs=inputs, outputs=(output,), output_shape=shape, nest=broadcast_nest(shape, shape, shape)
        )


def _conv_kernel(plan: Conv2DPlan) -> tuple[int, int]:
    return (plan.filter.shape[1], plan.filter.shape[2])


def _depthwise_kernel(plan: DepthwiseConv2DPlan) -> tuple[int, int]:
    return (plan.filter.shape[0], plan.filter.shape[1])


#: by plan class: the plans that can run on patches
_ADAPTERS: dict[type, SpatialAdapter[Any]] = {
    Conv2DPlan: _WindowedAdapter(_conv_kernel, lambda plan: plan.input_layout == "NHWC"),
    DepthwiseConv2DPlan: _WindowedAdapter(_depthwise_kernel),
    AddPlan: _SameShapeAddAdapter(),
}


def register_adapter(plan_class: type, adapter: SpatialAdapter[Any]) -> None:
    _ADAPTERS[plan_class] = adapter


def adapter_for(plan: OpPlan) -> SpatialAdapter[Any] | None:
    """The adapter of a plan that can run on patches, or None."""
    adapter = _ADAPTERS.get(type(plan))
    if adapter is None or not adapter.accepts(plan):
        return None
    return adapter


def required_adapter(plan: OpPlan) -> SpatialAdapter[Any]:
    """The adapter of a plan that the caller already knows can run on patches."""
    adapter = adapter_for(plan)
    if adapter is None:
        raise ValueError(f"operator {plan.op_index} ({type(plan).__name__}) cannot run on patches")
    return adapter
