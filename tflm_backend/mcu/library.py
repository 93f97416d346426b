"""TFLM built once into ``libtflm.a`` per (flavour, flags, compiler, tree content), then reused.

The library is a few hundred files: building it for every comparison would cost minutes.
It is compiled into a cache folder keyed by a hash of everything that changes its bytes,
``$MCUNET_TF_CACHE`` or ``$XDG_CACHE_HOME/mcunet-tf`` or ``~/.cache/mcunet-tf``, then
``tflm/<flavour>-<key>/libtflm.a``. A build goes to a staging folder beside it and is
renamed into place when complete, so a run that is interrupted leaves nothing half-built,
and two runs racing each build and one rename wins (the other's identical result is
dropped). Objects are archived with ``arm-none-eabi-ar``, so the firmware link pulls only
the objects the model's operators need.

Flags: the board's -mcpu/-mfpu/-mfloat-abi and our firmware's optimisation level, plus the
defines the generated trees need (TF_LITE_STATIC_MEMORY, PROJECT_GENERATION,
KERNELS_OPTIMIZED_FOR_SPEED, CMSIS-NN's own) and -DNDEBUG: TFLM's release build
(``BUILD_TYPE=release_with_logs``), the one a user ships.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tflm_backend.mcu.tree import FLAVOURS, TflmTree
from tinyengine_gen.errors import BuildError
from tinyengine_gen.firmware.boards import BoardProfile
from tinyengine_gen.firmware.toolchain import tool

__all__ = ["OPT_LEVEL", "CXX_FLAGS", "C_FLAGS", "TflmLibrary", "cache_root", "compile_flags", "build_library"]

#: the optimisation level of our firmware (tinyengine_gen.firmware.toolchain.COMPILE_FLAGS)
OPT_LEVEL = "-O3"
_COMMON = (
    OPT_LEVEL,
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-fomit-frame-pointer",
    "-funsigned-char",
    "-fmessage-length=0",
)
CXX_FLAGS = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics", "-fno-use-cxa-atexit")
C_FLAGS = ("-std=c17",)
_LIBRARY = "libtflm.a"
_MANIFEST = "build.json"


@dataclasses.dataclass(frozen=True)
class TflmLibrary:
    flavour: str
    archive: Path
    flags: tuple[str, ...]  # common to C and C++ (arch, optimisation, defines)
    include_dirs: tuple[Path, ...]  # absolute
    build_s: float  # seconds the build took; 0.0 when it came from the cache
    objects: int


def cache_root() -> Path:
    explicit = os.environ.get("MCUNET_TF_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mcunet-tf"


def compile_flags(flavour: str, board: BoardProfile) -> tuple[str, ...]:
    return (*board.arch_flags, *_COMMON, *FLAVOURS[flavour].defines)


def _compiler_version() -> str:
    result = subprocess.run([tool("g++"), "--version"], capture_output=True, text=True)
    return result.stdout.splitlines()[0] if result.returncode == 0 and result.stdout else "?"


def _compile(command: list[str], cwd: Path) -> str | None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        return (result.stderr.strip() or result.stdout.strip())[-2000:]
    return None


def build_library(tree: TflmTree, flavour: str, board: BoardProfile, jobs: int = 2) -> TflmLibrary:
    """The cached ``libtflm.a`` for this flavour and board flags, built first if absent."""
    base = tree.flavour_dir(flavour)
    flags = compile_flags(flavour, board)
    includes = tuple(base / d for d in FLAVOURS[flavour].include_dirs)
    identity = json.dumps(
        {"flavour": flavour, "source_dirs": FLAVOURS[flavour].source_dirs, "flags": flags, "cxx": CXX_FLAGS, "c": C_FLAGS, "compiler": _compiler_version(),
         "tree": tree.content_hash(flavour)},
        sort_keys=True,
    )
    key = hashlib.sha256(identity.encode()).hexdigest()[:20]
    final = cache_root() / "tflm" / f"{flavour}-{key}"
    if (final / _LIBRARY).is_file():
        objects = json.loads((final / _MANIFEST).read_text()).get("objects", 0)
        return TflmLibrary(flavour, final / _LIBRARY, flags, includes, 0.0, objects)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    start = time.monotonic()
    try:
        sources = tree.sources(flavour)
        include_flags = [f"-I{d}" for d in includes]
        commands = []
        for index, source in enumerate(sources):
            cxx = source.endswith(".cc")
            obj = staging / "obj" / f"{index:04d}_{Path(source).stem}.o"
            commands.append(
                ["nice", "-n", "10", tool("g++" if cxx else "gcc"), *(CXX_FLAGS if cxx else C_FLAGS), *flags,
                 *include_flags, "-c", source, "-o", str(obj)]
            )
        (staging / "obj").mkdir()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for source, error in zip(sources, pool.map(lambda c: _compile(c, base), commands)):
                if error is not None:
                    raise BuildError(f"TFLM {flavour}: {base / source} does not compile: {error.splitlines()[0]}")
        objects = sorted(str(p) for p in (staging / "obj").glob("*.o"))
        archive = subprocess.run([tool("ar"), "rcs", str(staging / _LIBRARY), *objects], capture_output=True, text=True)
        if archive.returncode != 0:
            raise BuildError(f"arm-none-eabi-ar failed for TFLM {flavour}: {archive.stderr.strip()}")
        shutil.rmtree(staging / "obj")
        build_s = time.monotonic() - start
        manifest = {"identity": json.loads(identity), "objects": len(objects), "build_s": round(build_s, 1),
                    "tree_dir": str(base)}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        try:
            os.rename(staging, final)
        except OSError:
            if not (final / _LIBRARY).is_file():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TflmLibrary(flavour, final / _LIBRARY, flags, includes, build_s, len(objects))
