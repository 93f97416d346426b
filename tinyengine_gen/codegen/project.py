"""Turn a model into a C project folder: compile, emit, report, and write it atomically.

The folder is written to a temporary sibling and renamed into place at the end, so an
interrupted or failed run never leaves a half-written project behind.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tinyengine_gen.compiler import CompiledModel, CompileOptions, compile_graph
from tinyengine_gen.codegen.emitter import emit_project
from tinyengine_gen.ir import Graph
from tinyengine_gen.frontend.reader import read_model
from tinyengine_gen.codegen.report import build_report, report_json

__all__ = ["GeneratedProject", "generate", "generate_from_file", "replace_dir", "write_project"]


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


def write_project(project: GeneratedProject, out_dir: str | os.PathLike[str]) -> Path:
    """Write every file under ``out_dir``, replacing it whole; atomic at the folder level."""
    target = Path(out_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        for relative, text in sorted(project.files.items()):
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _remove_stale_staging(target: Path) -> None:
    """Delete staging folders a killed earlier run left beside ``target`` (never the target).

    Two runs writing the same folder at the same time are not supported.
    """
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


def replace_dir(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` is moved aside, then removed."""
    if not target.exists():
        os.rename(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(retired)
    os.rename(target, retired)
    os.rename(staging, target)
    shutil.rmtree(retired, ignore_errors=True)
