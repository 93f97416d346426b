"""A patch stage: the first ops of a network run patch by patch (MCUNetV2).

The split tensor (the output of the stage's last op) is cut into a grid of patches. For
each patch the stage works backwards to the region of every tensor it needs (receptive
field and halo included), then runs forward: crop the model input's region, run each op
on its region with its own kernel (``adapters``), and copy the patch into the full split
tensor. Only the split tensor and the model input are ever whole; the stage's other
tensors exist one patch at a time, in the stage's own small arena (this plan's scratch).

Patch outputs equal the layer-wise outputs bit for bit: every op computes exactly the
layer-wise values of the pixels in its region, with padding only at true image borders.
The price is recomputing the halos where neighbouring patches overlap (``macs`` counts it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpPlan
from tinyengine_gen.ops.features import LayerGroup
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.transpose import TransposePlan
from tinyengine_gen.patching.adapters import adapter_for, required_adapter
from tinyengine_gen.memory.planner import BufferRequest, MemoryPlan, plan_memory
from tinyengine_gen.patching.regions import Region, cuts as _cuts, grid_regions

__all__ = [
    "PatchStagePlan",
    "StageError",
    "StageOutline",
    "build_patch_stage",
    "build_outlined_stage",
    "outline_patch_stage",
    "stage_entry",
    "stage_macs",
    "PATCH_STAGE_OPCODE",
]

PATCH_STAGE_OPCODE = "PATCH_STAGE"
_NCHW_TO_NHWC = (0, 2, 3, 1)


class StageError(ValueError):
    """This split cannot run patch by patch (the reason says why)."""


@dataclasses.dataclass(frozen=True)
class _Crop:
    source: int  # buffer id holding ``held``
    held: Region
    need: Region
    target: int  # buffer id receiving ``need``


@dataclasses.dataclass(frozen=True, eq=False)
class _PatchStep:
    crops: tuple[_Crop, ...]
    plan: OpPlan  # the op's plan for this patch, reading/writing buffer ids


@dataclasses.dataclass(frozen=True, eq=False)
class _Patch:
    region: Region  # of the split tensor
    source_region: Region  # of the stage's entry map (the model input, NHWC coordinates)
    steps: tuple[_PatchStep, ...]


#: te_patch.h: a patch's crops and inserts (header-only, called from model.c)
PATCH_COPY = Kernel("te_patch", ("te_patch.h",))


@dataclasses.dataclass(frozen=True, eq=False)
class PatchStagePlan(LayerGroup, DeclaredKernels):
    """One step of the network that runs ``stage_plans`` patch by patch (an OpPlan)."""

    op_index: int
    inputs: tuple[int, ...]  # the model input the stage reads
    outputs: tuple[int, ...]  # the split tensor it writes
    stage_plans: tuple[OpPlan, ...]  # the layer-wise plans it replaces (numpy reference)
    grid: tuple[int, int]
    source_shape: tuple[int, int, int]  # (H, W, C) of the entry map in NHWC coordinates
    source_nchw: bool  # the model input is NCHW and the stage starts with its TRANSPOSE
    split_shape: tuple[int, int, int]
    patches: tuple[_Patch, ...]
    entry_buffer: int
    split_buffer: int
    inner: MemoryPlan  # the stage's own arena
    buffer_offsets: Mapping[int, int]  # buffer id -> offset in the stage arena
    scratch_offsets: Mapping[int, int]  # stage step -> offset of that op's scratch
    buffer_types: Mapping[int, str]
    buffer_channels: Mapping[int, int]
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def scratch_bytes(self) -> int:
        return self.inner.arena_bytes

    @property
    def macs(self) -> int:
        return sum(step.plan.macs for patch in self.patches for step in patch.steps)

    @property
    def layer_wise_macs(self) -> int:
        return sum(plan.macs for plan in self.stage_plans)

    def with_layers(self, change: Callable[[OpPlan], OpPlan]) -> PatchStagePlan:
        """The stage with ``change`` applied to each layer-wise plan and to each patch's plan of
        each layer (buffers, offsets and the stage arena as they are)."""
        patches = tuple(
            dataclasses.replace(patch, steps=tuple(dataclasses.replace(step, plan=change(step.plan)) for step in patch.steps))
            for patch in self.patches
        )
        return dataclasses.replace(self, patches=patches, stage_plans=tuple(change(plan) for plan in self.stage_plans))

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """The patch copies' and every per-patch call's kernels, each once."""
        kernels: dict[Kernel, None] = {PATCH_COPY: None}
        for patch in self.patches:
            for step in patch.steps:
                kernels.update(dict.fromkeys(step.plan.kernels))
        return tuple(kernels)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        local = dict(values)
        for plan in self.stage_plans:
            local.update(plan.reference(local))
        return {self.outputs[0]: local[self.outputs[0]]}

    def step_context(self, outer: EmitContext, step: int) -> EmitContext:
        """The context the per-patch plans of stage op ``step`` emit into (their buffer ids
        resolve into the stage's arena): what a cost model emits them into to see their
        definitions without formatting the whole stage."""
        ctx = _StageContext(outer, self)
        ctx.step = step
        return ctx

    def copied_per_patch(self, patch_index: int) -> tuple[int, int]:
        """(bytes, rows) the stage copies for one patch: its entry region cropped from the
        model input, each halo crop between its ops, and its result inserted into the split map."""
        patch = self.patches[patch_index]
        e, r = patch.source_region, patch.region
        nbytes, rows = e.height * e.width * self.source_shape[2], e.height
        for step in patch.steps:
            for crop in step.crops:
                nbytes += crop.need.height * crop.need.width * self.buffer_channels[crop.source]
                rows += crop.need.height
        return nbytes + r.height * r.width * self.split_shape[2], rows + r.height

    def emit(self, ctx: EmitContext) -> list[str]:
        h, w, c = self.source_shape
        sh, sw, sc = self.split_shape
        rows, columns = self.grid
        lines = [
            f"/* {len(self.stage_plans)} ops patch by patch: {rows}x{columns} patches of the {sh}x{sw}x{sc} split map */"
        ]
        inner_ctx = _StageContext(ctx, self)
        source = ctx.tensor(self.inputs[0])
        split = ctx.tensor(self.outputs[0])
        for number, patch in enumerate(self.patches):
            r, e = patch.region, patch.source_region
            lines.append(f"{{ /* patch {number}: rows {r.y0}..{r.y1 - 1}, columns {r.x0}..{r.x1 - 1} */")
            entry = inner_ctx.tensor(self.entry_buffer)
            if self.source_nchw:
                lines.append(
                    f"  te_patch_crop_nchw_s8({source}, {h}, {w}, {c}, {e.y0}, {e.x0}, {e.height}, {e.width}, {entry});"
                )
            else:
                lines.append(f"  te_patch_crop_s8({source}, {w}, {c}, {e.y0}, {e.x0}, {e.height}, {e.width}, {entry});")
            for step_number, step in enumerate(patch.steps):
                inner_ctx.step = step_number
                for crop in step.crops:
                    channels = self.buffer_channels[crop.source]
                    lines.append(
                        f"  te_patch_crop_s8({inner_ctx.tensor(crop.source)}, {crop.held.width}, {channels}, "
                        f"{crop.need.y0 - crop.held.y0}, {crop.need.x0 - crop.held.x0}, {crop.need.height}, "
                        f"{crop.need.width}, {inner_ctx.tensor(crop.target)});"
                    )
                lines.extend("  " + line for line in step.plan.emit(inner_ctx))
            lines.append(
                f"  te_patch_insert_s8({inner_ctx.tensor(self.split_buffer)}, {r.height}, {r.width}, {sc}, {split}, "
                f"{sw}, {r.y0}, {r.x0});"
            )
            lines.append("}")
        return lines


class _StageContext:
    """EmitContext for ops inside the stage: buffer ids resolve into the stage's arena."""

    def __init__(self, outer: EmitContext, stage: PatchStagePlan) -> None:
        self._outer = outer
        self._stage = stage
        self.step = 0

    def _base(self) -> str:
        return self._outer.scratch("uint8_t")

    def tensor(self, index: int) -> str:
        offset = self._stage.buffer_offsets.get(index)
        if offset is None:
            return self._outer.tensor(index)
        return f"(({self._stage.buffer_types[index]}*)({self._base()} + {offset}))"

    def const(self, hint: str, array: np.ndarray) -> str:
        return self._outer.const(hint, array)

    def scratch(self, c_type: str = "int8_t") -> str:
        return f"(({c_type}*)({self._base()} + {self._stage.scratch_offsets[self.step]}))"

    def definition(self, name: str, text: str) -> str:
        return self._outer.definition(name, text)


# --------------------------------------------------------------------------- construction


class _Ids:
    """Buffer ids for the stage arena: far outside the range of real tensor indices."""

    BASE = 1 << 40

    @classmethod
    def tensor(cls, index: int) -> int:
        return cls.BASE + index

    @classmethod
    def crop(cls, step: int, position: int) -> int:
        return 2 * cls.BASE + step * 64 + position


def _activation_inputs(graph: Graph, plan: OpPlan) -> list[int]:
    return [t for t in plan.inputs if not graph.tensor(t).is_constant]


def stage_entry(graph: Graph, plans: Sequence[OpPlan]) -> tuple[int, int, bool, int]:
    """(model input, NHWC entry tensor, input is NCHW, index of the first spatial op)."""
    first = plans[0]
    if isinstance(first, TransposePlan):
        source = first.inputs[0]
        tensor = graph.tensor(source)
        if source in graph.inputs and len(tensor.shape) == 4 and tuple(first.perm) == _NCHW_TO_NHWC:
            return source, first.outputs[0], True, 1
        raise StageError("the stage would start with a TRANSPOSE other than NCHW->NHWC of the model input")
    sources = _activation_inputs(graph, first)
    if len(sources) != 1 or sources[0] not in graph.inputs:
        raise StageError("the first op must read the model input")
    return sources[0], sources[0], False, 0


def _check_closed(graph: Graph, plans: Sequence[OpPlan], split: int, produced: set[int], split_tensor: int) -> None:
    outside = set(graph.outputs)
    for plan in plans[split:]:
        outside.update(plan.inputs)
    leaking = (produced - {split_tensor}) & outside
    if leaking:
        raise StageError(f"tensor {min(leaking)} made inside the stage is needed after it")


def _required_regions(
    graph: Graph, stage: Sequence[OpPlan], split_tensor: int, patch: Region
) -> tuple[dict[int, Region], list[list[Region]]]:
    """Backwards: the region of every stage tensor a patch needs, and each op's input needs."""
    required: dict[int, Region] = {split_tensor: patch}
    needs: list[list[Region]] = [[] for _ in stage]
    for position in range(len(stage) - 1, -1, -1):
        plan = stage[position]
        out = required.get(plan.outputs[0])
        if out is None:
            raise StageError(f"op {plan.op_index} inside the stage feeds nothing")
        window = required_adapter(plan).window(plan)
        for tensor in _activation_inputs(graph, plan):
            need = window.input_region(out) if window is not None else out
            needs[position].append(need)
            required[tensor] = need.union(required.get(tensor))
    return required, needs


def _itemsize_and_type(graph: Graph, tensor: int) -> tuple[int, str]:
    t = graph.tensor(tensor)
    return t.dtype.itemsize, t.dtype.c_type


@dataclasses.dataclass(frozen=True, eq=False)
class StageOutline:
    """What a split point fixes before any patch is cut: the stage's ops and its end tensors."""

    source: int  # the model input
    entry: int  # the NHWC map the first spatial op reads
    nchw: bool
    stage: tuple[OpPlan, ...]  # the spatial ops that run per patch
    split: int
    split_tensor: int


def outline_patch_stage(graph: Graph, plans: Sequence[OpPlan], split: int, grid: tuple[int, int]) -> StageOutline:
    """Check that ``plans[:split]`` can run over a ``grid`` of patches (StageError if not), cheaply:
    no region is computed. :func:`build_patch_stage` runs the same checks first."""
    if not 1 <= split <= len(plans):
        raise StageError(f"split {split} is outside 1..{len(plans)}")
    source, entry, nchw, first_spatial = stage_entry(graph, plans)
    stage = tuple(plans[first_spatial:split])
    if not stage:
        raise StageError("the stage has no spatial op")
    opcodes = {op.index: op.opcode for op in graph.operators}
    for plan in stage:
        if adapter_for(plan) is None or len(plan.outputs) != 1:
            hint = " (compile with the int8 input API so the stage starts at an int8 input)" if opcodes.get(plan.op_index) == "QUANTIZE" else ""
            raise StageError(f"op {plan.op_index} ({opcodes.get(plan.op_index, '?')}) cannot run on patches{hint}")
        if graph.tensor(plan.outputs[0]).dtype != DType.INT8 or len(graph.tensor(plan.outputs[0]).shape) != 4:
            raise StageError(f"op {plan.op_index} does not produce an int8 NHWC map")
    produced = {plan.outputs[0] for plan in plans[:split]}
    split_tensor = plans[split - 1].outputs[0]
    _check_closed(graph, plans, split, produced, split_tensor)
    _, split_h, split_w, _ = graph.tensor(split_tensor).shape
    rows, columns = grid
    if rows < 1 or columns < 1 or rows > split_h or columns > split_w:
        raise StageError(f"grid {rows}x{columns} does not fit the {split_h}x{split_w} split map")
    return StageOutline(source, entry, nchw, stage, split, split_tensor)


def _band_needs(graph: Graph, outline: StageOutline, axis: int, cuts: list[int]) -> dict[int, list[tuple[int, int]]]:
    """:func:`_required_regions` along one axis, for every band of the grid at once. Windows act
    on rows and columns independently and a union is a bounding box, so the region a patch
    needs of a tensor is (its row band's interval) x (its column band's interval)."""
    required = {outline.split_tensor: [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]}
    for plan in reversed(outline.stage):
        out = required.get(plan.outputs[0])
        if out is None:
            raise StageError(f"op {plan.op_index} inside the stage feeds nothing")
        window = required_adapter(plan).window(plan)
        need = out if window is None else [window.input_interval(axis, start, stop) for start, stop in out]
        for tensor in _activation_inputs(graph, plan):
            held = required.get(tensor)
            required[tensor] = need if held is None else [
                (min(a, c), max(b, d)) for (a, b), (c, d) in zip(need, held)
            ]
    return required


def stage_macs(graph: Graph, outline: StageOutline, grid: tuple[int, int]) -> int:
    """The ``macs`` of :func:`build_patch_stage` for this outline and grid, without building it.

    Every stage op's MACs are proportional to its output area (a fixed count per output
    pixel), and a patch's region of a tensor is a row interval times a column interval, so
    the sum over patches factors into (sum of row heights) x (sum of column widths). That
    makes pricing a candidate's extra MACs cost O(rows + columns) per op instead of a full
    build; ``decide_patch_schedule`` uses it to drop candidates over the MAC bound first.
    """
    _, split_h, split_w, _ = graph.tensor(outline.split_tensor).shape
    rows = _band_needs(graph, outline, 0, _cuts(split_h, grid[0]))
    columns = _band_needs(graph, outline, 1, _cuts(split_w, grid[1]))
    total = 0
    for plan in outline.stage:
        out = plan.outputs[0]
        _, height, width, _ = graph.tensor(out).shape
        per_pixel = plan.macs // (height * width)
        total += (
            per_pixel
            * sum(max(b - a, 0) for a, b in rows[out])
            * sum(max(b - a, 0) for a, b in columns[out])
        )
    return total


def build_patch_stage(graph: Graph, plans: Sequence[OpPlan], split: int, grid: tuple[int, int], alignment: int = 16) -> PatchStagePlan:
    """The stage running ``plans[:split]`` over a ``grid`` of patches; StageError if it cannot."""
    return build_outlined_stage(graph, plans, outline_patch_stage(graph, plans, split, grid), grid, alignment)


def build_outlined_stage(
    graph: Graph, plans: Sequence[OpPlan], outline: StageOutline, grid: tuple[int, int], alignment: int = 16
) -> PatchStagePlan:
    """The stage of a checked outline: every patch's regions, per-patch plans and the stage arena."""
    split = outline.split
    source, entry, nchw, split_tensor = outline.source, outline.entry, outline.nchw, outline.split_tensor
    stage = list(outline.stage)
    _, split_h, split_w, split_c = graph.tensor(split_tensor).shape
    rows, columns = grid
    entry_shape = graph.tensor(entry).shape
    sizes: dict[int, int] = {}
    patches = []
    for region in grid_regions(split_h, split_w, rows, columns):
        required, needs = _required_regions(graph, stage, split_tensor, region)
        steps = []
        for position, plan in enumerate(stage):
            buffers_in, crops = [], []
            for slot, (tensor, need) in enumerate(zip(_activation_inputs(graph, plan), needs[position])):
                held = required[tensor]
                buffer = _Ids.tensor(tensor)
                if held != need:
                    target = _Ids.crop(position, slot)
                    crops.append(_Crop(buffer, held, need, target))
                    sizes[target] = max(sizes.get(target, 0), need.area * graph.tensor(tensor).shape[-1])
                    buffer = target
                buffers_in.append(buffer)
            out_tensor = plan.outputs[0]
            sizes[_Ids.tensor(out_tensor)] = max(
                sizes.get(_Ids.tensor(out_tensor), 0), required[out_tensor].area * graph.tensor(out_tensor).shape[-1]
            )
            constants = tuple(t for t in plan.inputs if graph.tensor(t).is_constant)
            patch_plan = required_adapter(plan).patch_plan(
                plan, tuple(buffers_in) + constants, _Ids.tensor(out_tensor), needs[position], required[out_tensor]
            )
            steps.append(_PatchStep(tuple(crops), patch_plan))
        entry_region = required[entry]
        sizes[_Ids.tensor(entry)] = max(sizes.get(_Ids.tensor(entry), 0), entry_region.area * entry_shape[-1])
        patches.append(_Patch(region, entry_region, tuple(steps)))
    return _assemble(graph, plans, split, grid, stage, patches, sizes, source, entry, nchw, split_tensor, alignment)


def _assemble(graph, plans, split, grid, stage, patches, sizes, source, entry, nchw, split_tensor, alignment):
    """Plan the stage's own arena: buffer lifetimes over the stage's steps, scratch per step."""
    last_step = len(stage)  # the insertion into the split tensor
    first_use: dict[int, int] = {_Ids.tensor(entry): -1}
    last_use: dict[int, int] = {_Ids.tensor(split_tensor): last_step}
    scratch_sizes = [0] * len(stage)
    for patch in patches:
        for position, step in enumerate(patch.steps):
            scratch_sizes[position] = max(scratch_sizes[position], step.plan.scratch_bytes)
            for crop in step.crops:
                last_use[crop.source] = max(last_use.get(crop.source, position), position)
                first_use[crop.target] = position
                last_use[crop.target] = position
            for buffer in step.plan.inputs:
                if buffer in sizes:
                    last_use[buffer] = max(last_use.get(buffer, position), position)
            first_use.setdefault(step.plan.outputs[0], position)
            last_use[step.plan.outputs[0]] = max(last_use.get(step.plan.outputs[0], position), position)
    buffers = sorted(sizes)
    requests = [BufferRequest(f"patch buffer {b}", sizes[b], first_use.get(b, 0) + 1, last_use.get(b, 0) + 1) for b in buffers]
    requests += [BufferRequest(f"patch scratch {i}", size, i + 1, i + 1) for i, size in enumerate(scratch_sizes)]
    inner = plan_memory(requests, alignment)
    buffer_offsets = {b: inner.offsets[i] for i, b in enumerate(buffers)}
    scratch_offsets = {i: inner.offsets[len(buffers) + i] for i in range(len(stage))}
    types, channels = {}, {}
    for b in buffers:
        tensor = b - _Ids.BASE if b < 2 * _Ids.BASE else None
        types[b] = graph.tensor(tensor).dtype.c_type if tensor is not None else "int8_t"
        if tensor is not None:
            channels[b] = graph.tensor(tensor).shape[-1]
    for patch in patches:
        for step in patch.steps:
            for crop in step.crops:
                channels[crop.target] = channels[crop.source]
    h, w, c = graph.tensor(entry).shape[1:]
    _, sh, sw, sc = graph.tensor(split_tensor).shape
    return PatchStagePlan(
        op_index=plans[0].op_index,
        inputs=(source,),
        outputs=(split_tensor,),
        stage_plans=tuple(plans[:split]),
        grid=grid,
        source_shape=(h, w, c),
        source_nchw=nchw,
        split_shape=(sh, sw, sc),
        patches=tuple(patches),
        entry_buffer=_Ids.tensor(entry),
        split_buffer=_Ids.tensor(split_tensor),
        inner=inner,
        buffer_offsets=buffer_offsets,
        scratch_offsets=scratch_offsets,
        buffer_types=types,
        buffer_channels=channels,
    )


def stage_operator(graph: Graph, stage: PatchStagePlan) -> Operator:
    """The graph operator standing for the stage in the compiled graph."""
    first = graph.operators[0]
    return Operator(
        index=first.index,
        opcode=PATCH_STAGE_OPCODE,
        inputs=stage.inputs,
        outputs=stage.outputs,
        options={"grid": stage.grid, "ops": tuple(p.op_index for p in stage.stage_plans)},
    )
