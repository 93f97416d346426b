"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND: int8 NHWC images cut into block phases and back.

TFLite Micro's reference kernels move raw int8 values (no requantisation). SPACE_TO_BATCH
pads the image and makes phase ``(i, j)`` of each ``b_h x b_w`` block a batch entry;
BATCH_TO_SPACE interleaves the phases back and crops. Tensors are 4-D; a batch of N
images gives N consecutive entries per phase (phase-major, as TFLite Micro orders them).
Both run as existing kernels: SPACE_TO_BATCH pads into scratch (``te_pad_s8``) then
permutes ``[N, H/b_h, b_h, W/b_w, b_w, C] -> [b_h, b_w, N, H/b_h, W/b_w, C]``
(``te_transpose_s8``; N and H/b_h stay adjacent, so it is a 5-D permutation);
BATCH_TO_SPACE permutes back, into scratch when it crops, then copies the window.

The converter emits the pair around a convolution for ``dilation_rate > 1``;
:mod:`tinyengine_gen.passes.fold_dilated` folds that pattern into one dilated
convolution before planning, so these kernels only run for the pair on its own.

SPACE_TO_BATCH's pad value: TensorFlow Lite pads with the output zero point; TFLite
Micro's kernel reads ``output_offset`` from parameters it never sets (whatever its arena
held, often 0), so its padded positions are undefined. We pad with the raw value 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels
from tinyengine_gen.ops.pad import PAD_KERNEL, canonical_pad_dims
from tinyengine_gen.ops.transpose import TRANSPOSE_KERNELS, _kernel_geometry

__all__ = ["SpaceToBatchPlan", "BatchToSpacePlan", "plan_space_to_batch", "plan_batch_to_space"]

#: the kernels both run: PAD's and TRANSPOSE's int8 one
_KERNELS = (PAD_KERNEL, TRANSPOSE_KERNELS[DType.INT8])
#: The raw int8 value TFLite Micro's SPACE_TO_BATCH_ND pads with (see the module docstring).
PAD_VALUE = 0


def _transpose_call(kernel_input: str, output: str, shape, perm, offset: int = 0, strides=None) -> list[str]:
    out_shape, in_stride = _kernel_geometry(shape, perm) if strides is None else (shape, strides)
    dims = ", ".join(str(d) for d in out_shape)
    steps = ", ".join(f"{s}L" for s in in_stride)
    return [
        "  {",
        f"    static const te_transpose_params t = {{.out_shape = {{{dims}}}, .in_stride = {{{steps}}}}};",
        f"    {_KERNELS[1].name}(&t, {kernel_input} + {offset}, {output});",
        "  }",
    ]


