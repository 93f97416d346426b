"""Turn a model into a C project folder: compile, emit, report, and write it atomically.

The folder is written to a staging sibling and swapped into place at the end
(:mod:`tinyengine_gen.codegen.output_folder`), so an interrupted or failed run never leaves a
half-written project behind, and a folder we did not write is never replaced.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tinyengine_gen.compiler import CompiledModel, CompileOptions, compile_graph
from tinyengine_gen.codegen.emitter import emit_project
from tinyengine_gen.ir import Graph
from tinyengine_gen.codegen.output_folder import staged_output, write_files
from tinyengine_gen.frontend.reader import read_model
from tinyengine_gen.codegen.report import build_report, report_json

__all__ = ["GeneratedProject", "generate", "generate_from_file", "write_project"]


@dataclasses.dataclass(frozen=True, eq=False)
class GeneratedProject:
    compiled: CompiledModel
    files: dict[str, str]  # including report.json
    report: dict[str, Any]


def generate(graph: Graph, options: CompileOptions | None = None) -> GeneratedProject:
    compiled = compile_graph(graph, options)
    emitted = emit_project(compiled)
    report = build_report(compiled, emitted.constant_bytes)
    files = dict(emitted.files)
    files["report.json"] = report_json(report)
    return GeneratedProject(compiled, files, report)


def generate_from_file(path: str | os.PathLike[str], options: CompileOptions | None = None) -> GeneratedProject:
    return generate(read_model(path), options)


def write_project(
    project: GeneratedProject, out_dir: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Write every file under ``out_dir``, replacing it whole once all are written.

    ``out_dir`` must be new, empty or an earlier output (see
    :mod:`tinyengine_gen.codegen.output_folder`); ``protect`` names inputs it must not hold.
    """
    with staged_output(out_dir, protect) as staging:
        write_files(staging, project.files)
    return Path(out_dir).resolve()
