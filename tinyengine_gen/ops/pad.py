"""PAD and PADV2: int8 constant padding of a tensor of rank 1 to 5.

Matches TFLite Micro's ``PadEval``: pure data movement of the raw int8 values (no
requantisation, whatever the quantisation of input and output). PAD fills with the output
zero point, PADV2 with its scalar ``constant_values`` int8 value (which TFLM requires to
share the output's scale and zero point). The paddings must be a constant int32 [rank, 2]
tensor, as on TFLM.

At planning time every dimension without padding is merged into the one before it (it is
copied whole), and the result is prefixed with unpadded unit dims to five, so the kernel
copies long contiguous rows: an NHWC spatial pad becomes rows of ``W * C`` bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["PAD_KERNEL", "PadPlan", "canonical_pad_dims", "pad_reference", "plan_pad", "plan_padv2"]

#: TFLM's pad kernel handles inputs of up to five dims.
MAX_RANK = 5
_CANONICAL_RANK = 5


#: the kernel the emitted call runs
PAD_KERNEL = Kernel("te_pad_s8", ("te_pad.c", "te_pad.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class PadPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    paddings: tuple[tuple[int, int], ...]  # (before, after) per dim of the model's tensors
    value: int  # the int8 fill value
    dims: tuple[tuple[int, int, int], ...]  # canonical (input size, before, after), five of them
    kernels = (PAD_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: pad_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        sizes = ", ".join(str(d[0]) for d in self.dims)
        before = ", ".join(str(d[1]) for d in self.dims)
        after = ", ".join(str(d[2]) for d in self.dims)
        params = f".in = {{{sizes}}}, .before = {{{before}}}, .after = {{{after}}}, .value = {self.value}"
        return [
            "{",
            f"  static const te_pad_params params = {{{params}}};",
            f"  {PAD_KERNEL.name}(&params, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def canonical_pad_dims(shape: Sequence[int], paddings: Sequence[tuple[int, int]]) -> tuple[tuple[int, int, int], ...]:
    """Five (size, before, after) triples that pad the same bytes as ``paddings`` on ``shape``.

    A dim without padding is copied whole, so it folds into its predecessor: sizes and
    paddings of the predecessor scale by its size. An unpadded first dim stays an outer loop.
    """
    dims: list[list[int]] = []
    for size, (before, after) in zip(shape, paddings, strict=True):
        if dims and before == 0 and after == 0:
            dims[-1] = [dims[-1][0] * size, dims[-1][1] * size, dims[-1][2] * size]
        else:
            dims.append([int(size), int(before), int(after)])
    while len(dims) < _CANONICAL_RANK:
        dims.insert(0, [1, 0, 0])
    return tuple((a, b, c) for a, b, c in dims)


@register("PAD", inputs=2)
def plan_pad(graph: Graph, op: Operator) -> PadPlan:
    return _plan_pad(graph, op)


@register("PADV2", inputs=2)
def plan_padv2(graph: Graph, op: Operator) -> PadPlan:
    return _plan_pad(graph, op)


def _fill_value(check: OpChecker, op: Operator, out_zp: int, out_scale: float) -> int:
    """PAD pads with the output zero point; PADV2 with its constant, which must share the output's quantisation."""
    constant = check.input(2, optional=True) if op.opcode == "PADV2" else None
    if constant is None:
        return out_zp
    check.dtype(constant, DType.INT8)
    data = check.constant(constant, "constant_values")
    if data.size != 1:
        raise check.unsupported(f"{constant.describe()} (constant_values) must be a scalar.")
    scale, zero_point = check.per_tensor_quant(constant)
    if scale != out_scale or zero_point != out_zp:
        raise check.quant_error(
            f"{constant.describe()} (constant_values) is quantised as ({scale}, {zero_point}); TFLite Micro "
            f"requires the output's ({out_scale}, {out_zp})."
        )
    return int(data.reshape(-1)[0])


def _plan_pad(graph: Graph, op: Operator) -> PadPlan:
    check = OpChecker(graph, op)
    if len(op.inputs) not in (2, 3) or (op.opcode == "PAD" and len(op.inputs) != 2):
        raise check.unsupported(f"{len(op.inputs)} inputs; expected input, paddings (and constant_values for PADV2).")
    x = check.required_input(0)
    paddings_tensor = check.required_input(1)
    y = check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.rank(x, *range(1, MAX_RANK + 1))
    rank = len(x.shape)
    if paddings_tensor.dtype != DType.INT32:
        raise check.unsupported(f"{paddings_tensor.describe()} (paddings) must be int32.")
    raw = check.constant(paddings_tensor, "paddings")
    if raw.size != 2 * rank:
        raise check.unsupported(f"{paddings_tensor.describe()} (paddings) must have shape [{rank}, 2].")
    paddings = tuple((int(a), int(b)) for a, b in raw.reshape(rank, 2).tolist())
    if any(a < 0 or b < 0 for a, b in paddings):
        raise check.unsupported(f"negative paddings {list(paddings)} are not supported.")
    check.output_shape_matches(y, tuple(d + a + b for d, (a, b) in zip(x.shape, paddings, strict=True)))
    out_scale, out_zp = check.per_tensor_quant(y)
    return PadPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        input_shape=tuple(x.shape),
        output_shape=tuple(y.shape),
        paddings=paddings,
        value=_fill_value(check, op, out_zp, out_scale),
        dims=canonical_pad_dims(x.shape, paddings),
    )


def pad_reference(x: np.ndarray, plan: PadPlan) -> np.ndarray:
    """Pure-numpy twin of te_pad_s8 (and of TFLite Micro's int8 Pad)."""
    return np.pad(x.astype(np.int8), plan.paddings, mode="constant", constant_values=plan.value)
