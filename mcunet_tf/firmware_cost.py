"""What a compiled candidate costs as firmware on one board: Flash, SRAM and instructions.

The co-design cost model (:mod:`mcunet_tf.cost_model`) plans a candidate with the engine;
this module turns that one plan into the figures the firmware build will measure, from a
calibration of the board (``python -m mcunet_tf.calibrate --board=B`` writes
``mcunet_tf/calibration/<board>.json``; see :mod:`mcunet_tf.calibrate` for how each number
is obtained):

* **Flash** = the constant arrays, each rounded up to the 16-byte alignment model.c gives
  it, + the code of every kernel source file the plan links (its object, compiled with the
  firmware's own flags for the board: an upper bound of what ``--gc-sections`` keeps) + the
  kernel specialisations model.c instantiates (measured in model.o) + per operator the call
  site and parameter structs in model.c (fitted per plan type) + the runtime (startup,
  main, newlib, libgcc: the fitted intercept) + the one input case the firmware bakes in +
  a margin, the largest under-prediction seen in calibration, so that the prediction is
  never below what the linker places.
* **SRAM** = the arena + the firmware's fixed SRAM (data, bss besides the arena, heap, and
  the stack from the call graph), the largest seen in calibration.
* **Instructions** = per operator ``a * MACs + b * output elements + c * output pixels + d``
  with coefficients per kernel variant, fitted to per-operator instruction counts measured
  under QEMU ``-icount shift=0``; milliseconds assume :attr:`FirmwareCostModel.cycles_per_instruction`
  cycles per instruction at the board's clock.

Only the plan is read: no C is formatted and nothing is compiled, so pricing stays in the
microseconds the search needs.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from tinyengine_gen.compiler import CompiledModel
from tinyengine_gen.codegen.emitter import ConstantCounter
from tinyengine_gen.codegen.kernel_config import GemmConfig, gemm_config
from tinyengine_gen.ir import Graph
from mcunet_tf.kernel_objects import gemm_object_bytes
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.ops.features import KernelVariant
from tinyengine_gen.patching.stage import PatchStagePlan

__all__ = [
    "CALIBRATION_VERSION",
    "ALIGNMENT",
    "AlignedConstantCounter",
    "FirmwareCostModel",
    "FirmwarePrice",
    "OpFirmware",
    "PATCH_COPY_VARIANT",
    "calibration_path",
    "firmware_cost_model",
    "op_firmware",
    "op_firmware_of",
    "plan_firmware",
    "stage_firmware",
    "plan_kind",
    "variant_of",
]

CALIBRATION_VERSION = 1
#: model.c declares every constant array ``__attribute__((aligned(16)))``
ALIGNMENT = 16
#: operators whose own Flash and instructions a model remembers (by identity)
_MEMO_MAX = 32768
#: per-operator latency features, in the order of each variant's coefficients
LATENCY_FEATURES = ("macs", "output_elements", "output_pixels", "ops")


def _aligned(nbytes: int) -> int:
    return -(-max(nbytes, 1) // ALIGNMENT) * ALIGNMENT


class AlignedConstantCounter(ConstantCounter):
    """Counts each constant array as model.c places it: every array, rounded up to 16 bytes."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph, merge_identical=False)
        self.aligned_total = 0

    def const(self, hint: str, array: np.ndarray) -> str:
        self.aligned_total += _aligned(np.asarray(array).nbytes)
        return super().const(hint, array)


@dataclasses.dataclass(frozen=True)
class OpFirmware:
    """What one compiled operator brings to the firmware (fixed by its plan)."""

    variant: str
    aligned_constant_bytes: int
    kernel_files: tuple[str, ...]  # the .c files it links
    definitions: frozenset[str]  # kernel specialisations model.c instantiates for it
    features: tuple[float, ...]  # LATENCY_FEATURES


def variant_of(plan: OpPlan, definitions: frozenset[str] = frozenset()) -> str:
    """The kernel variant a plan runs: its plan type, the kernel it names (or its first kernel
    source), and its specialisations (a 3x3 and a 7x7 depthwise differ)."""
    kernel = plan.kernel.name if isinstance(plan, KernelVariant) else next(iter(plan.kernel_sources), "")
    suffix = "+".join(sorted(definitions))
    return f"{type(plan).__name__}:{kernel}" + (f":{suffix}" if suffix else "")


