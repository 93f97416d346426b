"""Kernel object sizes as a board's firmware build compiles them, for the firmware cost model.

Two facts about the firmware build make a kernel's Flash depend on more than its file:

- some DSP kernels are compiled at their own optimisation level
  (``tinyengine_gen.firmware.toolchain.SIZE_OPTIMISED_DSP_KERNELS``);
- the GEMM kernels include the project's ``te_gemm_config.h``, which the compiler writes
  from the planned layers (``tinyengine_gen.codegen.kernel_config``): only the tile copies,
  constant depths and shallow tile the model's layers reach are compiled.

So each ``.c`` file is compiled once with the package's config (every variant: the most it
can take) and, where its object depends on the config, once more per config *feature*: a
base with none of them, then each feature alone on top of the base, on the fast-only base
and on the base with the ``_any`` copies (which copy every feature's code). A candidate's
GEMM objects are priced as its base + the features its config has (at most the full object);
features that share code are counted apart, which errs above the ELF, never below.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from tinyengine_gen.codegen.kernel_config import CONFIG_HEADER, CONSTANT_GROUPS, GemmConfig, emit_gemm_config

__all__ = ["BASE", "FEATURE_PADDING_BYTES", "feature_keys", "gemm_config_bytes", "gemm_object_bytes", "kernel_object_bytes", "object_bytes"]

_ALLOCATED = (".text", ".rodata", ".data")
#: the config with no feature: every GEMM layer fast, no constant depth, no shallow tile
_BASE_CONFIG = GemmConfig(fast_only=True, constant_groups=(), tiles_constant_groups=(), shallow_tile=False)
#: the key of the base object's bytes in a file's feature sizes
BASE = "base"


def _features() -> dict[str, GemmConfig]:
    """Each feature's config: a base (fast-only, or with the ``_any`` copies) with that one
    feature on. The ``_any`` copies double what the other features compile, so each
    feature is measured on both bases."""
    features = {"any": GemmConfig(False, (), (), False)}
    for fast, prefix in ((True, ""), (False, "any+")):
        features[f"{prefix}shallow_tile"] = GemmConfig(fast, (), (), True)
        for group in CONSTANT_GROUPS:
            features[f"{prefix}group:{group}"] = GemmConfig(fast, (group,), (), False)
            features[f"{prefix}tiles:{group}"] = GemmConfig(fast, (), (group,), False)
    return features


def feature_keys(config: GemmConfig) -> list[str]:
    """The features ``config`` has (keys of :func:`gemm_config_bytes`' per-file sizes)."""
    prefix = "" if config.fast_only else "any+"
    keys = [] if config.fast_only else ["any"]
    keys += [f"{prefix}group:{g}" for g in config.constant_groups]
    keys += [f"{prefix}tiles:{g}" for g in config.tiles_constant_groups]
    return keys + ([f"{prefix}shallow_tile"] if config.shallow_tile else [])


#: padding a feature's functions may add where they join others (each starts aligned)
FEATURE_PADDING_BYTES = 8


def gemm_object_bytes(sizes: Mapping[str, int], full: int, config: GemmConfig) -> int:
    """One GEMM object under ``config``: its base plus each feature's bytes and padding, at
    most ``full``."""
    keys = feature_keys(config)
    return min(full, sizes[BASE] + sum(sizes.get(key, 0) for key in keys) + FEATURE_PADDING_BYTES * len(keys))


def object_bytes(obj: Path) -> int:
    """Allocated bytes of an object file (.text*, .rodata*, .data* sections)."""
    from tinyengine_gen.firmware.toolchain import tool

    text = subprocess.run([tool("size"), "-A", str(obj)], capture_output=True, text=True, check=True).stdout
    total = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[0].startswith(_ALLOCATED):
            total += int(parts[1])
    return total


def _package_kernels() -> Path:
    return Path(str(resources.files("tinyengine_gen").joinpath("kernels")))


def _flags(board: str, kernels: str) -> tuple[str, ...]:
    from tinyengine_gen.firmware.boards import board_profile
    from tinyengine_gen.firmware.toolchain import COMPILE_FLAGS, KERNEL_DEFINES

    return (*COMPILE_FLAGS, *board_profile(board).arch_flags, *KERNEL_DEFINES[kernels])


def _level(source: str, kernels: str) -> tuple[str, ...]:
    """The file's own optimisation level in DSP builds (after the flags: the last -O wins)."""
    from tinyengine_gen.firmware.toolchain import SIZE_OPTIMISED_DSP_KERNELS

    level = SIZE_OPTIMISED_DSP_KERNELS.get(source) if kernels == "simd" else None
    return (level,) if level else ()


def _compile_all(kernel_dir: Path, sources: Iterable[str], flags: tuple[str, ...], kernels: str) -> dict[str, int]:
    """Each of ``sources`` (in ``kernel_dir``) compiled as the firmware build does: name -> bytes."""
    from tinyengine_gen.firmware.toolchain import tool

    def size(source: str) -> int:
        obj = kernel_dir / "obj" / Path(source).with_suffix(".o").name
        command = [tool("gcc"), *flags, *_level(source, kernels), f"-I{kernel_dir}", "-c", source, "-o", str(obj)]
        subprocess.run(command, cwd=kernel_dir, check=True, capture_output=True)
        return object_bytes(obj)

    (kernel_dir / "obj").mkdir(exist_ok=True)
    names = sorted(sources)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(names, pool.map(size, names)))


def kernel_object_bytes(board: str, kernels: str = "simd") -> dict[str, int]:
    """Every kernel source file compiled with the firmware's flags for ``board`` and the
    package's GEMM config (every variant): name -> bytes."""
    kernel_dir = _package_kernels()
    with tempfile.TemporaryDirectory(prefix="mcunet-kernels-") as scratch:
        copy = Path(scratch) / "kernels"
        shutil.copytree(kernel_dir, copy)
        return _compile_all(copy, [p.name for p in kernel_dir.glob("*.c")], _flags(board, kernels), kernels)


def gemm_config_bytes(board: str, full: Mapping[str, int], kernels: str = "simd") -> dict[str, dict[str, int]]:
    """Per kernel file whose object depends on ``te_gemm_config.h``: the bytes of its base
    object and what each feature adds to it (``full``: the sizes with every variant)."""
    kernel_dir = _package_kernels()
    flags = _flags(board, kernels)
    with tempfile.TemporaryDirectory(prefix="mcunet-gemm-config-") as scratch:

        def sizes_under(name: str, config: GemmConfig, sources: Iterable[str]) -> dict[str, int]:
            copy = Path(scratch) / name.replace(":", "_")
            shutil.copytree(kernel_dir, copy)
            (copy / CONFIG_HEADER).write_text(emit_gemm_config(config), encoding="utf-8")
            return _compile_all(copy, sources, flags, kernels)

        base = sizes_under(BASE, _BASE_CONFIG, full)
        dependent = sorted(name for name in full if base[name] != full[name])
        result = {name: {BASE: base[name]} for name in dependent}
        features = {key: sizes_under(key, config, dependent) for key, config in _features().items()}
        for name in dependent:
            with_any = features["any"][name]
            for key, sizes in features.items():
                under = base[name] if key == "any" or not key.startswith("any+") else with_any
                if sizes[name] > under:
                    result[name][key] = sizes[name] - under
        return result
