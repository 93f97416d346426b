"""Board profiles: the core, the compiler flags for it, and the memory it really has.

A profile is what the linker script and the fit check are made from. Sizes are the
microcontroller's own (datasheet) figures, except ``mps2-an500``, which is QEMU's model
of that FPGA board: its sizes are what ``qemu-system-arm -M mps2-an500`` maps (QEMU
7.2, ``hw/arm/mps2.c``; ``info mtree`` shows ``mps.ssram1`` 4 MiB at 0x0 and
``mps.ssram23`` 4 MiB at 0x20000000, which we use as Flash and SRAM).

Every profile also names the QEMU machine with its core (``mps2-an500`` for the
Cortex-M7, ``mps2-an386`` for the Cortex-M4), so that a build for a board can be run
under QEMU with that board's memory sizes at QEMU's addresses (``layout="qemu"``).
"""

from __future__ import annotations

import dataclasses

__all__ = ["MemoryRegion", "QemuMachine", "BoardProfile", "BOARDS", "QEMU_MACHINES", "board_profile"]

KIB = 1024
MIB = 1024 * KIB


@dataclasses.dataclass(frozen=True)
class MemoryRegion:
    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size


@dataclasses.dataclass(frozen=True)
class QemuMachine:
    """A QEMU Cortex-M board we run firmware on, with what QEMU really maps."""

    name: str
    core: str
    flash: MemoryRegion  # where the image (vector table, code, constants) is loaded
    sram: MemoryRegion
    #: SysTick's processor clock in QEMU. Under ``-icount shift=0`` one instruction is one
    #: nanosecond of virtual time, so one SysTick tick is 1e9 / systick_hz instructions.
    systick_hz: int = 25_000_000
    #: 16 MiB of PSRAM QEMU maps at 0x60000000 on its mps2 boards (``mps.ram``): room for
    #: constants that the 4 MiB code memory cannot hold next to the code
    psram: MemoryRegion | None = None

    @property
    def instructions_per_tick(self) -> int:
        return 1_000_000_000 // self.systick_hz


@dataclasses.dataclass(frozen=True)
class BoardProfile:
    """One microcontroller: its core's code-generation flags and its usable memory."""

    name: str
    description: str
    mcpu: str
    mfpu: str | None
    float_abi: str
    flash: MemoryRegion
    sram: MemoryRegion
    qemu_machine: str

    @property
    def arch_flags(self) -> tuple[str, ...]:
        """-mcpu/-mthumb/-mfpu/-mfloat-abi: used for compiling and linking (picks the multilib)."""
        flags = [f"-mcpu={self.mcpu}", "-mthumb"]
        if self.mfpu:
            flags.append(f"-mfpu={self.mfpu}")
        flags.append(f"-mfloat-abi={self.float_abi}")
        return tuple(flags)

    @property
    def qemu(self) -> QemuMachine:
        return QEMU_MACHINES[self.qemu_machine]


QEMU_MACHINES: dict[str, QemuMachine] = {
    machine.name: machine
    for machine in (
        QemuMachine(
            "mps2-an500", "cortex-m7", MemoryRegion(0x0000_0000, 4 * MIB), MemoryRegion(0x2000_0000, 4 * MIB),
            psram=MemoryRegion(0x6000_0000, 16 * MIB),
        ),
        QemuMachine(
            "mps2-an386", "cortex-m4", MemoryRegion(0x0000_0000, 4 * MIB), MemoryRegion(0x2000_0000, 4 * MIB),
            psram=MemoryRegion(0x6000_0000, 16 * MIB),
        ),
    )
}

BOARDS: dict[str, BoardProfile] = {
    profile.name: profile
    for profile in (
        BoardProfile(
            "stm32f746",
            "STM32F746 (Cortex-M7, 216 MHz, FPv5 single precision): 320 KB SRAM (DTCM+SRAM1+SRAM2), 1 MB Flash",
            "cortex-m7",
            "fpv5-sp-d16",
            "hard",
            flash=MemoryRegion(0x0800_0000, 1 * MIB),
            sram=MemoryRegion(0x2000_0000, 320 * KIB),
            qemu_machine="mps2-an500",
        ),
        BoardProfile(
            "stm32f412",
            "STM32F412 (Cortex-M4F, 100 MHz, FPv4 single precision): 256 KB SRAM, 1 MB Flash",
            "cortex-m4",
            "fpv4-sp-d16",
            "hard",
            flash=MemoryRegion(0x0800_0000, 1 * MIB),
            sram=MemoryRegion(0x2000_0000, 256 * KIB),
            qemu_machine="mps2-an386",
        ),
        BoardProfile(
            "stm32h743",
            "STM32H743 (Cortex-M7, 480 MHz, FPv5 double precision): 512 KB AXI SRAM (D1) as one region, 2 MB Flash",
            "cortex-m7",
            "fpv5-d16",
            "hard",
            flash=MemoryRegion(0x0800_0000, 2 * MIB),
            sram=MemoryRegion(0x2400_0000, 512 * KIB),
            qemu_machine="mps2-an500",
        ),
        BoardProfile(
            "mps2-an500",
            "Arm MPS2 AN500 as QEMU models it (Cortex-M7, FPv5 double precision): 4 MiB ZBT SSRAM1 at 0x0 as Flash, "
            "4 MiB SSRAM2/3 at 0x20000000 as SRAM",
            "cortex-m7",
            "fpv5-d16",
            "hard",
            flash=QEMU_MACHINES["mps2-an500"].flash,
            sram=QEMU_MACHINES["mps2-an500"].sram,
            qemu_machine="mps2-an500",
        ),
    )
}


def board_profile(name: str) -> BoardProfile:
    """The profile called ``name``; a ValueError listing the known ones otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board '{name}'; known boards: {', '.join(sorted(BOARDS))}") from None
