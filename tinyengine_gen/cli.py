"""Command-line edge helpers: one clear line and exit status 2 for user errors.

Only the ``__main__`` modules use this; library code raises the typed errors of
:mod:`tinyengine_gen.errors` and never exits. The environment's failures (a folder that
is not writable, a path component that is a file, a full disk, a file name that is not
valid UTF-8) are the user's to fix too, so they get the same one line, naming the path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

from tinyengine_gen.errors import InvalidOptionsError, TinyEngineError
from tinyengine_gen.printable import printable_line

__all__ = ["USER_ERROR_EXIT", "check_file_destination", "describe_os_error", "report_user_errors"]

USER_ERROR_EXIT = 2
T = TypeVar("T")


def describe_os_error(exc: OSError) -> str:
    """``PATH: what went wrong`` for an error of the environment."""
    paths = [os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


def check_file_destination(path: str, flag: str) -> None:
    """Refuse, before any work, an output file path that is a folder or cannot be created."""
    if not path:
        raise InvalidOptionsError(f"{flag} is empty: give a file name")
    if os.path.isdir(path):
        raise InvalidOptionsError(f"{flag}={printable_line(path)} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise InvalidOptionsError(f"{flag}={printable_line(path)}: {printable_line(folder)} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidOptionsError(f"{flag}={printable_line(path)}: cannot write in {printable_line(folder)} (permission denied)")


def report_user_errors(program: str, function: Callable[[], T]) -> T:
    """Run ``function``; a TinyEngineError or an environment error (OSError) becomes
    ``program: error: <message>`` on one line and exit 2."""
    try:
        return function()
    except TinyEngineError as exc:
        message = str(exc).split("\n")[0]
    except OSError as exc:
        message = describe_os_error(exc)
    print(f"{program}: error: {printable_line(message)}", file=sys.stderr)
    sys.exit(USER_ERROR_EXIT)
