"""A C kernel variant as a typed object, declared once beside the operator that calls it.

The emitter copies a plan's kernel files into the project; the firmware build compiles
them; the code-size model prices each ``.c`` file and the latency model each variant by its
name. Each reads the same :class:`Kernel`, so a kernel's files are written in one place,
and a table that would key a kernel by a string keys it by the object instead.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Kernel"]


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
