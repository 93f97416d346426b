"""Flash and SRAM of a linked firmware, read from the ELF with binutils (``size -A``, ``nm``).

Flash is what the image spans from the start of Flash to the end of the initial values
of ``.data`` (the linker script's ``__te_flash_end``): the vector table, ``.text``,
``.rodata``, the unwind tables, ``.data``, and the few bytes of alignment between them.
SRAM is the span from the start of SRAM to the top of the stack (``__te_stack_top``):
``.data`` + ``.bss`` + the heap + the stack, and alignment. These are exactly what the
linker script's ASSERTs compare with the board's sizes. The stack section's size is what
the script reserved, so the fit check adds the analysed maximum to a build linked with
none. ``size -A`` gives the sections one by one.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from tinyengine_gen.errors import BuildError
from tinyengine_gen.firmware.linker import LinkerLayout
from tinyengine_gen.firmware.toolchain import tool

__all__ = ["FLASH_SECTIONS", "SRAM_SECTIONS", "ElfSizes", "read_elf_sizes", "symbol_addresses", "symbol_sizes"]

FLASH_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.extab", ".ARM.exidx", ".init_array", ".data")
#: constants the linker script put in read-only memory beyond Flash (QEMU's PSRAM)
BULK_SECTIONS = (".bulk_rodata",)
SRAM_SECTIONS = (".data", ".bss", ".heap", ".stack")


@dataclasses.dataclass(frozen=True)
class ElfSizes:
    sections: dict[str, int]  # allocated section -> bytes
    flash_bytes: int  # __te_flash_end - start of Flash
    sram_bytes: int  # __te_stack_top - start of SRAM

    def section(self, name: str) -> int:
        return self.sections.get(name, 0)

    @property
    def code_bytes(self) -> int:
        """Vector table, code and unwind tables: Flash that is not constant data."""
        return sum(self.section(name) for name in (".isr_vector", ".text", ".ARM.extab", ".ARM.exidx", ".init_array"))


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"'{' '.join(command)}' failed: {result.stderr.strip()}")
    return result.stdout


def read_elf_sizes(elf: Path, layout: LinkerLayout) -> ElfSizes:
    """Flash and SRAM spans (``nm``) and section sizes (``size -A``) of a firmware linked
    with ``layout``; a section the linker script does not place is an error."""
    sections: dict[str, int] = {}
    for line in _run([tool("size"), "-A", str(elf)]).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[0].startswith("."):
            name, size = parts[0], int(parts[1])
            if name in FLASH_SECTIONS or name in SRAM_SECTIONS or name in BULK_SECTIONS:
                sections[name] = size
            elif not name.startswith((".debug", ".comment", ".ARM.attributes")) and size:
                raise BuildError(f"{elf}: section {name} ({size} bytes) is not placed by the firmware linker script")
    addresses = symbol_addresses(elf)
    return ElfSizes(
        sections,
        flash_bytes=addresses["__te_flash_end"] - layout.flash.origin,
        sram_bytes=addresses["__te_stack_top"] - layout.sram.origin,
    )


def symbol_addresses(elf: Path) -> dict[str, int]:
    """Defined symbols (``nm``): name -> address."""
    addresses: dict[str, int] = {}
    for line in _run([tool("nm"), "--defined-only", str(elf)]).splitlines():
        parts = line.split()
        if len(parts) == 3:
            addresses[parts[2]] = int(parts[0], 16)
    return addresses


def symbol_sizes(elf: Path) -> dict[str, int]:
    """Defined symbols with a size (``nm -S``): name -> bytes (the last one wins on duplicates)."""
    sizes: dict[str, int] = {}
    for line in _run([tool("nm"), "-S", "--defined-only", str(elf)]).splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = int(parts[1], 16)
    return sizes
