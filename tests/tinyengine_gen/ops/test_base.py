"""replace_plan, the fast copy the memory passes and the NAS cost model make of plans, and
plan_property, the cached property plans keep their derived values in."""

from __future__ import annotations

import dataclasses
import functools

import pytest

from tinyengine_gen.ops.base import plan_property, replace_plan


@dataclasses.dataclass(frozen=True, eq=False)
class _Plan:
    op_index: int
    inputs: tuple[int, ...]
    scale: int = 1

    @functools.cached_property
    def doubled(self) -> int:
        return 2 * self.scale

    @plan_property
    def tripled(self) -> list[int]:
        return [3 * self.scale]  # (a new object per computation: shows when it is recomputed)


@dataclasses.dataclass(frozen=True)
class _Validated:
    size: int

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("negative size")


def test_copies_fields_and_forgets_cached_properties():
    plan = _Plan(3, (1, 2), scale=5)
    assert plan.doubled == 10  # cached in the instance dict
    copy = replace_plan(plan, scale=7, op_index=4)
    assert (copy.op_index, copy.inputs, copy.scale, copy.doubled) == (4, (1, 2), 7, 14)
    assert (plan.scale, plan.doubled) == (5, 10)  # the original is untouched
    assert type(copy) is _Plan and copy is not plan


def test_unknown_field_is_an_error_like_dataclasses_replace():
    with pytest.raises(TypeError, match="no field 'width'"):
        replace_plan(_Plan(0, ()), width=3)


def test_classes_with_post_init_go_through_dataclasses_replace():
    assert replace_plan(_Validated(1), size=2).size == 2
    with pytest.raises(ValueError, match="negative"):
        replace_plan(_Validated(1), size=-1)


def test_plan_property_computes_once_per_plan_and_is_dropped_from_copies():
    plan = _Plan(0, (), scale=2)
    first = plan.tripled
    assert first == [6] and plan.tripled is first
    copy = replace_plan(plan, scale=5)
    assert copy.tripled == [15] and plan.tripled is first
    assert isinstance(_Plan.__dict__["tripled"], functools.cached_property)  # what replace_plan looks for


def test_optional_plan_features_are_declared_by_the_plan_class():
    """The in-place and lean passes ask plans for their optional variants through typed protocols."""
    from tinyengine_gen.ops.base import InPlaceVariant, has_in_place_variant, has_lean_variant
    from tinyengine_gen.ops.conv2d import Conv2DPlan
    from tinyengine_gen.ops.depthwise_conv2d import DepthwiseConv2DPlan
    from tinyengine_gen.ops.elementwise import AddPlan
    from tinyengine_gen.passes.fusion import ConvAddPlan

    for cls in (Conv2DPlan, DepthwiseConv2DPlan, ConvAddPlan):
        plan = object.__new__(cls)
        assert has_in_place_variant(plan) and has_lean_variant(plan), cls
    add = object.__new__(AddPlan)
    assert not has_in_place_variant(add) and not has_lean_variant(add)

    class OnlyInPlace:
        def in_place_variant(self):
            return None

    assert has_in_place_variant(OnlyInPlace()) and not has_lean_variant(OnlyInPlace())
    assert isinstance(OnlyInPlace(), InPlaceVariant)
