"""TFLM built once into ``libtflm.a`` per (flavour, flags, compiler, tree content), then reused.

The library is a few hundred files: building it for every comparison would cost minutes.
It is compiled into a cache folder keyed by a hash of everything that changes its bytes,
``$MCUNET_TF_CACHE`` or ``$XDG_CACHE_HOME/mcunet-tf`` or ``~/.cache/mcunet-tf``: objects
one by one in ``tflm/objects/<flavour>-<key>/`` (each compiled to a temporary name and
renamed, so an interrupted build keeps what it finished and two racing runs both end with
whole objects), then the archive in ``tflm/<flavour>-<key>/libtflm.a`` (assembled in a
staging folder renamed into place; a lost race drops an identical result). Objects are
archived with ``arm-none-eabi-ar``, so the firmware link pulls only the objects the
model's operators need.

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
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tflm_backend.mcu.tree import FLAVOURS, TflmTree
from tinyengine_gen.errors import BuildError
from tinyengine_gen.firmware.boards import BoardProfile
from tinyengine_gen.firmware.toolchain import tool

__all__ = [
    "OPT_LEVEL",
    "CXX_FLAGS",
    "C_FLAGS",
    "TflmLibrary",
    "cache_root",
    "compile_flags",
    "cxx_toolchain_available",
    "build_library",
]

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


def cxx_toolchain_available() -> bool:
    """arm-none-eabi-g++ with its C++ standard headers (Debian: libstdc++-arm-none-eabi-newlib)."""
    if shutil.which("arm-none-eabi-g++") is None:
        return False
    result = subprocess.run(
        ["arm-none-eabi-g++", "-std=c++17", "-mcpu=cortex-m7", "-mthumb", "-fsyntax-only", "-x", "c++", "-"],
        input="#include <cstdint>\n#include <cstring>\n", capture_output=True, text=True,
    )
    return result.returncode == 0


def _compile(command: list[str], cwd: Path) -> str | None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        return (result.stderr.strip() or result.stdout.strip())[-2000:]
    return None


def _object_name(source: str) -> str:
    return source.replace("/", "__") + ".o"


def _compile_into_cache(command: list[str], cwd: Path, target: Path) -> str | None:
    """Compile to a temporary name beside ``target``, then rename: a reader never sees a
    half-written object, and two racing runs both end with a whole one."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".o", dir=target.parent)
    os.close(handle)
    try:
        error = _compile([*command, "-o", temporary], cwd)
        if error is None:
            os.replace(temporary, target)
        return error
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _claim(target: Path) -> bool:
    """Claim ``target``'s compilation for this process (a ``.lock`` file holding our pid);
    False while a live process holds it. A lock left by a dead process is taken over."""
    lock = target.with_name(target.name + ".lock")
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(lock.read_text() or "0")
                os.kill(owner, 0)
                return False  # alive: someone else is compiling it
            except (ValueError, ProcessLookupError, FileNotFoundError):
                lock.unlink(missing_ok=True)  # stale: its process is gone
                continue
            except PermissionError:
                return False
        with os.fdopen(handle, "w") as file:
            file.write(str(os.getpid()))
        return True
    return False


def _release(target: Path) -> None:
    target.with_name(target.name + ".lock").unlink(missing_ok=True)


def _wait_for(targets: list[Path], timeout_s: float = 3600.0) -> list[Path]:
    """Objects another process was compiling: wait until each exists or its lock is gone;
    return those that are still missing (their compiler failed or died)."""
    deadline = time.monotonic() + timeout_s
    pending = list(targets)
    while pending and time.monotonic() < deadline:
        pending = [t for t in pending if not t.is_file() and t.with_name(t.name + ".lock").exists()]
        if pending:
            time.sleep(1.0)
    return [t for t in targets if not t.is_file()]


