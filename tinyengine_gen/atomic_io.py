"""Crash-safe file writes: write a temporary sibling, fsync it, rename it into place.

A reader (or a later run after a crash) sees either the old file or the new one, never a
half-written one.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from typing import Any

from tinyengine_gen.codegen.output_folder import current_umask

__all__ = ["write_bytes_atomically", "write_text_atomically", "write_json_atomically"]


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("wb", dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp", delete=False)
    try:
        with handle:
            os.fchmod(handle.fileno(), _file_mode(target))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise


def _file_mode(target: str) -> int:
    """Keep a replaced file's mode; a new file gets 0666 less the umask (tempfile's is 0600)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def write_text_atomically(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))


def write_json_atomically(path: str | os.PathLike[str], payload: Any) -> None:
    write_text_atomically(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
