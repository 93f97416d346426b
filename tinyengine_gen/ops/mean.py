"""MEAN: int8 average over one or two axes (GlobalAveragePooling2D converts to it).

Matches TFLite Micro's int8 ``EvalMean``, i.e. reference ``QuantizedMeanOrSum``: the int32
sum minus ``input_zp * count``, requantised with ``QuantizeMultiplier(in_scale / out_scale)``
whose multiplier is pre-divided by the count (``(multiplier << s) / count`` with
``s = min(floor(log2 count), 32, 31 + shift)``), plus the output zero point, clamped to int8.

The TFLM build we compare against takes this path even when input and output share scale
and zero point (the real MCUNet-VWW and MobileNetV2 files): older TFLM sources had a
separate truncating ``sum / count`` path for that case, but the tflite-micro package does
not: truncation differs from it in a third to a half of the values.

Every reduction is canonicalised at planning time to five dims ``[K0, R1, K1, R2, K2]``
(kept, reduced, kept, reduced, kept), aligned to the right so that a trailing kept group
(the channels of a global average pool) is ``K2``: adjacent dims of the same kind are
merged, and the kernel sums contiguous rows of ``K2`` values, a block of channels at a time
in a local int32 row (no scratch memory).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["MEAN_KERNEL", "MeanPlan", "canonical_reduce_dims", "mean_reference", "mean_requant", "plan_mean", "resolve_axes"]

#: TFLM's reduce kernels index at most five input dims and resolve at most two axes.
MAX_RANK = 5
MAX_AXES = 2
#: Largest element count per output for which int32 sums (and sum - zp * count) cannot overflow.
MAX_COUNT = 1 << 23


#: the kernel the emitted call runs
MEAN_KERNEL = Kernel("te_mean_s8", ("te_mean.c", "te_mean.h", "te_add_requant.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class MeanPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    axes: tuple[int, ...]  # resolved (non-negative), deduplicated, in the model's order
    dims: tuple[int, int, int, int, int]  # [K0, R1, K1, R2, K2]
    count: int  # input elements averaged into each output
    input_zp: int
    output_zp: int
    multiplier: int  # already divided by ``count``, as QuantizedMeanOrSum does
    shift: int
    kernels = (MEAN_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def macs(self) -> int:
        """One accumulate per input element (no multiplies, but not free either)."""
        return int(np.prod(self.input_shape, dtype=np.int64))

    @property
    def scratch_bytes(self) -> int:
        """None: the kernel's running sums are a small local array."""
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: mean_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        k0, r1, k1, r2, k2 = self.dims
        params = (
            f".k0 = {k0}, .r1 = {r1}, .k1 = {k1}, .r2 = {r2}, .k2 = {k2}, "
            f".zp_times_count = {self.input_zp * self.count}, "
            f".output_zp = {self.output_zp}, .multiplier = {self.multiplier}, .shift = {self.shift}"
        )
        call = f"{MEAN_KERNEL.name}(&params, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.outputs[0])});"
        return ["{", f"  static const te_mean_params params = {{{params}}};", f"  {call}", "}"]


def canonical_reduce_dims(shape: Sequence[int], axes: Sequence[int]) -> tuple[int, int, int, int, int] | None:
    """``shape`` as ``[K0, R1, K1, R2, K2]`` after merging neighbours, or None if it needs more groups.

    Size-1 dims are dropped first (they change no offsets), so e.g. axes {0, 2} of
    ``[1, H, W, C]`` still reduce a single group. Groups are aligned to the right, so that
    the last kept group, contiguous in memory, becomes ``K2``; missing groups are size 1.
    """
    groups: list[list[int | bool]] = []  # [size, reduced]
    for position, size in enumerate(shape):
        if size == 1:
            continue
        reduced = position in axes
        if groups and groups[-1][1] == reduced:
            groups[-1][0] = int(groups[-1][0]) * size
        else:
            groups.append([size, reduced])
    if not groups or groups[-1][1]:
        groups.append([1, False])
    while len(groups) < 5:
        groups.insert(0, [1, len(groups) % 2 == 1])
    if len(groups) > 5:
        return None
    k0, r1, k1, r2, k2 = (int(g[0]) for g in groups)
    return k0, r1, k1, r2, k2


