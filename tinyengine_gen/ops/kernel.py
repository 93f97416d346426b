"""A C kernel variant as a typed object, declared once beside the operator that calls it.

The emitter copies a plan's kernel files into the project; the firmware build compiles
them; the code-size model prices each ``.c`` file and the latency model each variant by its
name. Each reads the same :class:`Kernel`, so a kernel's files are written in one place,
and a table that would key a kernel by a string keys it by the object instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

__all__ = ["DeclaredKernels", "Kernel", "sources_of"]


@dataclasses.dataclass(frozen=True)
class Kernel:
    """One kernel variant: the C function an emitted call runs, and its files."""

    #: the C function (also the variant's name in the calibration data, mcunet_tf/calibration)
    name: str
    #: files in tinyengine_gen/kernels (.c and .h, arm/ for the ARMv7E-M paths) the call needs
    sources: tuple[str, ...]

    @property
    def c_files(self) -> tuple[str, ...]:
        """The sources a build compiles (and the code-size model prices)."""
        return tuple(name for name in self.sources if name.endswith(".c"))


def sources_of(kernels: Iterable[Kernel]) -> tuple[str, ...]:
    """The files of ``kernels``, in order (a file two kernels share listed twice: readers
    take the set, and the first file names a plan's variant where it names no kernel)."""
    return tuple(name for kernel in kernels for name in kernel.sources)


class DeclaredKernels:
    """Base of a plan that declares the kernels its emitted call runs as :class:`Kernel`
    objects (a class attribute, or a property where its fields choose one); the file list
    the emitter copies is derived from them, so a kernel's files are written once.

    Subclasses are frozen dataclasses; this base has no fields.
    """

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """The kernels the emitted call runs (none for a view or a folded constant)."""
        raise NotImplementedError

    @property
    def kernel_sources(self) -> tuple[str, ...]:
        """Files in tinyengine_gen/kernels that the emitted call needs (.c and .h)."""
        return sources_of(self.kernels)