def op_firmware(graph: Graph, plan: OpPlan) -> OpFirmware:
    """Emit ``plan`` into a counter (no C formatted) and read what the firmware model needs."""
    counter = AlignedConstantCounter(graph)
    plan.emit(counter)
    return op_firmware_of(graph, plan, counter.aligned_total, frozenset(counter.definitions))


def op_firmware_of(graph: Graph, plan: OpPlan, aligned_constant_bytes: int, definitions: frozenset[str]) -> OpFirmware:
    """:func:`op_firmware` for a plan already emitted into an :class:`AlignedConstantCounter`."""
    outputs = [graph.tensor(t).shape for t in plan.outputs]
    output_elements = sum(math.prod(shape) for shape in outputs)
    first = outputs[0] if outputs else ()
    pixels = math.prod(first[:-1]) if len(first) > 1 else 1
    return OpFirmware(
        variant=variant_of(plan, definitions),
        aligned_constant_bytes=aligned_constant_bytes,
        kernel_files=tuple(sorted({k for k in plan.kernel_sources if k.endswith(".c")})),
        definitions=definitions,
        features=(float(plan.macs), float(output_elements), float(pixels), 1.0),
    )


#: the variant of a patch stage's own work per patch (te_patch.h): cropping the patch's
#: regions out of whole maps and inserting its result; features: 0, bytes copied, rows, 1
PATCH_COPY_VARIANT = "PatchCopy:te_patch.h"


def stage_firmware(graph: Graph, stage: PatchStagePlan, layer_ops: Sequence[OpFirmware]) -> tuple[OpFirmware, ...]:
    """What a patch stage brings to the firmware: every per-patch call of each of its ops
    (the kernel variant and specialisations that patch's plan uses, its share of the op's
    work, halo included) and each patch's copies. The stage's constants are its ops'
    layer-wise arrays, stored once (``layer_ops``: those ops' layer-wise figures)."""
    ops = []
    patches = len(stage.patches)
    for k, (plan, layer) in enumerate(zip(stage.stage_plans, layer_ops)):
        _, elements, pixels, _ = layer.features
        for p, patch in enumerate(stage.patches):
            step_plan = patch.steps[k].plan
            counter = AlignedConstantCounter(graph)
            step_plan.emit(stage.step_context(counter, k))
            definitions = frozenset(counter.definitions)
            share = step_plan.macs / plan.macs if plan.macs else 1.0 / patches
            first = p == 0
            ops.append(
                OpFirmware(
                    # the per-patch calls of one op run the same variant on a share of its map
                    variant=variant_of(step_plan, definitions),
                    aligned_constant_bytes=layer.aligned_constant_bytes if first else 0,
                    kernel_files=tuple(sorted({f for f in step_plan.kernel_sources if f.endswith(".c")})),
                    # a stage op's specialisations are priced once (as its layer-wise call site);
                    # each later patch adds a call, priced by the Flash fit's bytes per call of
                    # its plan type, and what GCC clones beyond that falls to the fitted margin
                    definitions=definitions if first else frozenset(),
                    features=(float(step_plan.macs), elements * share, pixels * share, 1.0),
                )
            )
    for p in range(patches):
        nbytes, rows = stage.copied_per_patch(p)
        ops.append(OpFirmware(PATCH_COPY_VARIANT, 0, (), frozenset(), (0.0, float(nbytes), float(rows), 1.0)))
    return tuple(ops)


def plan_firmware(graph: Graph, plan: OpPlan) -> tuple[OpFirmware, ...]:
    """:func:`op_firmware` of a plan, or of each part of a patch stage."""
    if isinstance(plan, PatchStagePlan):
        return stage_firmware(graph, plan, [op_firmware(graph, p) for p in plan.stage_plans])
    return (op_firmware(graph, plan),)