def mean_requant(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """(multiplier, shift) of reference QuantizedMeanOrSum, the 1/count already folded in.

    The base multiplier is QuantizeMultiplier of the double ratio of the float32 scales, as
    TFLM's PrepareMeanOrSum computes it; the fold shifts the multiplier left by up to
    ``floor(log2 count)`` bits (at most 32, and never past a total shift of -31) before an
    int64 division by the count.
    """
    multiplier, shift = requant_multiplier(float(input_scale) / float(output_scale))
    fold = min(count.bit_length() - 1, 32, 31 + shift)
    multiplier = (multiplier << fold) // count
    return int(multiplier), int(shift - fold)


def resolve_axes(check: OpChecker, raw: np.ndarray, rank: int) -> tuple[int, ...]:
    """TFLM's ResolveAxis (MEAN, REDUCE_MAX): negative axes count from the end, duplicates are dropped."""
    resolved: list[int] = []
    for value in raw.reshape(-1).tolist():
        axis = int(value) + rank if value < 0 else int(value)
        if not 0 <= axis < rank:
            raise check.unsupported(f"axis {value} is out of range for a rank-{rank} input.")
        if axis not in resolved:
            resolved.append(axis)
    return tuple(resolved)


@register("MEAN", inputs=2)
def plan_mean(graph: Graph, op: Operator) -> MeanPlan:
    check = OpChecker(graph, op)
    if len(op.inputs) != 2:
        raise check.unsupported(f"expected 2 inputs (data, axis), got {len(op.inputs)}.")
    x = check.required_input(0)
    axis_tensor = check.required_input(1)
    y = check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.dtype(axis_tensor, DType.INT32)
    check.rank(x, *range(1, MAX_RANK + 1))
    axes = resolve_axes(check, check.constant(axis_tensor, "axis"), len(x.shape))
    if len(axes) > MAX_AXES:
        raise check.unsupported(
            f"it reduces {len(axes)} distinct axes {list(axes)}; TFLite Micro's MEAN reduces at most "
            f"{MAX_AXES} (reshape first, or reduce in two MEAN ops)."
        )
    keep_dims = bool(op.options.get("keepDims", False))
    if keep_dims:
        expected = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    else:
        expected = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    check.output_shape_matches(y, expected)
    if x.num_elements == 0:
        raise check.unsupported(f"{x.describe()} is empty.")
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if count > MAX_COUNT:
        raise check.unsupported(f"it averages {count} elements per output; at most {MAX_COUNT} are supported.")
    dims = canonical_reduce_dims(x.shape, axes)
    if dims is None:
        raise check.unsupported(f"reducing axes {list(axes)} of shape {list(x.shape)} is not supported.")
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    multiplier, shift = mean_requant(in_scale, out_scale, count)
    return MeanPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        input_shape=tuple(x.shape),
        output_shape=tuple(y.shape),
        axes=axes,
        dims=dims,
        count=count,
        input_zp=in_zp,
        output_zp=out_zp,
        multiplier=multiplier,
        shift=shift,
    )


def mean_reference(x: np.ndarray, plan: MeanPlan) -> np.ndarray:
    """Pure-numpy twin of te_mean_s8 (and of TFLite Micro's int8 EvalMean)."""
    sums = x.astype(np.int64).sum(axis=plan.axes) if plan.axes else x.astype(np.int64)
    shifted = sums - plan.input_zp * plan.count
    out = multiply_by_quantized_multiplier(shifted, plan.multiplier, plan.shift) + plan.output_zp
    return np.clip(out, -128, 127).astype(np.int8).reshape(plan.output_shape)
