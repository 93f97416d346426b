"""The shared shape of broadcasting int8 binary operators (MUL, MINIMUM, MAXIMUM,
SQUARED_DIFFERENCE, PRELU).

Each is a frozen plan with the broadcast loop nest (:func:`~tinyengine_gen.ops.elementwise.broadcast_nest`)
and its own quantisation fields; it says how to combine two broadcast int64 arrays in
numpy (:meth:`BroadcastBinaryPlan.combine`, the twin of TFLM's per-element lambda) and
which fields its C parameter struct has. The C side is one row function per operator,
driven by ``te_bcast_run`` in kernels/te_broadcast.h.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from tinyengine_gen.ops.base import EmitContext
from tinyengine_gen.ops.elementwise import BroadcastNest, broadcast_pair
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["BroadcastBinaryPlan", "BroadcastKernel", "broadcast_kernel"]


@dataclasses.dataclass(frozen=True)
class BroadcastKernel(Kernel):
    """A row function that ``te_bcast_run`` drives, and the type of its parameter struct."""

    params_type: str = ""


def broadcast_kernel(function: str, stem: str) -> BroadcastKernel:
    """The kernel ``function`` of ``stem``.c/.h (with the broadcast driver and requantisation
    headers), whose parameter struct is ``stem``_params."""
    sources = (f"{stem}.c", f"{stem}.h", "te_broadcast.h", "te_add_requant.h", "te_fixedpoint.h")
    return BroadcastKernel(function, sources, f"{stem}_params")


#: op_index, inputs, outputs, output_shape, nest: the fields every such plan has
_BASE_FIELDS = 5


@dataclasses.dataclass(frozen=True, eq=False)
class BroadcastBinaryPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    output_shape: tuple[int, ...]
    nest: BroadcastNest

    #: the kernel (see :func:`broadcast_kernel`)
    kernel: ClassVar[BroadcastKernel]

    @property
    def aliases(self) -> tuple[tuple[int, int], ...]:
        return ()

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return (self.kernel,)

    @property
    def macs(self) -> int:
        """One arithmetic operation per output element."""
        return int(np.prod(self.output_shape, dtype=np.int64))

    @property
    def scratch_bytes(self) -> int:
        return 0

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The int8 outputs (any integer dtype) of the two inputs, broadcast to the output shape as int64."""
        raise NotImplementedError

    def c_fields(self) -> dict[str, int]:
        """The parameter struct's fields after ``nest``: the plan's own fields, in declaration
        order (a plan whose struct differs says so by overriding this)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)[_BASE_FIELDS:]}

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        a, b = broadcast_pair(values[self.inputs[0]], values[self.inputs[1]], self.output_shape)
        out = np.clip(self.combine(a, b), -128, 127).astype(np.int8)
        return {self.outputs[0]: out.reshape(self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        fields = "".join(f", .{name} = {value}" for name, value in self.c_fields().items())
        x1, x2, y = ctx.tensor(self.inputs[0]), ctx.tensor(self.inputs[1]), ctx.tensor(self.outputs[0])
        return [
            "{",
            f"  static const {self.kernel.params_type} params = {{.nest = {self.nest.c_initializer()}{fields}}};",
            f"  {self.kernel.name}(&params, {x1}, {x2}, {y});",
            "}",
        ]
