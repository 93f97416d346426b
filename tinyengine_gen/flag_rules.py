"""Validators for absl flags, declared next to each flag so every flag is checked before any work.

absl's own ``lower_bound`` / ``upper_bound`` let NaN through (every comparison with NaN is
false) and say nothing about paths, so commands add these rules right after a
``flags.DEFINE_*``::

    flags.DEFINE_float("sram_kb", 320, "SRAM budget in kB.")
    flag_rules.positive_number("sram_kb")

A refused value is reported by absl as ``flag --sram_kb=nan: must be a finite number
greater than 0``, which :func:`tinyengine_gen.cli.parse_flags` prints as one line with exit
status 2. A flag left at ``None`` (optional) is always accepted.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from absl import flags

__all__ = [
    "at_least",
    "existing_file",
    "folder_path",
    "non_negative_number",
    "number_in",
    "positive_number",
    "probability",
]


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def positive_number(name: str) -> None:
    """A finite number > 0 (a budget, a rate)."""
    flags.register_validator(
        name, lambda v: v is None or (_finite(v) and v > 0), message="must be a finite number greater than 0"
    )


def non_negative_number(name: str) -> None:
    """A finite number >= 0 (a noise level, a tolerance)."""
    flags.register_validator(
        name, lambda v: v is None or (_finite(v) and v >= 0), message="must be a finite number, 0 or more"
    )


def number_in(name: str, low: float, high: float) -> None:
    """A finite number in [low, high]."""
    flags.register_validator(
        name, lambda v: v is None or (_finite(v) and low <= v <= high), message=f"must be a number in [{low:g}, {high:g}]"
    )


def probability(name: str) -> None:
    """A probability or a share: a number in [0, 1]."""
    number_in(name, 0.0, 1.0)


def at_least(name: str, minimum: int) -> None:
    """An integer count >= minimum."""
    flags.register_validator(name, lambda v: v is None or v >= minimum, message=f"must be at least {minimum}")


def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def folder_path(name: str) -> None:
    """An output folder: it may not exist yet, but neither it nor a parent may be a file."""
    flags.register_validator(
        name,
        lambda v: v is None or _first_existing(Path(os.path.abspath(v))).is_dir(),
        message="is a file (or lies under one); give a folder path, new or existing",
    )


def existing_file(name: str) -> None:
    """An input file that must exist (and not be a folder)."""
    flags.register_validator(name, lambda v: v is None or Path(v).is_file(), message="no such file")
