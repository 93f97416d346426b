"""The error taxonomy of the compiler.

Every failure a user can cause (a bad file, an operator we do not compile, a model that
does not fit) raises one of these, with a message that names the file, operator or
tensor and says what to do. The command lines catch ``TinyEngineError`` and turn it into
one line on stderr and exit status 2; anything else is a bug in this project.
"""

from __future__ import annotations

__all__ = [
    "TinyEngineError",
    "MalformedModelError",
    "UnsupportedModelError",
    "UnsupportedOperatorError",
    "QuantizationError",
    "DoesNotFitError",
    "BuildError",
    "OutputFolderError",
    "InvalidOptionsError",
]


class TinyEngineError(Exception):
    """Base class: a problem with the user's input or environment, reported in one line."""


class MalformedModelError(TinyEngineError):
    """The file is not a readable TFLite flatbuffer, or its structure is inconsistent."""


class UnsupportedModelError(TinyEngineError):
    """The model is well formed but uses something this compiler does not handle."""


class UnsupportedOperatorError(UnsupportedModelError):
    """An operator (or an operator option) that has no kernel here."""


class QuantizationError(UnsupportedModelError):
    """Quantisation parameters that are missing, inconsistent or outside what int8 kernels accept."""


class DoesNotFitError(TinyEngineError):
    """The compiled model needs more memory than the budget allows."""


class BuildError(TinyEngineError):
    """The C compiler rejected the generated project (a toolchain problem, or a bug here)."""


class OutputFolderError(TinyEngineError):
    """An output folder that must not be replaced (not ours, the current folder, holds the
    model, a file) or cannot be written (read-only, under a file, a mount point)."""


class InvalidOptionsError(TinyEngineError):
    """Options that cannot work together, or a destination path that cannot be written."""