@dataclasses.dataclass(frozen=True, eq=False)
class SpaceToBatchPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    block: tuple[int, int]
    paddings: tuple[tuple[int, int], tuple[int, int]]
    padded: tuple[int, int, int]  # (H + pads, W + pads, C)
    output_shape: tuple[int, ...]
    pad_value: int
    batch: int = 1
    kernels = _KERNELS
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def scratch_bytes(self) -> int:
        return self.batch * int(np.prod(self.padded))

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        x = np.asarray(values[self.inputs[0]], dtype=np.int8)
        padded = np.pad(x, ((0, 0), *self.paddings, (0, 0)), constant_values=self.pad_value)
        return {self.outputs[0]: self._phases(padded).reshape(self.output_shape)}

    def _view(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        (bh, bw), (hp, wp, c) = self.block, self.padded
        return (self.batch, hp // bh, bh, wp // bw, bw, c), (2, 4, 0, 1, 3, 5)

    def _phases(self, padded: np.ndarray) -> np.ndarray:
        shape, perm = self._view()
        return np.transpose(padded.reshape(shape), perm)

    def emit(self, ctx: EmitContext) -> list[str]:
        h, w, c = (self.padded[0] - sum(self.paddings[0]), self.padded[1] - sum(self.paddings[1]), self.padded[2])
        dims = canonical_pad_dims((self.batch, h, w, c), ((0, 0), *self.paddings, (0, 0)))
        sizes, before, after = (", ".join(str(d[k]) for d in dims) for k in range(3))
        shape, perm = self._view()
        return [
            "{",
            f"  static const te_pad_params p = {{.in = {{{sizes}}}, .before = {{{before}}}, .after = {{{after}}}, "
            f".value = {self.pad_value}}};",
            f"  {PAD_KERNEL.name}(&p, {ctx.tensor(self.inputs[0])}, {ctx.scratch()});",
            *_transpose_call(ctx.scratch(), ctx.tensor(self.outputs[0]), shape, perm),
            "}",
        ]


@dataclasses.dataclass(frozen=True, eq=False)
class BatchToSpacePlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    block: tuple[int, int]
    crops: tuple[tuple[int, int], tuple[int, int]]
    phase_shape: tuple[int, int, int]  # (H, W, C) of each phase image
    output_shape: tuple[int, ...]
    batch: int = 1
    kernels = _KERNELS
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def _full(self) -> tuple[int, int, int]:
        (bh, bw), (h, w, c) = self.block, self.phase_shape
        return (h * bh, w * bw, c)

    @property
    def scratch_bytes(self) -> int:
        cropped = any(v for pair in self.crops for v in pair)
        return self.batch * int(np.prod(self._full)) if cropped else 0

    def _view(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        (bh, bw), (h, w, c) = self.block, self.phase_shape
        return (bh, bw, self.batch, h, w, c), (2, 3, 0, 4, 1, 5)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        shape, perm = self._view()
        phases = np.asarray(values[self.inputs[0]], dtype=np.int8).reshape(shape)
        full = np.transpose(phases, perm).reshape(self.batch, *self._full)
        (top, bottom), (left, right) = self.crops
        window = full[:, top : self._full[0] - bottom, left : self._full[1] - right]
        return {self.outputs[0]: window.reshape(self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        shape, perm = self._view()
        out = ctx.tensor(self.outputs[0])
        if not self.scratch_bytes:
            return ["{", *_transpose_call(ctx.tensor(self.inputs[0]), out, shape, perm), "}"]
        (top, _), (left, _) = self.crops
        full_h, full_w, c = self._full
        oh, ow = self.output_shape[1], self.output_shape[2]
        offset = (top * full_w + left) * c
        strides = (0, full_h * full_w * c, full_w * c, c, 1)
        window = _transpose_call(ctx.scratch(), out, (1, self.batch, oh, ow, c), None, offset, strides)
        return ["{", *_transpose_call(ctx.tensor(self.inputs[0]), ctx.scratch(), shape, perm), *window, "}"]


def _image(check: OpChecker, x: Tensor, y: Tensor) -> None:
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.rank(x, 4)
    check.rank(y, 4)


def _block_and_pairs(check: OpChecker, what: str) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    block = np.asarray(check.constant(check.required_input(1), "block shape")).reshape(-1)
    pairs = np.asarray(check.constant(check.required_input(2), what)).reshape(-1, 2)
    if block.shape != (2,) or (block < 1).any() or pairs.shape != (2, 2) or (pairs < 0).any():
        raise check.unsupported(f"needs a 2-value block shape >= 1 and 2x2 non-negative {what}.")
    return (int(block[0]), int(block[1])), ((int(pairs[0, 0]), int(pairs[0, 1])), (int(pairs[1, 0]), int(pairs[1, 1])))


@register("SPACE_TO_BATCH_ND", inputs=3)
def plan_space_to_batch(graph: Graph, op: Operator) -> SpaceToBatchPlan:
    check = OpChecker(graph, op)
    x, y = check.required_input(0), check.output()
    _image(check, x, y)
    block, paddings = _block_and_pairs(check, "paddings")
    hp, wp = x.shape[1] + sum(paddings[0]), x.shape[2] + sum(paddings[1])
    if hp % block[0] or wp % block[1]:
        raise check.unsupported(f"the padded size {hp}x{wp} is not a multiple of the block {block[0]}x{block[1]}.")
    batch = x.shape[0]
    check.output_shape_matches(y, (block[0] * block[1] * batch, hp // block[0], wp // block[1], x.shape[3]))
    return SpaceToBatchPlan(
        op.index, (x.index,), (y.index,), block, paddings, (hp, wp, x.shape[3]), tuple(y.shape), PAD_VALUE, batch
    )


@register("BATCH_TO_SPACE_ND", inputs=3)
def plan_batch_to_space(graph: Graph, op: Operator) -> BatchToSpacePlan:
    check = OpChecker(graph, op)
    x, y = check.required_input(0), check.output()
    _image(check, x, y)
    block, crops = _block_and_pairs(check, "crops")
    batch, phases = divmod(x.shape[0], block[0] * block[1])
    if phases or not batch:
        raise check.unsupported(f"{x.describe()}: the batch must be a multiple of the block size {block[0] * block[1]}.")
    full_h, full_w = x.shape[1] * block[0], x.shape[2] * block[1]
    if sum(crops[0]) > full_h or sum(crops[1]) > full_w:
        raise check.unsupported(f"crops {list(crops)} are larger than the image {full_h}x{full_w}.")
    check.output_shape_matches(y, (batch, full_h - sum(crops[0]), full_w - sum(crops[1]), x.shape[3]))
    phase_shape = (x.shape[1], x.shape[2], x.shape[3])
    return BatchToSpacePlan(op.index, (x.index,), (y.index,), block, crops, phase_shape, tuple(y.shape), batch)
