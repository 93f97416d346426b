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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from absl import flags

__all__ = [
    "at_least",
    "exclusive_fraction",
    "existing_file",
    "folder_path",
    "non_negative_number",
    "number_in",
    "positive_number",
    "probability",
    "required",
]


FlagValues = flags.FlagValues


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _rule(name: str, check: Callable[[Any], bool], message: str, flag_values: FlagValues) -> None:
    """Register ``check`` for flag ``name``; a flag left at None (optional, unset) always passes."""
    flags.register_validator(name, lambda v: v is None or check(v), message=message, flag_values=flag_values)


def required(name: str, what: str, flag_values: FlagValues = flags.FLAGS) -> None:
    """A flag that must be given; ``what`` says what to pass (absl's own message only says "other than None")."""
    flags.register_validator(
        name, lambda v: v not in (None, ""), message=f"is required: {what}", flag_values=flag_values
    )


def positive_number(name: str, flag_values: FlagValues = flags.FLAGS) -> None:
    """A finite number > 0 (a budget, a rate)."""
    _rule(name, lambda v: _finite(v) and v > 0, "must be a finite number greater than 0", flag_values)


def non_negative_number(name: str, flag_values: FlagValues = flags.FLAGS) -> None:
    """A finite number >= 0 (a noise level, a tolerance)."""
    _rule(name, lambda v: _finite(v) and v >= 0, "must be a finite number, 0 or more", flag_values)


def number_in(name: str, low: float, high: float, flag_values: FlagValues = flags.FLAGS) -> None:
    """A finite number in [low, high]."""
    _rule(name, lambda v: _finite(v) and low <= v <= high, f"must be a number in [{low:g}, {high:g}]", flag_values)


def probability(name: str, flag_values: FlagValues = flags.FLAGS) -> None:
    """A probability or a share: a number in [0, 1]."""
    number_in(name, 0.0, 1.0, flag_values)


def exclusive_fraction(name: str, flag_values: FlagValues = flags.FLAGS) -> None:
    """A share strictly between 0 and 1."""
    _rule(name, lambda v: _finite(v) and 0 < v < 1, "must be a share strictly between 0 and 1", flag_values)


def at_least(name: str, minimum: int, flag_values: FlagValues = flags.FLAGS) -> None:
    """An integer count >= minimum."""
    _rule(name, lambda v: v >= minimum, f"must be at least {minimum}", flag_values)


def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def folder_path(name: str, flag_values: FlagValues = flags.FLAGS) -> None:
    """An output folder: it may not exist yet, but neither it nor a parent may be a file."""
    _rule(
        name,
        lambda v: _first_existing(Path(os.path.abspath(v))).is_dir(),
        "is a file (or lies under one); give a folder path, new or existing",
        flag_values,
    )


def existing_file(name: str, flag_values: FlagValues = flags.FLAGS) -> None:
    """An input file that must exist (and not be a folder)."""
    _rule(name, lambda v: Path(v).is_file(), "no such file", flag_values)
