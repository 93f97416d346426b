"""tinyengine_gen: an int8 TFLite flatbuffer compiled into an interpreter-free C99 project.

The layers, in the order a model flows through them: ``frontend`` (read and verify the
flatbuffer into the IR of ``ir``), ``passes`` (exact graph rewrites, then op planning by
``ops``, then plan rewrites), ``patching`` (patch-based inference), ``memory`` (buffer
lifetimes and the static arena), ``codegen`` (model.c, model.h, the ``kernels`` they call,
report.json), and ``host`` / ``firmware`` (build and run it). The names below are the
public API; they are imported on first use, so ``import tinyengine_gen`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it
_EXPORTS = {
    "compile_graph": "tinyengine_gen.compiler",
    "CompiledModel": "tinyengine_gen.compiler",
    "CompileOptions": "tinyengine_gen.options",
    "read_model": "tinyengine_gen.frontend.reader",
    "read_model_bytes": "tinyengine_gen.frontend.reader",
    "Graph": "tinyengine_gen.ir",
    "generate": "tinyengine_gen.codegen.project",
    "generate_from_file": "tinyengine_gen.codegen.project",
    "write_project": "tinyengine_gen.codegen.project",
    "GeneratedProject": "tinyengine_gen.codegen.project",
    "LayoutCache": "tinyengine_gen.memory.layout_cache",
    "HostModel": "tinyengine_gen.host.build",
    "build_host_library": "tinyengine_gen.host.build",
    "FirmwareOptions": "tinyengine_gen.firmware.build",
    "write_firmware_project": "tinyengine_gen.firmware.build",
    "TinyEngineError": "tinyengine_gen.errors",
    "MalformedModelError": "tinyengine_gen.errors",
    "UnsupportedModelError": "tinyengine_gen.errors",
    "UnsupportedOperatorError": "tinyengine_gen.errors",
    "QuantizationError": "tinyengine_gen.errors",
    "DoesNotFitError": "tinyengine_gen.errors",
    "BuildError": "tinyengine_gen.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tinyengine_gen' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
