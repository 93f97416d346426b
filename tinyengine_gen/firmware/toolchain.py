"""The Arm GNU toolchain and QEMU: finding them, the flags we build with, running make.

Debian packages: ``gcc-arm-none-eabi`` and ``libnewlib-arm-none-eabi`` (compiler, binutils,
newlib with nano and rdimon), ``qemu-system-arm`` (QEMU). A missing tool is a
:class:`~tinyengine_gen.errors.BuildError` that says which package to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tinyengine_gen.errors import BuildError

__all__ = [
    "CROSS_PREFIX",
    "COMPILE_FLAGS",
    "LINK_FLAGS",
    "KERNEL_DEFINES",
    "SIZE_OPTIMISED_DSP_KERNELS",
    "toolchain_available",
    "qemu_available",
    "tool",
    "run_make",
]

CROSS_PREFIX = "arm-none-eabi-"
#: what every firmware object is compiled with, besides the board's -mcpu/-mfpu/-mfloat-abi
#: (-std=c99 also keeps -ffp-contract=off, as the host build: float math rounds the same)
COMPILE_FLAGS = (
    "-std=c99",
    "-O3",
    "-ffunction-sections",
    "-fdata-sections",
    "-fstack-usage",
    "-fcallgraph-info=su",
    "-Wall",
    "-Wextra",
)
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=rdimon.specs", "-Wl,--gc-sections")
#: --kernels: "simd" lets kernels use the Cortex-M DSP instructions where they have them,
#: "portable" keeps to plain C (TE_NO_DSP)
KERNEL_DEFINES = {"simd": (), "portable": ("-DTE_NO_DSP",)}
#: DSP kernels compiled at a smaller optimisation level than COMPILE_FLAGS' -O3, because -O3
#: buys them nothing: their inner loops are written out (always_inline tiles, unrolled by
#: hand), and -O3 only unrolls and copies the loops around them. Measured on mcunet_vww
#: (QEMU mps2-an500, instructions per inference; .text of the stm32f746 firmware): the
#: deep 1x1 kernel at -O2 0.5 KB smaller and 38 k instructions faster; the narrow kernel
#: needs -O2 for its constant-depth loops to be written out (GCC does not unroll them at
#: -Os), its only other code being small. (The fused CONV_2D + ADD kernel at
#: -O2 saves 2.4 KB of mcunet_vww's firmware, which mcunet_vww's Flash goal needs; the
#: depthwise code in model.c would save 8 KB for 12 % more instructions: it stays at -O3.)
#: Portable builds keep -O3 everywhere.
SIZE_OPTIMISED_DSP_KERNELS = {"te_conv2d_narrow.c": "-O2", "te_conv2d_1x1.c": "-O2", "te_conv2d_add.c": "-O2"}
_PACKAGE_OF = {"gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi", "qemu-system-arm": "qemu-system-arm"}


def tool(name: str) -> str:
    """Absolute path of ``arm-none-eabi-<name>`` (or of ``qemu-system-arm``, or ``make``)."""
    program = name if name in ("qemu-system-arm", "make") else CROSS_PREFIX + name
    path = shutil.which(program)
    if path is None:
        package = _PACKAGE_OF.get(name, "gcc-arm-none-eabi" if program.startswith(CROSS_PREFIX) else name)
        raise BuildError(f"'{program}' not found; install it (Debian: apt-get install {package})")
    return path


def toolchain_available() -> bool:
    """arm-none-eabi-gcc, its binutils, newlib's rdimon and make are all installed."""
    if not all(
        shutil.which(p) for p in ("make", *(CROSS_PREFIX + t for t in ("gcc", "size", "nm", "objdump", "readelf")))
    ):
        return False
    result = subprocess.run([CROSS_PREFIX + "gcc", "-print-file-name=rdimon.specs"], capture_output=True, text=True)
    return result.returncode == 0 and os.path.isabs(result.stdout.strip())


def qemu_available() -> bool:
    return shutil.which("qemu-system-arm") is not None


def _first_error(log: str) -> str:
    """The most telling line of a failed build: our linker ASSERTs, then compiler errors."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for wanted in ("tinyengine_gen:", "overflowed", ": error:", "error"):
        for line in lines:
            if wanted in line and not line.startswith(("collect2", "make:")):
                return line.split("ld: ", 1)[-1] if wanted == "tinyengine_gen:" else line
    return lines[0] if lines else "?"


def run_make(
    directory: Path,
    targets: Sequence[str],
    variables: dict[str, str] | None = None,
    jobs: int = 2,
    timeout_s: float = 1800,
) -> str:
    """Run ``make`` in ``directory``; a failure is a BuildError quoting the first error line."""
    command = [tool("make"), "-s", f"-j{jobs}", *targets, *(f"{k}={v}" for k, v in sorted((variables or {}).items()))]
    try:
        result = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{directory}: '{' '.join(command)}' took longer than {timeout_s:.0f} s") from None
    if result.returncode != 0:
        log = result.stderr.strip() or result.stdout.strip()
        raise BuildError(f"{directory}: make {' '.join(targets)} failed: {_first_error(log)}\n{log[-4000:]}")
    return result.stdout + result.stderr
