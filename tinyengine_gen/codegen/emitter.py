"""Emit the C99 project for a compiled model: model.h, model.c and the kernels it uses.

The output depends only on the compiled model (no timestamps, no absolute paths, sorted
iteration), so the same input file always gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from importlib import resources

import numpy as np

from tinyengine_gen.codegen.c_literals import C_TYPE_OF_NUMPY, c_array_literal, c_scalar
from tinyengine_gen.codegen.kernel_config import CONFIG_HEADER, CONFIG_USER, emit_gemm_config, gemm_config
from tinyengine_gen.compiler import CompiledModel
from tinyengine_gen.ir import Graph, Tensor

__all__ = ["ConstantCounter", "EmittedProject", "emit_project", "KERNEL_DIR", "c_array_literal", "c_scalar"]

KERNEL_DIR = "kernels"
class _Context:
    """EmitContext implementation: collects constants, resolves tensor pointers."""

    def __init__(self, compiled: CompiledModel) -> None:
        self._compiled = compiled
        self.constants: dict[str, tuple[str, np.ndarray]] = {}
        self._by_digest: dict[str, str] = {}
        self.definitions: dict[str, str] = {}
        self.op_index = -1

    def tensor(self, index: int) -> str:
        tensor = self._compiled.graph.tensor(index)
        c_type = tensor.dtype.c_type
        if tensor.is_constant:
            return self.const(f"tensor{index}", np.asarray(tensor.data))
        offset = self._compiled.tensor_offsets[index]
        return f"(({c_type}*)(te_arena + {offset}))"

    def const(self, hint: str, array: np.ndarray) -> str:
        array = np.ascontiguousarray(array)
        if array.dtype not in C_TYPE_OF_NUMPY:
            raise TypeError(f"cannot emit a {array.dtype} constant")
        digest = hashlib.sha256(array.dtype.str.encode() + array.tobytes()).hexdigest()
        if digest in self._by_digest:
            return self._by_digest[digest]
        symbol = "te_" + "".join(ch if ch.isalnum() else "_" for ch in hint)
        while symbol in self.constants:
            symbol += "_"
        self.constants[symbol] = (C_TYPE_OF_NUMPY[array.dtype], array)
        self._by_digest[digest] = symbol
        return symbol

    def scratch(self, c_type: str = "int8_t") -> str:
        offset = self._compiled.scratch_offsets[self.op_index]
        return f"(({c_type}*)(te_arena + {offset}))"

    def definition(self, name: str, text: str) -> str:
        previous = self.definitions.setdefault(name, text)
        if previous != text:
            raise ValueError(f"two different definitions of {name}")
        return name


class ConstantCounter:
    """An EmitContext that only counts the bytes of the const arrays ops ask for.

    It is how the NAS cost model prices a plan's Flash without formatting any C: the same
    ``emit`` code runs, so the count follows whatever the ops emit. With ``merge_identical``
    identical arrays are counted once, as the emitter stores them once; a graph with
    placeholder weights (the cost model's) should count every array instead.
    """

    def __init__(self, graph: Graph, merge_identical: bool = True) -> None:
        self._graph = graph
        self._merge = merge_identical
        self.total = 0
        self.definitions: set[str] = set()
        self._seen: set[str] = set()

    def tensor(self, index: int) -> str:
        tensor = self._graph.tensor(index)
        if tensor.is_constant:
            return self.const(f"tensor{index}", np.asarray(tensor.data))
        return f"t{index}"

    def const(self, hint: str, array: np.ndarray) -> str:
        array = np.asarray(array)
        if not self._merge:
            self.total += array.nbytes
            return hint
        digest = hashlib.sha256(array.dtype.str.encode() + np.ascontiguousarray(array).tobytes()).hexdigest()
        if digest not in self._seen:
            self._seen.add(digest)
            self.total += array.nbytes
        return hint

    def scratch(self, c_type: str = "int8_t") -> str:
        return "scratch"

    def definition(self, name: str, text: str) -> str:
        self.definitions.add(name)
        return name


def _kernel_text(name: str) -> str:
    return resources.files("tinyengine_gen").joinpath(KERNEL_DIR, name).read_text(encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class EmittedProject:
    files: dict[str, str]  # relative path -> text
    constant_bytes: int  # bytes of const data (weights, biases, requantisation tables): Flash


def emit_project(compiled: CompiledModel) -> EmittedProject:
    """All files of the C project, keyed by relative path."""
    ctx = _Context(compiled)
    body: list[str] = []
    kernels: set[str] = {"te_fixedpoint.h", "arm/te_fixedpoint_dsp.h"}  # every kernel includes them
    for op, plan in zip(compiled.graph.operators, compiled.plans):
        ctx.op_index = plan.op_index
        body.append(f"  /* op {plan.op_index}: {op.opcode} */")
        body.append(f"  TE_OP_BEGIN({plan.op_index});")
        body.extend("  " + line for line in plan.emit(ctx))
        body.append(f"  TE_OP_END({plan.op_index});")
        kernels.update(plan.kernel_sources)
    files = {
        "model.h": _emit_header(compiled),
        "model.c": _emit_source(compiled, ctx, body, kernels),
    }
    for name in sorted(kernels):
        files[f"{KERNEL_DIR}/{name}"] = _kernel_text(name)
    if CONFIG_USER in kernels:  # only the GEMM variants the layers reach (the default has all)
        files[f"{KERNEL_DIR}/{CONFIG_HEADER}"] = emit_gemm_config(gemm_config(compiled.plans))
    files["Makefile"] = _emit_makefile(kernels)
    constant_bytes = sum(array.nbytes for _, array in ctx.constants.values())
    return EmittedProject(files, int(constant_bytes))


def _io_macros(prefix: str, position: int, tensor: Tensor) -> list[str]:
    name = f"TE_{prefix}{position}"
    shape = ", ".join(str(d) for d in tensor.shape) or "1"
    lines = [
        f"/* {prefix.lower()} {position}: '{tensor.name}' {list(tensor.shape)} {tensor.dtype.value} */",
        f"#define {name}_BYTES {tensor.nbytes}",
        f"#define {name}_RANK {len(tensor.shape)}",
        f"#define {name}_SHAPE {{{shape}}}",
        f"#define {name}_TYPE_{tensor.dtype.name} 1",
    ]
    if tensor.quant is not None and not tensor.quant.per_channel:
        lines.append(f"#define {name}_SCALE {c_scalar(tensor.quant.scale, np.dtype('float32'))}")
        lines.append(f"#define {name}_ZERO_POINT {tensor.quant.zero_point}")
    return lines


def _emit_header(compiled: CompiledModel) -> str:
    graph = compiled.graph
    lines = [
        f"/* Generated by tinyengine_gen from {os.path.basename(graph.source)}. Do not edit. */",
        "#ifndef TE_MODEL_H",
        "#define TE_MODEL_H",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"#define TE_ARENA_BYTES {max(compiled.arena_bytes, compiled.options.alignment)}",
        f"#define TE_NUM_INPUTS {len(graph.inputs)}",
        f"#define TE_NUM_OUTPUTS {len(graph.outputs)}",
        f"#define TE_MACS {compiled.macs}",
        "",
    ]
    for position, index in enumerate(graph.inputs):
        lines += _io_macros("INPUT", position, graph.tensor(index)) + [""]
    for position, index in enumerate(graph.outputs):
        lines += _io_macros("OUTPUT", position, graph.tensor(index)) + [""]
    lines += [
        "/* Pointers into the arena: write inputs before te_invoke(), read outputs after it. */",
        "void* te_input(int index);",
        "void* te_output(int index);",
        "/* Runs the whole network once. Returns 0. Not re-entrant: one static arena. */",
        "int te_invoke(void);",
        "/* Size of the static arena in bytes (TE_ARENA_BYTES). */",
        "unsigned long te_arena_bytes(void);",
        "",
        *_reset_declaration(compiled),
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        "#endif /* TE_MODEL_H */",
        "",
    ]
    return "\n".join(lines)


def _pointer_switch(name: str, compiled: CompiledModel, indices: tuple[int, ...]) -> list[str]:
    lines = [f"void* {name}(int index) {{", "  switch (index) {"]
    for position, tensor_index in enumerate(indices):
        lines.append(f"    case {position}: return te_arena + {compiled.tensor_offsets[tensor_index]};")
    lines += ["    default: return 0;", "  }", "}", ""]
    return lines


def _emit_source(compiled: CompiledModel, ctx: _Context, body: list[str], kernels: set[str]) -> str:
    headers = sorted(k for k in kernels if k.endswith(".h") and "/" not in k)  # arm/: included by the kernels
    lines = [
        f"/* Generated by tinyengine_gen from {os.path.basename(compiled.graph.source)}. Do not edit.",
        f" * {len(compiled.plans)} ops, {compiled.macs} MACs, arena {compiled.arena_bytes} bytes. */",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        '#include "model.h"',
    ]
    lines += [f'#include "{KERNEL_DIR}/{h}"' for h in headers]
    lines += [
        "",
        "#if defined(__GNUC__)",
        "#define TE_ALIGNED __attribute__((aligned(16)))",
        "#else",
        "#define TE_ALIGNED",
        "#endif",
        "",
        "/* Per-operator hooks (op index in the .tflite): nothing unless built with",
        " * -DTE_PROFILE_OPS, as the firmware is to count each operator's instructions. */",
        "#if defined(TE_PROFILE_OPS)",
        "void te_op_begin(int op);",
        "void te_op_end(int op);",
        "#define TE_OP_BEGIN(op) te_op_begin(op)",
        "#define TE_OP_END(op) te_op_end(op)",
        "#else",
        "#define TE_OP_BEGIN(op)",
        "#define TE_OP_END(op)",
        "#endif",
        "",
        "/* The one static arena: activations and kernel scratch, planned at compile time. */",
        "static uint8_t te_arena[TE_ARENA_BYTES] TE_ALIGNED;",
        "",
        "/* Weights and quantisation parameters: const, so they stay in Flash. */",
    ]
    for symbol, (c_type, array) in ctx.constants.items():
        lines.append(f"static const {c_type} {symbol}[{max(array.size, 1)}] TE_ALIGNED = {c_array_literal(array)};")
    lines.append("")
    if ctx.definitions:
        lines.append("/* Kernel specialisations this model uses. */")
        lines += [ctx.definitions[name] for name in sorted(ctx.definitions)]
        lines.append("")
    lines += _pointer_switch("te_input", compiled, compiled.graph.inputs)
    lines += _pointer_switch("te_output", compiled, compiled.graph.outputs)
    lines += ["unsigned long te_arena_bytes(void) { return TE_ARENA_BYTES; }", ""]
    lines += _reset_definition(compiled)
    start = ["  if (!te_state_ready) te_reset();"] if _variable_tensors(compiled) else []
    lines += ["int te_invoke(void) {"] + start + body + ["  return 0;", "}", ""]
    return "\n".join(lines)


def _variable_tensors(compiled: CompiledModel) -> list[int]:
    return [t.index for t in compiled.graph.tensors if t.is_variable]


def _reset_declaration(compiled: CompiledModel) -> list[str]:
    """te_reset() in model.h, for models with state (SVDF, LSTM); the others have none."""
    if not _variable_tensors(compiled):
        return []
    return [
        "/* Clears the state kept between invokes (variable tensors) to its zero point, as TFLite",
        " * Micro's ResetVariableTensors does. te_invoke() calls it before the first inference. */",
        "void te_reset(void);",
        "#define TE_HAS_STATE 1",
        "",
    ]


def _reset_definition(compiled: CompiledModel) -> list[str]:
    """te_reset(): every variable tensor filled with its zero point (int8 or int16)."""
    variables = _variable_tensors(compiled)
    if not variables:
        return []
    lines = ["static int te_state_ready = 0;", "", "void te_reset(void) {"]
    for index in variables:
        tensor = compiled.graph.tensor(index)
        zero_point = tensor.quant.zero_point if tensor.quant is not None else 0
        offset, c_type = compiled.tensor_offsets[index], tensor.dtype.c_type
        lines += [
            f"  {{ /* tensor {index} '{tensor.name}' */",
            f"    {c_type}* state = ({c_type}*)(te_arena + {offset});",
            f"    for (long i = 0; i < {tensor.num_elements}L; ++i) state[i] = ({c_type})({zero_point});",
            "  }",
        ]
    return lines + ["  te_state_ready = 1;", "}", ""]


def _emit_makefile(kernels: set[str]) -> str:
    sources = " ".join(["model.c"] + [f"{KERNEL_DIR}/{k}" for k in sorted(kernels) if k.endswith(".c")])
    return "\n".join(
        [
            "# Builds the generated model as a host shared library (make) or object files for your firmware.",
            "CC ?= gcc",
            "CFLAGS ?= -std=c99 -O3 -Wall -Wextra",
            f"SRCS = {sources}",
            "",
            "libmodel.so: $(SRCS) model.h",
            "\t$(CC) $(CFLAGS) -fPIC -shared -I. -o $@ $(SRCS) -lm",
            "",
            "clean:",
            "\trm -f libmodel.so",
            "",
            ".PHONY: clean",
            "",
        ]
    )
