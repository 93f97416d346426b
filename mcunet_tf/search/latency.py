"""Latency estimate of a sub-network on the microcontroller: a per-operator cycle table.

The model, stated plainly: every operator of the compiled int8 graph (the same graph the
cost model plans, so exactly the kernels ``tinyengine_gen`` would emit) costs

    cycles = macs * cycles_per_mac[kind] + elements * cycles_per_element[kind] + overhead

where ``kind`` separates 1x1 convolutions, k x k convolutions, depthwise convolutions and
fully connected layers (MAC-bound), and element-wise or pooling operators (ADD, MEAN, ...:
bound by the elements they read); ``elements`` is the element count of the operator's
first input. Latency is the sum over operators divided by the clock.

:data:`CORTEX_M7_216MHZ` is an *assumed* table for an STM32F746-class Cortex-M7 running
int8 kernels that use the DSP extension's dual 16-bit MACs (about 1 cycle per MAC for 1x1
convs, more for depthwise, which reuses each loaded weight less). It is not a measurement:
it ranks candidates and enforces a latency budget consistently, and
:meth:`LatencyModel.scaled_to` rescales it to one measured whole-model latency (for
instance the QEMU instruction count of ``benchmarks/cortex_m.py`` or a board run). For
the machine at hand, :func:`host_latency_ms` times the generated C built with the host's
gcc, so a table can be checked against a real run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType

from tinyengine_gen.compiler import CompiledModel
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpPlan
from tinyengine_gen.patching.stage import PatchStagePlan

__all__ = ["CORTEX_M7_216MHZ", "LatencyModel", "host_latency_ms", "operator_kind"]


def _frozen(table: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(table))


@dataclasses.dataclass(frozen=True)
class LatencyModel:
    name: str
    clock_hz: float
    cycles_per_mac: Mapping[str, float]
    cycles_per_element: Mapping[str, float]
    #: per-operator call overhead (loop set-up, requantisation parameters, pointer arithmetic)
    cycles_per_op: float = 2000.0
    #: for operator kinds missing from the element table
    default_cycles_per_element: float = 2.0

    def __post_init__(self) -> None:
        if self.clock_hz <= 0 or self.cycles_per_op < 0:
            raise ValueError(f"latency model {self.name}: clock must be positive and overhead non-negative.")

    def operator_cycles(self, graph: Graph, op: Operator, plan: OpPlan) -> float:
        kind = operator_kind(graph, op)
        macs = float(plan.macs)
        if kind in self.cycles_per_mac and macs > 0:
            return macs * self.cycles_per_mac[kind] + self.cycles_per_op
        elements = math.prod(graph.tensor(op.inputs[0]).shape) if op.inputs else 0
        per_element = self.cycles_per_element.get(kind, self.default_cycles_per_element)
        return elements * per_element + self.cycles_per_op

    def estimate_ms(self, compiled: CompiledModel) -> float:
        graph = compiled.graph
        cycles = sum(
            self._stage_cycles(compiled, plan) if isinstance(plan, PatchStagePlan) else self.operator_cycles(graph, op, plan)
            for op, plan in zip(graph.operators, compiled.plans)
        )
        return 1000.0 * cycles / self.clock_hz

    def _stage_cycles(self, compiled: CompiledModel, stage: PatchStagePlan) -> float:
        """A patch stage: its ops' layer-wise cycles, the MAC part scaled by the recomputed halos."""
        source = {op.index: op for op in compiled.source_graph.operators}
        layer_wise = [(source[p.op_index], p) for p in stage.stage_plans]
        cycles = sum(self.operator_cycles(compiled.source_graph, op, p) for op, p in layer_wise)
        extra_macs = stage.macs - stage.layer_wise_macs
        mean_cycles_per_mac = sum(
            float(p.macs) * self.cycles_per_mac.get(operator_kind(compiled.source_graph, op), 0.0) for op, p in layer_wise
        ) / max(stage.layer_wise_macs, 1)
        calls = len(stage.patches) - 1  # every patch calls each kernel again
        return cycles + extra_macs * mean_cycles_per_mac + calls * len(layer_wise) * self.cycles_per_op

    def scaled_to(self, compiled: CompiledModel, measured_ms: float, name: str | None = None) -> LatencyModel:
        """This table, every entry scaled so that ``compiled`` is estimated at ``measured_ms``."""
        if measured_ms <= 0:
            raise ValueError(f"latency model: a measured latency must be positive, got {measured_ms}.")
        factor = measured_ms / self.estimate_ms(compiled)
        return dataclasses.replace(
            self,
            name=name or f"{self.name} (scaled x{factor:.3g})",
            cycles_per_mac=_frozen({k: v * factor for k, v in self.cycles_per_mac.items()}),
            cycles_per_element=_frozen({k: v * factor for k, v in self.cycles_per_element.items()}),
            cycles_per_op=self.cycles_per_op * factor,
            default_cycles_per_element=self.default_cycles_per_element * factor,
        )

    def describe(self) -> str:
        macs = ", ".join(f"{k} {v:g}" for k, v in sorted(self.cycles_per_mac.items()))
        return f"{self.name}: {self.clock_hz / 1e6:g} MHz; cycles/MAC: {macs}; {self.cycles_per_op:g} cycles/op"


def operator_kind(graph: Graph, op: Operator) -> str:
    """CONV_2D_1x1, CONV_2D_KxK, DEPTHWISE_CONV_2D, FULLY_CONNECTED, or the opcode of any other operator."""
    if op.opcode == "CONV_2D":
        filter_shape = graph.tensor(op.inputs[1]).shape  # [out, kh, kw, in]
        return "CONV_2D_1x1" if filter_shape[1] == filter_shape[2] == 1 else "CONV_2D_KxK"
    return op.opcode


#: Assumed figures for TinyEngine-style int8 kernels on a 216 MHz Cortex-M7 (see the module text).
CORTEX_M7_216MHZ = LatencyModel(
    name="cortex-m7@216MHz (assumed table)",
    clock_hz=216e6,
    cycles_per_mac=_frozen({"CONV_2D_1x1": 1.0, "CONV_2D_KxK": 1.5, "DEPTHWISE_CONV_2D": 2.5, "FULLY_CONNECTED": 1.2}),
    cycles_per_element=_frozen({"ADD": 3.0, "MEAN": 1.0}),
)


def host_latency_ms(tflite: bytes, repeats: int = 20) -> float:
    """Median latency of the model's generated C, built with the host's gcc (-O3), on random int8 input."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from tinyengine_gen.host.build import HostModel, build_host_library
    from tinyengine_gen.codegen.project import generate, write_project
    from tinyengine_gen.frontend.reader import read_model_bytes

    with tempfile.TemporaryDirectory(prefix="mcunet-latency-") as scratch:
        folder = write_project(generate(read_model_bytes(tflite, source="latency.tflite")), Path(scratch) / "model")
        build_host_library(folder)
        host = HostModel(folder)
        rng = np.random.default_rng(0)
        inputs = [rng.integers(-128, 128, size=tuple(d["shape"]), dtype=np.int8) for d in host.model_input_details]
        return host.latency_ms(inputs, repeats=repeats)
