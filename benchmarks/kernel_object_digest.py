"""Digest of the machine code of every C kernel, for each build the project makes of it.

    python benchmarks/kernel_object_digest.py [--kernels_dir=DIR] > digest.txt

Compiles each ``tinyengine_gen/kernels/*.c`` the way the generated projects do (host gcc
-O3; arm-none-eabi-gcc -O3 for a Cortex-M7 and a Cortex-M4 with the DSP kernels, and the
Cortex-M7 with ``-DTE_NO_DSP``) and prints one line per kernel and build: the SHA-256 of
the disassembled code (addresses and instructions, symbol names kept, file names left out).
A kernel refactoring that must not change behaviour (merging near-copies, moving code
between headers) is checked by running this before and after: identical machine code
gives identical outputs on every input, which no finite test can prove. Builds whose
compiler is missing are skipped with a line that says so.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FLAGS = flags.FLAGS
flags.DEFINE_string("kernels_dir", str(Path(__file__).resolve().parents[1] / "tinyengine_gen" / "kernels"), "Kernel folder.")

_ARM = ("-std=c99", "-O3", "-ffunction-sections", "-fdata-sections", "-mthumb")
#: build name -> (compiler, objdump, flags)
BUILDS = {
    "host": ("gcc", "objdump", ("-std=c99", "-O3", "-fPIC")),
    "m7-simd": ("arm-none-eabi-gcc", "arm-none-eabi-objdump", (*_ARM, "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard")),
    "m4-simd": ("arm-none-eabi-gcc", "arm-none-eabi-objdump", (*_ARM, "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")),
    "m7-portable": (
        "arm-none-eabi-gcc",
        "arm-none-eabi-objdump",
        (*_ARM, "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-DTE_NO_DSP"),
    ),
}
_FILE_LINE = re.compile(r"^.*file format.*$", re.MULTILINE)


def object_digest(source: Path, compiler: str, objdump: str, cflags: tuple[str, ...], work: Path) -> str:
    obj = work / (source.stem + ".o")
    subprocess.run([compiler, *cflags, "-I", str(source.parent), "-c", str(source), "-o", str(obj)], check=True)
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(obj)], check=True, capture_output=True, text=True).stdout
    raw = subprocess.run([objdump, "-s", "-j", ".rodata", str(obj)], capture_output=True, text=True).stdout
    text = _FILE_LINE.sub("", text) + _FILE_LINE.sub("", raw)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main(argv: list[str]) -> None:
    del argv
    sources = sorted(Path(FLAGS.kernels_dir).glob("*.c"))
    with tempfile.TemporaryDirectory() as work:
        for build, (compiler, objdump, cflags) in BUILDS.items():
            if shutil.which(compiler) is None:
                print(f"{build} skipped: {compiler} not found")
                continue
            for source in sources:
                print(f"{build} {source.name} {object_digest(source, compiler, objdump, cflags, Path(work))}", flush=True)


if __name__ == "__main__":
    app.run(main)
