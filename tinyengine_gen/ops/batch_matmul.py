"""BATCH_MATMUL: int8 matrix products over broadcast batch dimensions (attention blocks).

As TFLite Micro's reference: operands and output per-tensor int8, ranks 2 to 5, batch
dimensions broadcast, ``adj_x``/``adj_y`` transpose the last two dimensions of an operand;
``sum((lhs - lhs_zp) * (rhs - rhs_zp))`` is requantised with one multiplier from
``float(lhs_scale * rhs_scale) / output_scale`` (GetQuantizedConvolutionMultipler, without
bias: the scale product is taken in float) and clamped to int8 (no fused activation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["BATCH_MATMUL_KERNEL", "BatchMatMulPlan", "plan_batch_matmul"]


#: the kernel the emitted call runs
BATCH_MATMUL_KERNEL = Kernel("te_batch_matmul_s8", ("te_batch_matmul.c", "te_batch_matmul.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class BatchMatMulPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]  # (lhs, rhs)
    outputs: tuple[int, ...]
    lhs_shape: tuple[int, ...]
    rhs_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    adj_x: bool
    adj_y: bool
    rows: int
    cols: int
    depth: int
    lhs_batch_offset: np.ndarray  # int32, one per output matrix
    rhs_batch_offset: np.ndarray
    lhs_offset: int
    rhs_offset: int
    output_offset: int
    multiplier: int
    shift: int
    kernels = (BATCH_MATMUL_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def macs(self) -> int:
        return len(self.lhs_batch_offset) * self.rows * self.cols * self.depth

    @property
    def scratch_bytes(self) -> int:
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        lhs = np.asarray(values[self.inputs[0]], dtype=np.int64).reshape(self.lhs_shape) + self.lhs_offset
        rhs = np.asarray(values[self.inputs[1]], dtype=np.int64).reshape(self.rhs_shape) + self.rhs_offset
        if self.adj_x:
            lhs = np.swapaxes(lhs, -1, -2)
        if self.adj_y:
            rhs = np.swapaxes(rhs, -1, -2)
        total = np.matmul(lhs, rhs).astype(np.int32)
        out = multiply_by_quantized_multiplier(total, self.multiplier, self.shift).astype(np.int64) + self.output_offset
        return {self.outputs[0]: np.clip(out, -128, 127).astype(np.int8).reshape(self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        lhs_strides = (1, self.rows) if self.adj_x else (self.depth, 1)  # (row, depth)
        rhs_strides = (1, self.depth) if self.adj_y else (self.cols, 1)  # (depth, col)
        lhs_batches = ctx.const(f"op{self.op_index}_lhs_batches", self.lhs_batch_offset)
        rhs_batches = ctx.const(f"op{self.op_index}_rhs_batches", self.rhs_batch_offset)
        params = (
            f".batches = {len(self.lhs_batch_offset)}, .rows = {self.rows}, .cols = {self.cols}, .depth = {self.depth}, "
            f".lhs_row_stride = {lhs_strides[0]}, .lhs_depth_stride = {lhs_strides[1]}, "
            f".rhs_depth_stride = {rhs_strides[0]}, .rhs_col_stride = {rhs_strides[1]}, "
            f".lhs_batch_offset = {lhs_batches}, .rhs_batch_offset = {rhs_batches}, "
            f".lhs_offset = {self.lhs_offset}, .rhs_offset = {self.rhs_offset}, .output_offset = {self.output_offset}, "
            f".multiplier = {self.multiplier}, .shift = {self.shift}"
        )
        return [
            "{",
            f"  static const te_batch_matmul_params params = {{{params}}};",
            f"  {BATCH_MATMUL_KERNEL.name}(&params, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.inputs[1])}, "
            f"{ctx.tensor(self.outputs[0])});",
            "}",
        ]


def _batch_offsets(shape: tuple[int, ...], batch: tuple[int, ...]) -> np.ndarray:
    """Element offset of the operand matrix for each output matrix, in output order (broadcast)."""
    matrix = shape[-1] * shape[-2]
    own = (1,) * (len(batch) - len(shape[:-2])) + shape[:-2]
    strides = [0] * len(own)
    step = matrix
    for d in range(len(own) - 1, -1, -1):
        strides[d] = step if own[d] != 1 else 0
        step *= own[d]
    index = np.indices(batch).reshape(len(batch), -1) if batch else np.zeros((0, 1), dtype=np.int64)
    return (np.asarray(strides, dtype=np.int64)[:, None] * index).sum(axis=0).astype(np.int32)


@register("BATCH_MATMUL", inputs=2)
def plan_batch_matmul(graph: Graph, op: Operator) -> BatchMatMulPlan:
    check = OpChecker(graph, op)
    lhs, rhs, y = check.required_input(0), check.required_input(1), check.output()
    for tensor in (lhs, rhs, y):
        check.dtype(tensor, DType.INT8)
    check.rank(lhs, 2, 3, 4, 5)
    check.rank(rhs, 2, 3, 4, 5)
    adj_x, adj_y = bool(op.options.get("adjX", False)), bool(op.options.get("adjY", False))
    rows, depth = (lhs.shape[-1], lhs.shape[-2]) if adj_x else (lhs.shape[-2], lhs.shape[-1])
    rhs_depth, cols = (rhs.shape[-1], rhs.shape[-2]) if adj_y else (rhs.shape[-2], rhs.shape[-1])
    if depth != rhs_depth:
        raise check.unsupported(f"{lhs.describe()} and {rhs.describe()} have different inner dimensions.")
    try:
        batch = tuple(np.broadcast_shapes(lhs.shape[:-2], rhs.shape[:-2]))
    except ValueError:
        raise check.unsupported(f"the batch dimensions of {lhs.describe()} and {rhs.describe()} do not broadcast.") from None
    check.output_shape_matches(y, (*batch, rows, cols))
    lhs_scale, lhs_zp = check.per_tensor_quant(lhs)
    rhs_scale, rhs_zp = check.per_tensor_quant(rhs)
    out_scale, out_zp = check.per_tensor_quant(y)
    real = float(np.float32(lhs_scale) * np.float32(rhs_scale)) / float(np.float32(out_scale))
    multiplier, shift = quantize_multiplier(real)
    return BatchMatMulPlan(
        op_index=op.index,
        inputs=(lhs.index, rhs.index),
        outputs=(y.index,),
        lhs_shape=tuple(lhs.shape),
        rhs_shape=tuple(rhs.shape),
        output_shape=tuple(y.shape),
        adj_x=adj_x,
        adj_y=adj_y,
        rows=rows,
        cols=cols,
        depth=depth,
        lhs_batch_offset=_batch_offsets(tuple(lhs.shape), batch),
        rhs_batch_offset=_batch_offsets(tuple(rhs.shape), batch),
        lhs_offset=-lhs_zp,
        rhs_offset=-rhs_zp,
        output_offset=out_zp,
        multiplier=int(multiplier),
        shift=int(shift),
    )


