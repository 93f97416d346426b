"""Plan a graph for interpreter-free execution: operator plans plus one static arena.

``compile_graph`` is the Python API the command line, the benchmarks and the NAS cost
model share. It does no I/O; ``write_project`` in :mod:`tinyengine_gen.codegen.project` turns
its result into files.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from tinyengine_gen import ops  # noqa: F401  (registers every operator)
from tinyengine_gen.errors import UnsupportedModelError
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.memory.layout_cache import LayoutCache
from tinyengine_gen.memory.lifetimes import layout_memory
from tinyengine_gen.memory.planner import MemoryPlan
from tinyengine_gen.ops.base import OpPlan, check_structure, check_supported, plan_operator
from tinyengine_gen.ops.features import LayerGroup
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import PassStep, run_passes
from tinyengine_gen.passes.dead_channels import DROP_DEAD_CHANNELS
from tinyengine_gen.passes.dead_depthwise import DROP_DEAD_DEPTHWISE_CHANNELS
from tinyengine_gen.passes.pipeline import GRAPH_PASSES, PLAN_PASSES
from tinyengine_gen.patching.schedule import (
    PatchDecision,
    StageBuilder,
    decide_patch_schedule,
    parse_grid,
    with_stage,
)
from tinyengine_gen.patching.stage import build_outlined_stage
from tinyengine_gen.patching.stage import StageError

__all__ = ["CompileOptions", "CompiledModel", "compile_graph"]

_DEAD_CHANNEL_PASSES = (DROP_DEAD_DEPTHWISE_CHANNELS.name, DROP_DEAD_CHANNELS.name)


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
    #: every pass that ran, in order, with what it was given and gave back
    passes: tuple[PassStep, ...] = ()

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
        """MACs of the network itself, as layer-wise execution computes them: a patch stage's
        recomputed halos left out, the all-zero channels the generated code skips counted
        (passes/dead_channels.py), so that MACs per instruction compare with other engines."""
        executed = sum(plan.layer_wise_macs if isinstance(plan, LayerGroup) else plan.macs for plan in self.plans)
        return executed + _skipped_macs(self.passes)


def compile_graph(
    graph: Graph,
    options: CompileOptions | None = None,
    *,
    plan_op: Callable[[Graph, Operator], OpPlan] = plan_operator,
    layout_cache: LayoutCache | None = None,
    build_stage: StageBuilder = build_outlined_stage,
    patch_peak_limit: int | None = None,
) -> CompiledModel:
    """Graph passes, op planning, patch schedule, plan passes (residual fusion, in-place
    kernels, lean scratch) and the arena layout.

    ``plan_op`` lets a caller that compiles thousands of similar graphs (the NAS cost
    model) reuse op plans; it must behave exactly like :func:`plan_operator`, and
    ``build_stage`` likewise reuses patch stages (exactly like ``build_outlined_stage``).
    Such a caller may also pass the ``layout_cache`` it owns; by default each compile
    memoises its layouts in a cache of its own, so nothing is kept from one call to the next.
    ``patch_peak_limit`` is for a caller that only needs the exact result where the peak is
    at most that many bytes (see :func:`decide_patch_schedule`'s ``peak_limit``); above it the
    model is still a valid compile, only not necessarily the lowest-peak one.
    """
    options = options or CompileOptions()
    if not options.pack_int4 and any(t.stored_bits == 4 for t in graph.tensors):
        options = dataclasses.replace(options, pack_int4=True)  # INT4 weights stay packed, as stored
    with (layout_cache if layout_cache is not None else LayoutCache()).active():
        compiled = _compile(graph, options, plan_op, build_stage, patch_peak_limit)
        layers = _dead_channel_layers(compiled)
        if not layers or options.dead_channel_layers is not None:
            return compiled
        kept = _layers_within_the_dense_arena(graph, options, layers, compiled, plan_op, build_stage)
        if kept == layers:
            return compiled
        return _compile(graph, dataclasses.replace(options, dead_channel_layers=kept), plan_op, build_stage, patch_peak_limit)


def _layers_within_the_dense_arena(
    graph: Graph,
    options: CompileOptions,
    layers: tuple[int, ...],
    compiled: CompiledModel,
    plan_op: Callable[[Graph, Operator], OpPlan],
    build_stage: StageBuilder,
) -> tuple[int, ...]:
    """The dead-channel rewrites to keep: all of them where the layer-wise arena is at or
    below the dense build's, else, layer by layer in graph order, those that keep it there.

    A GATHER keeps a narrow and a full output live at once, and a narrower block changes what
    the in-place pass decides, so a rewrite that saves MACs can cost SRAM. Decided on
    layer-wise builds whatever the patch option, so that a patch-based build and its
    layer-wise twin have the same layers (the patch scheduler compares against that twin)."""
    layer_wise = dataclasses.replace(options, patch="off")
    full = compiled if options.patch == "off" else _compile(graph, layer_wise, plan_op, build_stage)
    dense = _compile(graph, dataclasses.replace(layer_wise, drop_dead_channels=False), plan_op, build_stage)
    if full.arena_bytes <= dense.arena_bytes:
        return layers
    kept: tuple[int, ...] = ()
    for layer in layers:
        trial = _compile(graph, dataclasses.replace(layer_wise, dead_channel_layers=(*kept, layer)), plan_op, build_stage)
        if trial.arena_bytes <= dense.arena_bytes:
            kept = (*kept, layer)
    return kept


def _dead_channel_layers(compiled: CompiledModel) -> tuple[int, ...]:
    """The layers the dead-channel passes rewrote (a block's depthwise layer, a CONV_2D),
    in graph order: the operators whose inputs they changed."""
    layers: set[int] = set()
    for step in compiled.passes:
        if step.name not in _DEAD_CHANNEL_PASSES or step.graph_after is step.graph_before:
            continue
        keyed = "DEPTHWISE_CONV_2D" if step.name == DROP_DEAD_DEPTHWISE_CHANNELS.name else "CONV_2D"
        before = {op.index: op.inputs for op in step.graph_before.operators}
        layers.update(op.index for op in step.graph_after.operators if op.opcode == keyed and before.get(op.index, op.inputs) != op.inputs)
    return tuple(sorted(layers))


def _layer_macs(graph: Graph, op: Operator) -> int:
    """MACs of a CONV_2D (output elements x filter volume) or DEPTHWISE_CONV_2D (output
    elements x taps), from shapes alone."""
    out = math.prod(graph.tensor(op.outputs[0]).shape)
    filter_shape = graph.tensor(op.inputs[1]).shape
    return out * (math.prod(filter_shape[1:]) if op.opcode == "CONV_2D" else math.prod(filter_shape[1:3]))


def _skipped_macs(steps: tuple[PassStep, ...]) -> int:
    """MACs the dead-channel passes took out of convolutions: each narrowed layer keeps its
    operator index, so its shapes before and after the pass give them."""
    skipped = 0
    for step in steps:
        if step.name not in _DEAD_CHANNEL_PASSES or step.graph_after is step.graph_before:
            continue
        before = {op.index: op for op in step.graph_before.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D")}
        for op in step.graph_after.operators:
            if op.index in before and op.opcode == before[op.index].opcode:
                skipped += max(_layer_macs(step.graph_before, before[op.index]) - _layer_macs(step.graph_after, op), 0)
    return skipped


def _compile(
    graph: Graph,
    options: CompileOptions,
    plan_op: Callable[[Graph, Operator], OpPlan],
    build_stage: StageBuilder,
    patch_peak_limit: int | None = None,
) -> CompiledModel:
    source_graph = graph
    check_supported(graph)
    check_structure(graph)
    trace: list[PassStep] = []
    graph, _ = run_passes(GRAPH_PASSES, graph, (), options, trace)
    plans = tuple(plan_op(graph, op) for op in graph.operators)
    _check_graph_io(graph)
    decision = None
    if options.patch != "off":
        decision = _decide_patching(graph, plans, options, build_stage, patch_peak_limit)
        if decision.stage is not None:
            graph, plans = with_stage(graph, plans, decision.stage)
    if decision is not None and decision.stage is None and decision.layer_wise_passes is not None:
        graph, plans, steps = decision.layer_wise_passes  # (the scheduler ran these very passes)
        trace.extend(steps)
    else:
        # after the patch stage: fusion and the lean kernels touch only the ops outside it
        graph, plans = run_passes(PLAN_PASSES, graph, plans, options, trace)
    memory, tensor_offsets, scratch_offsets = layout_memory(graph, plans, options.alignment)
    return CompiledModel(
        graph, plans, memory, tensor_offsets, scratch_offsets, options, source_graph, decision, tuple(trace)
    )


def _decide_patching(
    graph: Graph,
    plans: tuple[OpPlan, ...],
    options: CompileOptions,
    build_stage: StageBuilder,
    peak_limit: int | None = None,
) -> PatchDecision:
    grid = None
    if options.patch != "auto":
        try:
            grid = parse_grid(options.patch)
        except ValueError as exc:
            raise UnsupportedModelError(f"{graph.source}: {exc}; use --patch=auto, off or NxN.") from None
    try:
        return decide_patch_schedule(
            graph, plans, options, grid=grid, build_stage=build_stage, peak_limit=None if grid else peak_limit
        )
    except StageError as exc:
        raise UnsupportedModelError(f"{graph.source}: cannot run that patch schedule: {exc}.") from None


def _check_graph_io(graph: Graph) -> None:
    for index in graph.inputs + graph.outputs:
        tensor = graph.tensor(index)
        if tensor.is_constant:
            raise UnsupportedModelError(f"{graph.source}: graph input/output {tensor.describe()} is a constant.")