@dataclasses.dataclass(frozen=True)
class FirmwarePrice:
    """A candidate's firmware figures on one board."""

    board: str
    flash_bytes: int
    sram_bytes: int
    instructions: int
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class FirmwareCostModel:
    """One board's calibration: code sizes, fixed SRAM, per-variant instruction models."""

    board: str
    cflags: tuple[str, ...]
    clock_hz: float
    cycles_per_instruction: float
    kernel_bytes: Mapping[str, int]
    #: a kernel specialisation in model.c: GCC clones it per call site (constant propagation)
    #: beside helpers the clones share, or folds everything into one body where one op calls it
    definition_bytes: Mapping[str, int]  # the shared helpers
    definition_site_bytes: Mapping[str, int]  # each call site's clone
    definition_single_bytes: Mapping[str, int]  # all of it, where one operator calls it
    default_definition_bytes: int
    #: call site and parameter structs in te_invoke, per plan type (Conv2DPlan, ...)
    op_bytes: Mapping[str, int]
    default_op_bytes: int
    runtime_bytes: int
    flash_margin_bytes: int
    fixed_sram_bytes: int
    #: variant -> coefficients of LATENCY_FEATURES
    instruction_model: Mapping[str, tuple[float, ...]]
    #: coefficients for a variant calibration never met (the largest of each feature)
    default_instruction_model: tuple[float, ...]
    invoke_instructions: float
    calibration: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: added for a patch-based build: how far the calibration's patch-based builds went
    #: beyond the rest of the model (GCC clones some per-patch calls of a specialisation)
    #: plus the safety allowance, so that patch-based predictions stay above the ELF too
    patch_margin_bytes: int = 0
    #: a GEMM kernel file -> its object's bytes under the base te_gemm_config.h and what each
    #: config feature adds (see :mod:`mcunet_tf.kernel_objects`); empty: priced at kernel_bytes
    gemm_config_bytes: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)
    _memo: dict[int, tuple[OpFirmware, tuple[int, float]]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # --- the figures ---------------------------------------------------------------------

    def flash_bytes(self, ops: Sequence[OpFirmware], input_bytes: int, gemm: GemmConfig | None = None) -> int:
        """The ELF's Flash: each op's constants and call site, each kernel object once (the GEMM
        ones as ``gemm``, the project's te_gemm_config.h, compiles them), the specialisations
        per call site, the runtime, the baked input and the margins."""
        kernels: set[str] = set()
        sites: Counter[str] = Counter()
        own = 0
        patched = False
        for op in ops:
            own += self._per_op(op)[0]
            patched = patched or op.variant == PATCH_COPY_VARIANT
            kernels.update(op.kernel_files)
            if op.definitions:
                sites.update(op.definitions)
        missing = sorted(k for k in kernels if k not in self.kernel_bytes)
        if missing:
            raise KeyError(f"{self.board} calibration has no size for kernel {', '.join(missing)}; rerun calibrate")
        return int(
            own
            + sum(self.kernel_file_bytes(k, gemm) for k in kernels)
            + sum(self.specialisation_bytes(name, count) for name, count in sites.items())
            + self.runtime_bytes
            + input_bytes
            + self.flash_margin_bytes
            + (self.patch_margin_bytes if patched else 0)
        )

    def kernel_file_bytes(self, name: str, gemm: GemmConfig | None) -> int:
        """One kernel object: as compiled under ``gemm`` where it depends on te_gemm_config.h."""
        full = self.kernel_bytes[name]
        sizes = self.gemm_config_bytes.get(name)
        return full if gemm is None or not sizes else gemm_object_bytes(sizes, full, gemm)

    def _per_op(self, op: OpFirmware) -> tuple[int, float]:
        """An operator's own Flash (aligned constants, call site) and instructions, memoised by
        identity: the cost model hands the same OpFirmware objects for recurring operators."""
        entry = self._memo.get(id(op))
        if entry is not None and entry[0] is op:
            return entry[1]
        value = (
            op.aligned_constant_bytes + self.op_bytes.get(plan_kind(op), self.default_op_bytes),
            self.op_instructions(op),
        )
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[id(op)] = (op, value)  # (holding the op keeps its id unique)
        return value

    def specialisation_bytes(self, name: str, call_sites: int) -> int:
        """Code of specialisation ``name`` called from ``call_sites`` operators."""
        if name not in self.definition_bytes:
            return self.default_definition_bytes * call_sites
        if call_sites == 1 and name in self.definition_single_bytes:
            return self.definition_single_bytes[name]
        return self.definition_bytes[name] + self.definition_site_bytes.get(name, 0) * call_sites

    def sram_bytes(self, arena_bytes: int) -> int:
        return int(arena_bytes) + self.fixed_sram_bytes

    def op_instructions(self, op: OpFirmware) -> float:
        coefficients = self.instruction_model.get(op.variant, self.default_instruction_model)
        (a, b, c, d), (macs, elements, pixels, ops) = coefficients, op.features  # LATENCY_FEATURES
        return a * macs + b * elements + c * pixels + d * ops

    def instructions(self, ops: Sequence[OpFirmware]) -> int:
        return int(round(self.invoke_instructions + sum(self._per_op(op)[1] for op in ops)))

    def milliseconds(self, instructions: float) -> float:
        return 1000.0 * instructions * self.cycles_per_instruction / self.clock_hz

    def price(self, compiled: CompiledModel, ops: Sequence[OpFirmware] | None = None) -> FirmwarePrice:
        """All three figures from one compiled plan (``ops`` when the caller has them memoised)."""
        if ops is None:
            ops = [op_firmware(compiled.graph, plan) for plan in compiled.plans]
        graph = compiled.graph
        input_bytes = sum(graph.tensor(t).nbytes for t in graph.inputs)
        arena = max(compiled.arena_bytes, compiled.options.alignment)
        instructions = self.instructions(ops)
        return FirmwarePrice(
            board=self.board,
            flash_bytes=self.flash_bytes(ops, input_bytes, gemm_config(compiled.plans)),
            sram_bytes=self.sram_bytes(arena),
            instructions=instructions,
            latency_ms=self.milliseconds(instructions),
        )

    # --- the search's latency protocol (as mcunet_tf.search.latency.LatencyModel) ------------

    def estimate_ms(self, compiled: CompiledModel) -> float:
        return self.price(compiled).latency_ms

    def describe(self) -> str:
        return (
            f"{self.board} firmware calibration: {self.clock_hz / 1e6:g} MHz, "
            f"{self.cycles_per_instruction:g} cycles/instruction assumed; {len(self.instruction_model)} kernel variants"
        )

    # --- data ----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        data["version"] = CALIBRATION_VERSION
        data["cflags"] = list(self.cflags)
        for key in _MAPPINGS:
            data[key] = dict(sorted(dict(getattr(self, key)).items()))
        data["instruction_model"] = {k: list(v) for k, v in sorted(self.instruction_model.items())}
        data["default_instruction_model"] = list(self.default_instruction_model)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FirmwareCostModel:
        if data.get("version") != CALIBRATION_VERSION:
            raise ValueError(f"calibration version {data.get('version')} is not {CALIBRATION_VERSION}; rerun calibrate")
        fields = {f.name for f in dataclasses.fields(cls) if f.init}
        values = {k: v for k, v in data.items() if k in fields}
        for key in _MAPPINGS:
            values[key] = MappingProxyType(dict(values.get(key, {})))
        values["cflags"] = tuple(values["cflags"])
        values["instruction_model"] = MappingProxyType(
            {k: tuple(float(x) for x in v) for k, v in values["instruction_model"].items()}
        )
        values["default_instruction_model"] = tuple(float(x) for x in values["default_instruction_model"])
        return cls(**values)


_MAPPINGS = (
    "kernel_bytes",
    "gemm_config_bytes",
    "definition_bytes",
    "definition_site_bytes",
    "definition_single_bytes",
    "op_bytes",
    "calibration",
)


def plan_kind(op: OpFirmware) -> str:
    """The plan type of an operator's variant (what its call site in te_invoke looks like)."""
    return op.variant.split(":", 1)[0]


def calibration_path(board: str) -> Path:
    """Where the package keeps ``board``'s calibration."""
    return Path(str(resources.files("mcunet_tf").joinpath("calibration", f"{board}.json")))


@functools.lru_cache(maxsize=8)
def firmware_cost_model(board: str) -> FirmwareCostModel:
    """The packaged calibration of ``board``; a ValueError naming the command that makes it."""
    path = calibration_path(board)
    if not path.is_file():
        raise ValueError(
            f"no firmware calibration for board '{board}' ({path}); run: python -m mcunet_tf.calibrate --board={board}"
        )
    return FirmwareCostModel.from_json(json.loads(path.read_text(encoding="utf-8")))
