"""The co-design cost model: MACs, parameters, Flash and peak SRAM of an architecture config.

Peak SRAM is not estimated by a formula: the sub-network's engine graph (see
:mod:`mcunet_tf.subnet_graph`) goes through ``tinyengine_gen``'s own operator planners and
its memory planner, so the number is the arena the generated C would declare, and when
the engine learns in-place depthwise or op fusion the cost model follows without change.
Flash is the constant data each operator's ``emit`` asks for (int8 weights, int32
biases, per-channel multipliers and shifts, exactly the arrays ``report.json`` counts as
``weights_bytes``) plus the code estimate of :mod:`mcunet_tf.code_size`. With
``weight_bits=4`` the engine packs the weights two per byte (``pack_int4``), so Flash is
priced at 4 bits per weight and the same budget admits a wider network.

Speed: planning an operator validates every per-channel scale in Python, which makes a
full ``compile_graph`` take tens of milliseconds for a MobileNet-sized graph. Search
needs hundreds of configs a second, and most operators recur across configs (same
shapes, same options), so :class:`CostModel` runs the engine's own ``compile_graph`` with
its per-operator planning memoised by the signature the graph builder records (a planned
operator is re-bound to the new operator's tensors). Everything after planning (passes,
in-place kernels, buffer lifetimes, the memory planner) runs unchanged on every config.
``CostModel(memoize=False)`` calls plain ``compile_graph``; tests check that both agree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import operator
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

from mcunet_tf.arch import ArchConfig
from mcunet_tf.code_size import CORTEX_M7_OS, CodeSizeModel
from mcunet_tf.firmware_cost import AlignedConstantCounter, OpFirmware, op_firmware_of, stage_firmware
from mcunet_tf.space import SearchSpace
from mcunet_tf.subnet_graph import BuiltSubnet, build_subnet_graph
from tinyengine_gen.compiler import CompiledModel, CompileOptions, compile_graph
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.memory.bounds import live_lower_bounds, lower_bounds_ceiling
from tinyengine_gen.memory.layout_cache import LayoutCache
from tinyengine_gen.ops.base import OpPlan, plan_operator, replace_plan
from tinyengine_gen.ops.features import FusedOperators, KernelVariant
from tinyengine_gen.patching.schedule import auto_peak_lower_bound
from tinyengine_gen.patching.stage import PATCH_STAGE_OPCODE, PatchStagePlan, StageOutline, build_outlined_stage

__all__ = ["Cost", "CostModel", "Emitted", "Priced", "emitted", "patch_options", "SRAM_NOT_PLANNED"]


#: ``Cost.peak_sram_bytes`` of a config whose memory was not planned because its Flash or
#: its peak SRAM surely exceeds the limit it was priced against (larger than any real
#: budget, so it never fits).
SRAM_NOT_PLANNED = 2**62


@dataclasses.dataclass(frozen=True)
class Cost:
    """What an architecture costs on the microcontroller (bytes, and multiply-accumulates)."""

    macs: int
    params: int
    weights_bytes: int
    code_bytes: int
    peak_sram_bytes: int

    @property
    def flash_bytes(self) -> int:
        return self.weights_bytes + self.code_bytes

    def to_dict(self) -> dict[str, int]:
        return dict(dataclasses.asdict(self), flash_bytes=self.flash_bytes)


#: How far over the Flash limit the per-operator price must be before the memory planner is
#: skipped (the fused/lean kernels chosen after planning change constants by a few percent).
EARLY_EXIT_MARGIN = 0.10


@dataclasses.dataclass(frozen=True)
class Emitted:
    """What one operator puts into Flash (constant bytes, file-scope definitions, kernel files
    it links) and the multiply-accumulates it runs: all fixed by its memo key. ``firmware``
    is the same, as the firmware cost model (:mod:`mcunet_tf.firmware_cost`) reads it."""

    constant_bytes: int
    definitions: frozenset[str]
    kernel_sources: tuple[str, ...] = ()
    macs: int = 0
    firmware: OpFirmware | None = None
    #: a patch stage's firmware parts (each per-patch call and copy), in place of ``firmware``
    firmware_parts: tuple[OpFirmware, ...] = ()
    #: the opcodes of the kernel calls it makes, where not its own one (a patch stage: one
    #: call per op per patch)
    calls: tuple[str, ...] | None = None


def emitted(graph: Graph, plan: OpPlan) -> Emitted:
    """Constant bytes ``plan.emit`` puts in Flash (before the emitter merges identical arrays) and its definitions."""
    counter = AlignedConstantCounter(graph)  # every array: placeholder weights would merge
    plan.emit(counter)
    definitions = frozenset(counter.definitions)
    firmware = op_firmware_of(graph, plan, counter.aligned_total, definitions)
    return Emitted(counter.total, definitions, tuple(plan.kernel_sources), int(plan.macs), firmware)


@dataclasses.dataclass(frozen=True)
class Priced:
    """A config's cost and the one compiled model it was read from (None where the Flash
    early exit skipped compiling), with what each compiled operator emits."""

    cost: Cost
    compiled: CompiledModel | None
    parts: tuple[Emitted, ...] = ()

    def firmware_ops(self) -> list[OpFirmware]:
        ops: list[OpFirmware] = []
        for part in self.parts:
            if part.firmware is not None:
                ops.append(part.firmware)
            ops.extend(part.firmware_parts)
        return ops


def patch_options(patch: str = "off", max_overhead: float = 0.2) -> CompileOptions:
    """Compile options of a search with patch-based inference ``"auto"`` (MCUNetV2's joint
    schedule: what ``tinyengine_gen --patch=auto --patch_max_overhead=X`` compiles) or ``"off"``."""
    return CompileOptions(patch=patch, patch_max_overhead=max_overhead)


def _stage_emitted(parts: Sequence[Emitted], stage: PatchStagePlan, opcodes: Sequence[str]) -> Emitted:
    """What a patch stage puts into Flash: its ops' constants once (every patch reads the same
    arrays), the kernels of its per-patch plans, one call per op per patch; and its MACs,
    recomputed halos included."""
    return Emitted(
        constant_bytes=sum(p.constant_bytes for p in parts),
        definitions=frozenset().union(*(p.definitions for p in parts)),
        kernel_sources=stage.kernel_sources,
        macs=int(stage.macs),
        calls=tuple(opcodes) * len(stage.patches),
    )


@dataclasses.dataclass(frozen=True)
class _Template:
    """A planned operator, the positions of its tensors in ``op.inputs + op.outputs``, and what it costs."""

    plan: OpPlan
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    macs: int
    emitted: Emitted

    @classmethod
    def of(cls, graph: Graph, op: Operator, plan: OpPlan) -> "_Template":
        if not dataclasses.is_dataclass(plan):
            raise TypeError(f"{op.describe()}: cannot memoise a plan that is not a dataclass ({type(plan).__name__}).")
        slots = op.inputs + op.outputs
        positions = (tuple(slots.index(t) for t in plan.inputs), tuple(slots.index(t) for t in plan.outputs))
        return cls(plan, *positions, int(plan.macs), emitted(graph, plan))

    @functools.cached_property
    def _pick_inputs(self) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
        return _picker(self.inputs)

    @functools.cached_property
    def _pick_outputs(self) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
        return _picker(self.outputs)

    def bind(self, op: Operator) -> OpPlan:
        """The plan of an operator with the same signature, moved to ``op``'s index and tensors."""
        slots = op.inputs + op.outputs
        return replace_plan(
            self.plan, op_index=op.index, inputs=self._pick_inputs(slots), outputs=self._pick_outputs(slots)
        )


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic collector, restoring its state after (reference counting goes on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _picker(positions: tuple[int, ...]) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
    """A function taking the items at ``positions`` of a tuple, as a tuple (binding runs per op per config)."""
    if len(positions) == 1:
        position = positions[0]
        return lambda items: (items[position],)
    if not positions:
        return lambda items: ()
    return operator.itemgetter(*positions)


#: Bound plans (and their Flash) a cost model keeps: a search over one (W, R) space meets
#: a few thousand.
_BOUND_PLANS_MAX = 32768
#: Patch stages a cost model keeps: a (W, R) space has a few hundred distinct first blocks.
_STAGES_MAX = 4096


def _remember(memo: dict, key: Hashable, value: object, limit: int = _BOUND_PLANS_MAX) -> None:
    """Put ``value`` in ``memo``, dropping the oldest entry when it holds ``limit``."""
    if len(memo) >= limit:
        del memo[next(iter(memo))]
    memo[key] = value


class CostModel:
    """Prices architectures of one search space; keeps a per-process memo of operator plans."""

    def __init__(
        self,
        space: SearchSpace,
        *,
        options: CompileOptions | None = None,
        code_size: CodeSizeModel = CORTEX_M7_OS,
        memoize: bool = True,
        weight_bits: int = 8,
    ) -> None:
        if weight_bits not in (4, 8):
            raise ValueError(f"weight_bits must be 4 or 8, not {weight_bits}")
        self.space = space
        self.options = options or CompileOptions()
        #: 4: weights priced as the engine stores 4-bit weights, packed two per byte (MCUNet's int4)
        self.weight_bits = weight_bits
        if weight_bits == 4:
            self.options = dataclasses.replace(self.options, pack_int4=True)
        self.code_size = code_size
        self.memoize = memoize
        self._templates: dict[Hashable, _Template] = {}
        #: plans bound to the builder's operators, by operator identity: the builder shares a
        #: recurring piece's operators across configs (an operator always comes with the same
        #: signature), and plans are immutable, so graphs share them too
        self._bound: dict[int, tuple[Operator, OpPlan]] = {}
        self._emitted: dict[Hashable, Emitted] = {}
        #: per signature: its constants and its code estimate alone (see _flash_upper_bound)
        self._flash_bounds: dict[Hashable, int] = {}
        #: the same, by plan identity, for plans that recur (bounded like ``_bound``)
        self._emitted_of_plan: dict[int, tuple[OpPlan, Emitted]] = {}
        #: patch stages by (identities of the operators they run, grid, alignment): a stage
        #: depends only on those operators' plans and tensors, which configs share
        self._stages: dict[Hashable, tuple[tuple[Operator, ...], PatchStagePlan]] = {}
        self._current: BuiltSubnet | None = None
        #: whether every op of the last compile was planned on the builder's own graph
        self._planned_on_built = False
        #: the memory layouts' memo, owned here and passed to every compile (entries die with their graph)
        self._layouts = LayoutCache()
        self._compile = (
            functools.partial(
                compile_graph, plan_op=self._plan, layout_cache=self._layouts, build_stage=self._build_stage
            )
            if memoize
            else compile_graph
        )

    def cost(self, config: ArchConfig, *, flash_limit: int | None = None, sram_limit: int | None = None) -> Cost:
        """What ``config`` costs.

        With ``flash_limit``, a config whose Flash surely exceeds it (even if every residual
        ADD were fused away) is priced from its operator plans alone: its ``flash_bytes`` is
        then an upper bound and its ``peak_sram_bytes`` is :data:`SRAM_NOT_PLANNED`. It fits
        no budget with that much Flash, and skipping the memory planner (three quarters of
        the time) is what keeps the 108-space analysis fast.

        Pricing allocates some ten thousand short-lived objects and creates no reference
        cycles (a test checks it), so the cyclic garbage collector is paused meanwhile: its
        passes would only rescan this model's memo and, in a training process, everything
        TensorFlow holds, which costs a fifth of the time here and more beside TensorFlow.
        """
        return self.price(config, flash_limit=flash_limit, sram_limit=sram_limit).cost

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Price many configs in a row with the cyclic collector paused once for all of them
        (:meth:`cost` pauses it per config; re-enabling it after each config costs a
        collection of everything the memo added, a tenth of the time of a space's samples).
        Pricing creates no reference cycles, so nothing piles up meanwhile."""
        return _cyclic_gc_paused()

    def price(self, config: ArchConfig, *, flash_limit: int | None = None, sram_limit: int | None = None) -> Priced:
        """:meth:`cost` with the compiled model it was read from: whoever also wants latency
        or firmware figures reads them from this one plan instead of compiling again.

        With ``sram_limit`` (the largest SRAM budget the price will be checked against) and
        patch-based memory, the patch search skips the schedules that could only matter to a
        config that does not fit anyway (see ``tinyengine_gen.compiler.compile_graph``'s
        ``patch_peak_limit``), and a config whose peak surely exceeds it (by
        ``tinyengine_gen.patching.schedule.auto_peak_lower_bound``, or the layer-wise bound of
        ``tinyengine_gen.memory.bounds``) is priced from its operator plans alone, as for the
        Flash early exit, with ``peak_sram_bytes`` :data:`SRAM_NOT_PLANNED`. Where the peak
        is at most ``sram_limit`` the price is the one without it; above it, the peak is only
        known to be above it (the MACs are then those of some valid schedule).
        """
        with _cyclic_gc_paused():
            return self._cost(config, flash_limit, sram_limit)

    def _cost(self, config: ArchConfig, flash_limit: int | None, sram_limit: int | None = None) -> Priced:
        built = build_subnet_graph(config, self.space)  # (shared pieces: a sketch would save little)
        if flash_limit is not None and self.memoize:
            early = self._surely_over_flash(built, flash_limit)
            if early is not None:  # cheap: most configs are decided by the memoised signatures alone
                return Priced(early, None)
        if (flash_limit is not None or sram_limit is not None) and self.memoize:
            plans = self._plan_all(built)  # (memoised; the compile below binds the same plans)
            if flash_limit is not None:
                early = self._surely_over_flash(built, flash_limit)  # every signature is memoised now
                if early is not None:
                    return Priced(early, None)
            if sram_limit is not None:
                early = self._price_if_surely_over_sram(built, plans, sram_limit)
                if early is not None:
                    return Priced(early, None)
        compiled = self._compile_memoized(built, sram_limit)
        parts = self._parts(built, compiled.graph, compiled.plans)
        return Priced(self._price(built, compiled.graph, parts, compiled.peak_sram_bytes), compiled, tuple(parts))

    def _surely_over_flash(self, sketch: BuiltSubnet, flash_limit: int) -> Cost | None:
        """The price from the memoised signatures of a config whose Flash surely exceeds
        ``flash_limit``, else None (also where a signature is not memoised yet).

        After planning the engine may fuse an ADD into its convolution (dropping the ADD's
        constants) and pick leaner kernels: only a config well over the limit even without
        the ADDs' constants is surely over it; the rest are compiled in full."""
        surely_over = flash_limit * (1 + EARLY_EXIT_MARGIN)
        bound = self._flash_upper_bound(sketch)
        if bound is None or bound <= surely_over:
            return None
        early = self._price_from_signatures(sketch)
        if early is not None and early.flash_bytes - self._fusable_bytes(sketch) > surely_over:
            return early
        return None

    def _plan_all(self, built: BuiltSubnet) -> list[OpPlan]:
        """Every operator's plan on the builder's graph (memoised, as the compile plans them)."""
        self._current = built
        try:
            graph = built.graph
            return [self._plan(graph, op) for op in graph.operators]
        finally:
            self._current = None

    def _price(self, built: BuiltSubnet, graph: Graph, parts: Sequence[Emitted], peak: int) -> Cost:
        kernels = set().union(*(p.kernel_sources for p in parts))  # (the estimate counts each file once)
        definitions = set().union(*(p.definitions for p in parts))
        opcodes = [op.opcode for op in graph.operators]
        if opcodes[0] == PATCH_STAGE_OPCODE:
            opcodes[:1] = parts[0].calls or ()
        return Cost(
            macs=sum(p.macs for p in parts),
            params=built.params,
            weights_bytes=sum(p.constant_bytes for p in parts),
            code_bytes=self.code_size.estimate(kernels, opcodes, definitions),
            peak_sram_bytes=int(peak),
        )

    def _price_if_surely_over_sram(self, built: BuiltSubnet, plans: Sequence[OpPlan], sram_limit: int) -> Cost | None:
        """The Flash-and-MACs price of ``built`` (as for the Flash early exit) if its peak SRAM
        surely exceeds ``sram_limit`` under this model's schedule, else None. The bound needs
        only the operator plans (memoised), not the plan passes or the memory planner, and
        most configs of a space that needs patches at all are decided by it."""
        graph = built.graph
        if lower_bounds_ceiling(graph, plans) <= sram_limit:
            return None  # no bound could exceed the limit: only the compile tells the peak
        with self._layouts.active():  # (the compile that may follow asks for the same bounds)
            if self.options.patch == "auto":
                bound = auto_peak_lower_bound(graph, plans, self.options)
            elif self.options.patch == "off":
                opcodes = [op.opcode for op in graph.operators]
                bound = max(live_lower_bounds(graph, plans, opcodes, count_scratch=not self.options.pack_int4), default=0)
            else:
                return None
        if bound <= sram_limit:
            return None
        return self._price_from_signatures(built)

    def _price_from_signatures(self, sketch: BuiltSubnet) -> Cost | None:
        """Flash and MACs from the memoised plans of each signature (None if one is not memoised yet)."""
        templates = [self._templates.get(key) for key in sketch.signatures]
        if any(t is None for t in templates):
            return None
        parts = [t.emitted for t in templates]  # type: ignore[union-attr]
        code = self.code_size.estimate(
            set().union(*(p.kernel_sources for p in parts)),
            [str(key[0]) for key in sketch.signatures],  # type: ignore[index]
            set().union(*(p.definitions for p in parts)),
        )
        return Cost(
            macs=sum(t.macs for t in templates),  # type: ignore[union-attr]
            params=sketch.params,
            weights_bytes=sum(p.constant_bytes for p in parts),
            code_bytes=code,
            peak_sram_bytes=SRAM_NOT_PLANNED,
        )

    def _flash_upper_bound(self, sketch: BuiltSubnet) -> int | None:
        """At least ``_price_from_signatures(sketch).flash_bytes`` (None where that is None):
        constants plus the code estimate of each operator alone, which counts the kernels
        and specialisations that operators share once per operator. Memoised per signature."""
        bounds, total = self._flash_bounds, self.code_size.runtime_bytes
        for key in sketch.signatures:
            bound = bounds.get(key)
            if bound is None:
                template = self._templates.get(key)
                if template is None:
                    return None
                part = template.emitted
                code = self.code_size.estimate(part.kernel_sources, [str(key[0])], part.definitions)  # type: ignore[index]
                bound = bounds[key] = part.constant_bytes + code - self.code_size.runtime_bytes
            total += bound
        return total

    def _fusable_bytes(self, sketch: BuiltSubnet) -> int:
        """Constant bytes of the ADDs of ``sketch`` (what residual fusion can remove from Flash)."""
        return sum(
            self._templates[key].emitted.constant_bytes
            for key in sketch.signatures
            if key in self._templates and str(key[0]) == "ADD"  # type: ignore[index]
        )

    def compile(self, config: ArchConfig) -> CompiledModel:
        """The compiled model of ``config`` (memoised planning unless ``memoize=False``)."""
        return self._compile_memoized(build_subnet_graph(config, self.space))

    def _parts(self, built: BuiltSubnet, graph: Graph, plans: Sequence[OpPlan]) -> list[Emitted]:
        """What each compiled op emits. Re-bound plans and their variants recur across configs
        and are looked up by identity; the rest (fused plans are made afresh for every config)
        by signature."""
        by_plan = self._emitted_of_plan
        parts: list[Emitted] = []
        for step, plan in enumerate(plans):
            entry = by_plan.get(id(plan))
            if entry is not None and entry[0] is plan:
                parts.append(entry[1])
                continue
            if isinstance(plan, PatchStagePlan):
                part = self._stage_part(built, graph, plan)
                parts.append(part)
                if self.memoize:
                    _remember(by_plan, id(plan), (plan, part))
                continue
            part = self._emitted_by(graph, plan, self._key(built, graph, step, plan))
            parts.append(part)
            if self.memoize and not isinstance(plan, FusedOperators):
                _remember(by_plan, id(plan), (plan, part))  # (holding the plan keeps its id unique)
        return parts

    def _stage_part(self, built: BuiltSubnet, graph: Graph, stage: PatchStagePlan) -> Emitted:
        """The Flash and MACs of a patch stage, from its ops' layer-wise parts (the stage ran
        on ``compiled.source_graph``'s operators, which are the builder's where no pass ran)."""
        opcodes = {op.index: op.opcode for op in built.graph.operators}
        parts = []
        for plan in stage.stage_plans:
            key = (
                built.signatures[plan.op_index]
                if self._planned_on_built
                else _generic_signature(built.graph, built.graph.operators[plan.op_index])
            )
            parts.append(self._emitted_by(graph, plan, key))
        part = _stage_emitted(parts, stage, [opcodes[p.op_index] for p in stage.stage_plans])
        layer_ops = [p.firmware for p in parts]
        if any(op is None for op in layer_ops):
            return part
        return dataclasses.replace(part, firmware_parts=stage_firmware(graph, stage, layer_ops))

    def _build_stage(
        self, graph: Graph, plans: Sequence[OpPlan], outline: StageOutline, grid: tuple[int, int], alignment: int
    ) -> PatchStagePlan:
        """Stands in for ``build_outlined_stage`` inside :attr:`_compile`: a stage over the
        builder's shared operators is built once (its plans are bound per operator identity)."""
        built = self._current
        if built is None or graph is not built.graph or not self._planned_on_built:
            return build_outlined_stage(graph, plans, outline, grid, alignment)
        operators = graph.operators[: outline.split]
        key = (tuple(map(id, operators)), grid, alignment)
        entry = self._stages.get(key)
        if entry is not None and all(a is b for a, b in zip(entry[0], operators)):
            return entry[1]
        stage = build_outlined_stage(graph, plans, outline, grid, alignment)
        _remember(self._stages, key, (tuple(operators), stage), _STAGES_MAX)  # (holding them keeps the ids unique)
        return stage

    def _key(self, built: BuiltSubnet, graph: Graph, step: int, plan: OpPlan) -> Hashable:
        """The signature of the compiled op at ``step``. Where every op was planned on the
        builder's graph (no pass rewrote it), the builder's, by the op index the plan keeps (a
        fused op keeps its first op's index and carries the indices it fused); else a generic one."""
        if not self._planned_on_built:
            return _generic_signature(graph, graph.operators[step])
        if not isinstance(plan, FusedOperators):
            return built.signatures[plan.op_index]
        return ("fused", *(built.signatures[i] for i in plan.fused_op_indices))

    def _emitted_by(self, graph: Graph, plan: OpPlan, key: Hashable) -> Emitted:
        """Memoised :func:`emitted`; a variant of the same signature (in place, or on another
        kernel whose weights are laid out differently) is kept apart."""
        memo_key = (key, type(plan), len(plan.aliases), _kernel_of(plan))
        value = self._emitted.get(memo_key)
        if value is None:
            value = self._emitted[memo_key] = emitted(graph, plan)
        return value

    def _compile_memoized(self, built: BuiltSubnet, sram_limit: int | None = None) -> CompiledModel:
        """``compile_graph`` itself, planning each operator signature once per process."""
        self._current = built
        self._planned_on_built = self.memoize
        try:
            if sram_limit is not None and self.options.patch == "auto":
                return self._compile(built.graph, self.options, patch_peak_limit=sram_limit)
            return self._compile(built.graph, self.options)
        finally:
            self._current = None

    def _plan(self, graph: Graph, op: Operator) -> OpPlan:
        """Stands in for ``plan_operator`` inside :attr:`_compile`: the memo, or the engine's planner."""
        built = self._current
        on_built = built is not None and graph is built.graph
        if on_built:
            bound = self._bound.get(id(op))
            if bound is not None and bound[0] is op:
                return bound[1]
            key = built.signatures[op.index]
        else:
            key = _generic_signature(graph, op)
            self._planned_on_built = False
        template = self._templates.get(key)
        if template is None:
            plan = plan_operator(graph, op)
            self._templates[key] = _Template.of(graph, op, plan)
            return plan
        plan = template.bind(op)
        if on_built:
            _remember(self._bound, id(op), (op, plan))  # (holding the operator keeps its id unique)
        return plan

    def stats(self) -> Mapping[str, Any]:
        return {"memoized_operators": len(self._templates)}


def _kernel_of(plan: OpPlan) -> Hashable:
    """The kernel variant a plan runs, where it names one."""
    return plan.kernel if isinstance(plan, KernelVariant) else None


def _generic_signature(graph: Graph, op: Operator) -> Hashable:
    """Everything a plan of a synthetic sub-network graph depends on: opcode, options, tensor shapes."""
    tensors = tuple(
        (graph.tensor(t).shape, graph.tensor(t).dtype, graph.tensor(t).is_constant) if t >= 0 else None
        for t in op.inputs + op.outputs
    )
    return (op.opcode, tuple(sorted(op.options.items())), tensors)
