"""report.json: the versioned interface between the compiler, benchmarks and the NAS cost model.

Keys are only ever added, never renamed. Nobody parses the generated C: they read this.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tinyengine_gen.compiler import CompiledModel
from tinyengine_gen.ir import Tensor
from tinyengine_gen.ops.features import FusedOperators, PackedWeightPlan
from tinyengine_gen.passes.base import pass_summary
from tinyengine_gen.passes.pack_int4 import int4_summary

__all__ = ["REPORT_VERSION", "build_report", "report_json"]

REPORT_VERSION = 1


def _tensor_info(tensor: Tensor) -> dict[str, Any]:
    info: dict[str, Any] = {"name": tensor.name, "shape": list(tensor.shape), "dtype": tensor.dtype.value}
    if tensor.quant is not None and not tensor.quant.per_channel:
        info["scale"] = tensor.quant.scale
        info["zero_point"] = tensor.quant.zero_point
    return info


def _io_info(indices: tuple[int, ...], source, source_indices: tuple[int, ...]) -> list[dict[str, Any]]:
    """Input/output details; where an int8 API replaced a float tensor, say so (``float_api``)
    so that callers holding float data know to quantise it with the int8 tensor's parameters."""
    result = []
    for index, original in zip(indices, source_indices):
        info = _tensor_info(source.tensor(index))
        if original != index:
            info["float_api"] = _tensor_info(source.tensor(original))
        result.append(info)
    return result


def build_report(compiled: CompiledModel, constant_bytes: int) -> dict[str, Any]:
    graph = compiled.graph
    ops = []
    for step, (op, plan) in enumerate(zip(graph.operators, compiled.plans)):
        entry: dict[str, Any] = {
            "index": plan.op_index,
            "name": op.opcode,
            "macs": int(plan.macs),
            "live_bytes": compiled.memory.live_bytes(step),
            "scratch_bytes": int(plan.scratch_bytes),
            "inputs": [graph.tensor(t).name for t in plan.inputs],
            "outputs": [graph.tensor(t).name for t in plan.outputs],
        }
        if isinstance(plan, PackedWeightPlan):  # weights stored packed (--pack_int4)
            entry["weight_bits"] = int(plan.weight_bits)
        if isinstance(plan, FusedOperators):  # e.g. CONV_2D+ADD: the file's ops it runs
            entry["fused_ops"] = list(plan.fused_op_indices)
        ops.append(entry)
    report = {
        "version": REPORT_VERSION,
        "model": os.path.basename(graph.source),
        "macs": int(compiled.network_macs),
        "executed_macs": int(compiled.macs),
        "weights_bytes": int(constant_bytes),
        "arena_bytes": int(compiled.arena_bytes),
        "peak_sram_bytes": int(compiled.peak_sram_bytes),
        "arena_lower_bound_bytes": int(compiled.memory.lower_bound),
        "inputs": _io_info(graph.inputs, compiled.source_graph, compiled.source_graph.inputs),
        "outputs": _io_info(graph.outputs, compiled.source_graph, compiled.source_graph.outputs),
        "ops": ops,
        "patch": compiled.patch_decision.to_json(graph) if compiled.patch_decision else {"schedule": "layer-wise"},
        "passes": [pass_summary(step, compiled.options.alignment) for step in compiled.passes],
    }
    if compiled.options.pack_int4:
        report["pack_int4"] = int4_summary(compiled.plans)
    return report


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"
