"""Text that can go anywhere: file names that are not valid UTF-8, printed on one line.

A POSIX file name is bytes; Python hands back the undecodable ones as lone surrogates,
which cannot be written to a UTF-8 file (report.json, model.c) or to most terminals. Here
such bytes become ``\\xNN`` escapes, so a model called ``\\xff.tflite`` is compiled and
named, not a traceback.
"""

from __future__ import annotations

import os

__all__ = ["printable", "printable_line"]


def printable(text: str | bytes | os.PathLike[str]) -> str:
    """``text`` as valid UTF-8 (undecodable bytes of a file name as ``\\xNN``)."""
    decoded = os.fsdecode(text) if not isinstance(text, str) else text
    return decoded.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def printable_line(text: str) -> str:
    """:func:`printable`, with every run of whitespace (newlines too) made one space."""
    return " ".join(printable(text).split())
