"""Plan a graph for interpreter-free execution: operator plans plus one static arena.

``compile_graph`` is the Python API the command line, the benchmarks and the NAS cost
model share. It does no I/O; ``write_project`` in :mod:`tinyengine_gen.codegen.project` turns
its result into files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tinyengine_gen import ops  # noqa: F401  (registers every operator)
from tinyengine_gen.errors import UnsupportedModelError
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.passes.memory_passes import apply_memory_passes
from tinyengine_gen.ops.base import OpPlan, plan_operator
from tinyengine_gen.passes.fold_input_transpose import fold_input_transpose
from tinyengine_gen.passes.fold_pad import fold_pad
from tinyengine_gen.passes.int8_io import strip_input_quantize, strip_output_dequantize
from tinyengine_gen.patching.schedule import PatchDecision, decide_patch_schedule, parse_grid, with_stage
from tinyengine_gen.patching.stage import StageError
from tinyengine_gen.memory.planner import MemoryPlan
from tinyengine_gen.memory.lifetimes import layout_memory

__all__ = ["CompileOptions", "CompiledModel", "apply_passes", "compile_graph"]


@dataclasses.dataclass(frozen=True)
class CompileOptions:
    """Choices that change the generated code. Passed explicitly, never read from globals."""

    alignment: int = 16
    #: fold an explicit PAD into the convolution that consumes it (exact; saves the padded copy)
    fold_pad: bool = True
    #: let the first convolution read an NCHW input directly instead of after a TRANSPOSE
    #: (a patch stage folds that TRANSPOSE into its own input crops instead)
    fold_input_transpose: bool = True
    #: int8 input API: drop a QUANTIZE right after a float graph input (the caller quantises)
    int8_input: bool = False
    #: int8 output API: drop a DEQUANTIZE right before a float graph output
    int8_output: bool = False
    #: let kernels that can (depthwise) write their output over an input no one reads later
    in_place: bool = True
    #: run a CONV_2D whose output only a same-shape ADD reads as one fused op (no map for it)
    fuse_residual_add: bool = True
    #: give ops at the memory peak their lower-scratch kernel variant (slower) when that shrinks the arena
    lean_scratch: bool = True
    #: patch-based inference of the first stage: "off", "auto" or a grid such as "4x4"
    patch: str = "off"
    #: the operator (index in the file) whose output is the patch stage's split point; None: search
    patch_split: int | None = None
    #: ``auto`` only keeps schedules whose extra MACs are at most this fraction of the network's
    patch_max_overhead: float = 0.2


@dataclasses.dataclass(frozen=True, eq=False)
class CompiledModel:
    graph: Graph
    plans: tuple[OpPlan, ...]
    memory: MemoryPlan
    #: arena offset of every non-constant tensor (aliased tensors share their buffer's offset)
    tensor_offsets: dict[int, int]
    #: arena offset of each op's scratch buffer, for ops that need one
    scratch_offsets: dict[int, int]
    options: CompileOptions
    #: the graph as read, before the passes (its inputs/outputs are what TFLite exposes)
    source_graph: Graph
    #: what the patch scheduler decided (None when patching was off)
    patch_decision: PatchDecision | None = None

    @property
    def arena_bytes(self) -> int:
        return self.memory.arena_bytes

    @property
    def peak_sram_bytes(self) -> int:
        """All RAM the generated code uses for data: the arena holds every scratch buffer too."""
        return self.memory.arena_bytes

    @property
    def macs(self) -> int:
        """MACs the generated code executes (a patch stage's recomputed halos included)."""
        return sum(plan.macs for plan in self.plans)

    @property
    def network_macs(self) -> int:
        """MACs of the network itself, as layer-wise execution computes them."""
        return sum(getattr(plan, "layer_wise_macs", plan.macs) for plan in self.plans)


def apply_passes(graph: Graph, options: CompileOptions) -> Graph:
    """The graph rewrites the options ask for, in a fixed order (each one exact)."""
    if options.int8_input:
        graph = strip_input_quantize(graph)
    if options.int8_output:
        graph = strip_output_dequantize(graph)
    if options.fold_pad:
        graph = fold_pad(graph)
    if options.fold_input_transpose and options.patch == "off":
        graph = fold_input_transpose(graph)
    return graph


def compile_graph(
    graph: Graph,
    options: CompileOptions | None = None,
    *,
    plan_op: Callable[[Graph, Operator], OpPlan] = plan_operator,
) -> CompiledModel:
    """Passes, op planning, patch schedule, residual fusion, in-place kernels, lean scratch
    and the arena layout.

    ``plan_op`` lets a caller that compiles thousands of similar graphs (the NAS cost
    model) reuse op plans; it must behave exactly like :func:`plan_operator`.
    """
    options = options or CompileOptions()
    source_graph = graph
    graph = apply_passes(graph, options)
    plans = tuple(plan_op(graph, op) for op in graph.operators)
    _check_graph_io(graph)
    decision = None
    if options.patch != "off":
        decision = _decide_patching(graph, plans, options)
        if decision.stage is not None:
            graph, plans = with_stage(graph, plans, decision.stage)
    # after the patch stage: fusion and the lean kernels touch only the ops outside it
    graph, plans = apply_memory_passes(graph, plans, **_memory_pass_options(options))
    memory, tensor_offsets, scratch_offsets = layout_memory(graph, plans, options.alignment)
    return CompiledModel(graph, plans, memory, tensor_offsets, scratch_offsets, options, source_graph, decision)


def _decide_patching(graph: Graph, plans: tuple[OpPlan, ...], options: CompileOptions) -> PatchDecision:
    grid = None
    if options.patch != "auto":
        try:
            grid = parse_grid(options.patch)
        except ValueError as exc:
            raise UnsupportedModelError(f"{graph.source}: {exc}; use --patch=auto, off or NxN.") from None
    try:
        return decide_patch_schedule(
            graph,
            plans,
            grid=grid,
            split_op=options.patch_split,
            max_overhead=options.patch_max_overhead,
            **_memory_pass_options(options),
        )
    except StageError as exc:
        raise UnsupportedModelError(f"{graph.source}: cannot run that patch schedule: {exc}.") from None


def _memory_pass_options(options: CompileOptions) -> dict:
    return dict(
        fuse_residual_add=options.fuse_residual_add,
        in_place=options.in_place,
        lean_scratch=options.lean_scratch,
        alignment=options.alignment,
    )


def _check_graph_io(graph: Graph) -> None:
    for index in graph.inputs + graph.outputs:
        tensor = graph.tensor(index)
        if tensor.is_constant:
            raise UnsupportedModelError(f"{graph.source}: graph input/output {tensor.describe()} is a constant.")


