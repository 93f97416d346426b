"""CONCATENATION: int8 inputs joined along one axis.

(int32 inputs, as in the shape subgraphs of unfixed-batch models, are copied the same way;
they are usually folded into constants before planning.)

TFLite Micro's int8 kernel does not requantise: its Prepare requires every input to have
exactly the output's scale and zero point (the converter arranges this), and Eval copies
the values. We mirror that, and reject a model with differing quantisation with a
QuantizationError instead of producing values TFLite Micro would refuse to compute. As in
TFLite Micro: at most 10 inputs, rank at most 6, a negative axis counts from the end of
the output shape, and the fused activation must be NONE.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["CONCATENATION_KERNEL", "MAX_INPUTS", "MAX_RANK", "ConcatenationPlan", "concatenation_reference", "plan_concatenation"]

#: TFLite Micro's kMaxInputNum (and TE_CONCATENATION_MAX_INPUTS in the kernel).
MAX_INPUTS = 10
#: TFLite Micro rejects inputs of higher rank.
MAX_RANK = 6


#: the kernel the emitted call runs
CONCATENATION_KERNEL = Kernel("te_concatenation_s8", ("te_concatenation.c", "te_concatenation.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class ConcatenationPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    output_shape: tuple[int, ...]
    axis: int  # non-negative
    outer: int  # product of the output dimensions before the axis
    chunks: tuple[int, ...]  # bytes each input contributes per outer index
    kernels = (CONCATENATION_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        out = concatenation_reference([values[i] for i in self.inputs], self)
        return {self.outputs[0]: out}

    def emit(self, ctx: EmitContext) -> list[str]:
        chunks = ", ".join(str(c) for c in self.chunks)
        pointers = ", ".join(f"(const int8_t*){ctx.tensor(i)}" for i in self.inputs)
        return [
            "{",
            (
                f"  static const te_concatenation_params params = {{.num_inputs = {len(self.inputs)}, "
                f".outer = {self.outer}, .chunk = {{{chunks}}}}};"
            ),
            f"  const int8_t* const inputs[{len(self.inputs)}] = {{{pointers}}};",
            f"  {CONCATENATION_KERNEL.name}(&params, inputs, (int8_t*){ctx.tensor(self.outputs[0])});",
            "}",
        ]


def _same_quantisation(check: OpChecker, tensor: Tensor, output: Tensor) -> None:
    """TFLite Micro's int8 Prepare: input scale and zero point must equal the output's."""
    scale, zero_point = check.per_tensor_quant(tensor)
    out_scale, out_zero_point = check.per_tensor_quant(output)
    if np.float32(scale) != np.float32(out_scale) or zero_point != out_zero_point:
        raise check.quant_error(
            f"{tensor.describe()} has scale {scale!r} and zero point {zero_point} but the output has "
            f"scale {out_scale!r} and zero point {out_zero_point}; int8 concatenation (as in TFLite Micro) "
            "needs identical quantisation on every input and the output (re-convert the model)."
        )


def _positive_axis(check: OpChecker, rank: int) -> int:
    raw = int(check.op.options.get("axis", 0) or 0)
    axis = raw + rank if raw < 0 else raw
    if not 0 <= axis < rank:
        raise check.unsupported(f"axis {raw} is out of range for rank {rank}.")
    return axis


@register("CONCATENATION")
def plan_concatenation(graph: Graph, op: Operator) -> ConcatenationPlan:
    check = OpChecker(graph, op)
    y = check.output()
    if not 1 <= len(op.inputs) <= MAX_INPUTS:
        raise check.unsupported(f"{len(op.inputs)} inputs; 1 to {MAX_INPUTS} are supported (as in TFLite Micro).")
    xs = [check.required_input(position) for position in range(len(op.inputs))]
    if check.activation() != "NONE":
        raise check.unsupported(
            f"fused activation {check.activation()} is not supported; only NONE (as in TFLite Micro)."
        )
    rank = len(y.shape)
    if not 1 <= rank <= MAX_RANK:
        raise check.unsupported(f"{y.describe()} has rank {rank}; ranks 1 to {MAX_RANK} are supported.")
    axis = _positive_axis(check, rank)
    check.dtype(y, DType.INT8, DType.INT32)
    for x in xs:
        check.dtype(x, y.dtype)
        if len(x.shape) != rank or any(a != b for d, (a, b) in enumerate(zip(x.shape, y.shape)) if d != axis):
            raise check.unsupported(f"{x.describe()} does not match the output {list(y.shape)} outside axis {axis}.")
        if y.dtype == DType.INT8:
            _same_quantisation(check, x, y)
    check.output_shape_matches(y, (*y.shape[:axis], sum(x.shape[axis] for x in xs), *y.shape[axis + 1 :]))
    inner = int(np.prod(y.shape[axis + 1 :], dtype=np.int64))
    return ConcatenationPlan(
        op_index=op.index,
        inputs=tuple(x.index for x in xs),
        outputs=(y.index,),
        output_shape=tuple(y.shape),
        axis=axis,
        outer=int(np.prod(y.shape[:axis], dtype=np.int64)),
        chunks=tuple(int(x.shape[axis]) * inner * y.dtype.itemsize for x in xs),
    )


def concatenation_reference(xs: list[np.ndarray], plan: ConcatenationPlan) -> np.ndarray:
    """Pure-numpy twin of te_concatenation_s8 (TFLite Micro copies the int8 values)."""
    return np.concatenate([np.asarray(x) for x in xs], axis=plan.axis).reshape(plan.output_shape)
