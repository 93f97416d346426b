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

With ``--models_dir=DIR`` it also digests ``model.c`` of the project generated from each
``DIR/*.tflite``, as is and with its weights requantised to 4 bits (``--pack_int4``),
compiled against the kernels of ``--kernels_dir``: the header-only kernels (the depthwise
row kernels) are specialised there, not in any kernel ``.c``.
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
flags.DEFINE_string("models_dir", "", "Also digest model.c of the projects of DIR/*.tflite (default: kernels only).")

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


def model_sources(models_dir: Path, kernels_dir: Path, work: Path) -> list[tuple[str, Path]]:
    """model.c of each model's project (as is, and packed to 4 bits) in a folder of its own
    whose kernels/ is kernels_dir: (name, path) pairs."""
    from mcunet_tf.int4_weights import requantize_weights_int4
    from tinyengine_gen.codegen.project import generate
    from tinyengine_gen.compiler import CompileOptions
    from tinyengine_gen.frontend.reader import read_model_bytes

    sources = []
    for model in sorted(models_dir.glob("*.tflite")):
        data = model.read_bytes()
        for variant, model_bytes, options in (
            ("default", data, CompileOptions()),
            ("int4", requantize_weights_int4(data), CompileOptions(pack_int4=True)),
        ):
            folder = work / "projects" / f"{model.stem}.{variant}"
            folder.mkdir(parents=True)
            (folder / "kernels").symlink_to(kernels_dir.resolve())
            files = generate(read_model_bytes(model_bytes, source=model.name), options).files
            for name in ("model.c", "model.h"):
                (folder / name).write_text(files[name])
            sources.append((f"{model.name}:{variant}:model.c", folder / "model.c"))
    return sources


def main(argv: list[str]) -> None:
    del argv
    kernels_dir = Path(FLAGS.kernels_dir)
    with tempfile.TemporaryDirectory() as work:
        sources = [(source.name, source) for source in sorted(kernels_dir.glob("*.c"))]
        if FLAGS.models_dir:
            sources += model_sources(Path(FLAGS.models_dir), kernels_dir, Path(work))
        for build, (compiler, objdump, cflags) in BUILDS.items():
            if shutil.which(compiler) is None:
                print(f"{build} skipped: {compiler} not found")
                continue
            for name, source in sources:
                print(f"{build} {name} {object_digest(source, compiler, objdump, cflags, Path(work))}", flush=True)


if __name__ == "__main__":
    app.run(main)