def build_library(
    tree: TflmTree, flavour: str, board: BoardProfile, jobs: int = 2, operators: Sequence[str] | None = None
) -> TflmLibrary:
    """The cached ``libtflm.a`` for this flavour and board flags, built first if absent.

    Objects are cached one by one under ``objects/<flavour>-<key>/`` (key: flags, compiler,
    the whole tree's content), so a library of a subset of the sources (``operators``: the
    framework and only those operators' kernels, a quick test build) and the whole library
    share them; each archive is then ``<flavour>-<key>/libtflm.a``."""
    if not cxx_toolchain_available():
        raise BuildError(
            "arm-none-eabi-g++ with the C++ standard headers not found; install it "
            "(Debian: apt-get install gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib)"
        )
    base = tree.flavour_dir(flavour)
    flags = compile_flags(flavour, board)
    includes = tuple(base / d for d in FLAVOURS[flavour].include_dirs)
    objects_identity = json.dumps(
        {"flavour": flavour, "flags": flags, "cxx": CXX_FLAGS, "c": C_FLAGS, "compiler": _compiler_version(),
         "tree": tree.content_hash(flavour)},
        sort_keys=True,
    )
    objects_key = hashlib.sha256(objects_identity.encode()).hexdigest()[:20]
    sources = tree.sources(flavour, operators)
    selection = "all" if operators is None else ",".join(sorted(set(operators)))
    key = hashlib.sha256(f"{objects_key}|{selection}|{chr(10).join(sources)}".encode()).hexdigest()[:20]
    final = cache_root() / "tflm" / f"{flavour}-{key}"
    if (final / _LIBRARY).is_file():
        objects = json.loads((final / _MANIFEST).read_text()).get("objects", 0)
        return TflmLibrary(flavour, final / _LIBRARY, flags, includes, 0.0, objects)
    object_dir = cache_root() / "tflm" / "objects" / f"{flavour}-{objects_key}"
    object_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    cpu_start = resource.getrusage(resource.RUSAGE_CHILDREN)
    include_flags = [f"-I{d}" for d in includes]
    missing = [s for s in sources if not (object_dir / _object_name(s)).is_file()]
    compiled = len(missing)  # by this run or, concurrently, by another

    def compile_one(source: str) -> str | None:
        target = object_dir / _object_name(source)
        if target.is_file() or not _claim(target):
            return None  # done meanwhile, or another run is compiling it: waited for below
        try:
            cxx = source.endswith(".cc")
            command = ["nice", "-n", "10", tool("g++" if cxx else "gcc"), *(CXX_FLAGS if cxx else C_FLAGS), *flags,
                       *include_flags, "-c", source]
            return _compile_into_cache(command, base, target)
        finally:
            _release(target)

    for _attempt in range(2):
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for source, error in zip(missing, pool.map(compile_one, missing)):
                if error is not None:
                    raise BuildError(f"TFLM {flavour}: {base / source} does not compile: {error.splitlines()[0]}")
        still = _wait_for([object_dir / _object_name(s) for s in missing])
        missing = [s for s in missing if object_dir / _object_name(s) in still]
        if not missing:
            break
    if missing:
        raise BuildError(f"TFLM {flavour}: {base / missing[0]} was not compiled (another run failed on it?)")
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        objects = [str(object_dir / _object_name(s)) for s in sources]
        archive = subprocess.run([tool("ar"), "rcs", str(staging / _LIBRARY), *objects], capture_output=True, text=True)
        if archive.returncode != 0:
            raise BuildError(f"arm-none-eabi-ar failed for TFLM {flavour}: {archive.stderr.strip()}")
        build_s = time.monotonic() - start
        cpu_end = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (cpu_end.ru_utime - cpu_start.ru_utime) + (cpu_end.ru_stime - cpu_start.ru_stime)
        manifest = {"identity": json.loads(objects_identity), "selection": selection, "objects": len(objects),
                    "compiled": compiled, "build_s": round(build_s, 1),
                    "compile_cpu_s": round(cpu_s, 1), "tree_dir": str(base)}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        try:
            os.rename(staging, final)
        except OSError:
            if not (final / _LIBRARY).is_file():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TflmLibrary(flavour, final / _LIBRARY, flags, includes, build_s, len(objects))
