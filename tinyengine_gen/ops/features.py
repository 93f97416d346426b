"""Optional features of a plan, declared by its class: a plan class that has one inherits it.

Most plans are a kernel call and nothing more (:class:`tinyengine_gen.ops.base.OpPlan`).
A few carry more that some reader needs: packed weights (report.json's ``weight_bits``),
several of the file's operators in one (report.json's ``fused_ops``, the cost model's memo),
or a group of layers run their own way (a patch stage: MACs as layer-wise execution counts
them, the int4 pass packing the layers inside). Each such feature is a base class here that
names its attributes with their types; readers ask ``isinstance(plan, Feature)`` and then
read the attribute, so a new plan class states what it offers where it is declared, and
the type checker sees every read. These are plain classes rather than runtime protocols:
an ``isinstance`` on them is a C-level class check (the NAS cost model asks it of every
plan of every architecture it prices), and a class has a feature only by saying so.

The variants a pass may swap in (in place, lean scratch) are method-only protocols, told
by their methods alone: :class:`tinyengine_gen.ops.base.InPlaceVariant` and
:class:`tinyengine_gen.ops.base.LeanVariant`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from tinyengine_gen.ops.base import OpPlan
    from tinyengine_gen.ops.kernel import Kernel

__all__ = ["FusedOperators", "KernelVariant", "LayerGroup", "PackedWeightPlan"]


class PackedWeightPlan:
    """A plan whose weights are stored at fewer than 8 bits (``--pack_int4``: two per byte)."""

    @property
    def weight_bits(self) -> int:
        """Bits per stored weight (report.json's per-op ``weight_bits``)."""
        raise NotImplementedError


class KernelVariant:
    """A plan that names the kernel variant it runs: the firmware and latency models price
    it by that kernel's name (a plan that names none, by its first kernel file)."""

    @property
    def kernel(self) -> Kernel:
        """The kernel variant (a fused plan: the one whose code sets its cost)."""
        raise NotImplementedError


class FusedOperators:
    """A plan that runs several of the file's operators as one (CONV_2D+ADD)."""

    @property
    def fused_op_indices(self) -> tuple[int, ...]:
        """The file's operator indices it runs (report.json's per-op ``fused_ops``)."""
        raise NotImplementedError


class LayerGroup:
    """A plan that runs a group of the network's layers its own way (a patch stage runs
    them patch by patch, recomputing halos)."""

    #: the layer-wise plans of the layers it runs, in order (an attribute, not a property,
    #: so that a dataclass declaring it as a field without default stays one)
    stage_plans: tuple[OpPlan, ...]

    @property
    def layer_wise_macs(self) -> int:
        """MACs of its layers as layer-wise execution computes them (no recomputation)."""
        raise NotImplementedError

    def with_layers(self, change: Callable[[OpPlan], OpPlan]) -> Self:
        """This plan with ``change`` applied to each plan of a layer it runs (its layer-wise
        plans and every per-part plan), the rest as it is."""
        raise NotImplementedError
