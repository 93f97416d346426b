"""Where the stock TFLM source trees come from, and what identifies their content.

A TFLM tree folder holds ``reference/`` and ``cmsis_nn/``, each the unmodified output of
TFLM's own project generator for Cortex-M (``create_tflm_tree.py``). It is found from
``--tflm_tree=DIR``, else the environment variable ``TFLM_TREE``; without either (or with a
folder that lacks the two flavours) the error says how to generate them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from tinyengine_gen.errors import BuildError

__all__ = ["FLAVOURS", "GENERATE_COMMAND", "KERNEL_FILES", "TflmFlavour", "TflmTree", "find_tflm_tree"]

_KERNELS_DIR = "tensorflow/lite/micro/kernels/"
#: builtin operator -> the stem of its kernel's files in tensorflow/lite/micro/kernels/
#: (``<stem>.cc``, ``<stem>_common.cc`` and, for CMSIS-NN, ``cmsis_nn/<stem>.cc``): for a
#: library of only the operators a model needs (a test's cheap build)
KERNEL_FILES: dict[str, str] = {
    "ADD": "add",
    "AVERAGE_POOL_2D": "pooling",
    "CONCATENATION": "concatenation",
    "CONV_2D": "conv",
    "DEPTHWISE_CONV_2D": "depthwise_conv",
    "DEQUANTIZE": "dequantize",
    "EXPAND_DIMS": "expand_dims",
    "FULLY_CONNECTED": "fully_connected",
    "HARD_SWISH": "hard_swish",
    "LOGISTIC": "logistic",
    "MAX_POOL_2D": "pooling",
    "MEAN": "reduce",
    "MUL": "mul",
    "PAD": "pad",
    "PADV2": "pad",
    "QUANTIZE": "quantize",
    "RELU": "activations",
    "RELU6": "activations",
    "RESHAPE": "reshape",
    "RESIZE_NEAREST_NEIGHBOR": "resize_nearest_neighbor",
    "SOFTMAX": "softmax",
    "SQUEEZE": "squeeze",
    "TRANSPOSE": "transpose",
}
#: kernel helpers every operator's kernel may call
_KERNEL_HELPERS = ("kernel_util", "micro_tensor_utils")

#: How a user with network generates a flavour's tree, from a tflite-micro checkout
#: (OPTIMIZED_KERNEL_DIR=cmsis_nn for ``cmsis_nn/``; drop it for ``reference/``).
GENERATE_COMMAND = (
    "python3 tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py "
    '--makefile_options="TARGET=cortex_m_generic TARGET_ARCH=cortex-m7 OPTIMIZED_KERNEL_DIR=cmsis_nn" DIR/cmsis_nn'
)
_HOW = (
    "generate them from a tflite-micro checkout with "
    f"'{GENERATE_COMMAND}' (and the same without OPTIMIZED_KERNEL_DIR=cmsis_nn into DIR/reference), "
    "then pass --tflm_tree=DIR or set TFLM_TREE=DIR"
)


@dataclasses.dataclass(frozen=True)
class TflmFlavour:
    """One kind of TFLM build: its folder in the tree, its defines, what it compiles."""

    name: str  # "reference" or "cmsis_nn"
    defines: tuple[str, ...]
    include_dirs: tuple[str, ...]
    #: source folders (relative to the flavour's folder) whose *.cc / *.c make the library.
    #: ``signal/`` (TFLM's audio front-end operators, 41 files) is left out: no model here
    #: uses those operators and the op resolver has no entry for them, so no firmware would
    #: link a byte of it, and it is a fifth of the build time.
    source_dirs: tuple[str, ...]


_COMMON_DEFINES = (
    "-DTF_LITE_STATIC_MEMORY",
    "-DTF_LITE_MCU_DEBUG_LOG",
    "-DPROJECT_GENERATION",
    "-DKERNELS_OPTIMIZED_FOR_SPEED",
    "-DNDEBUG",  # TFLM's release build (BUILD_TYPE=release_with_logs): no TFLITE_DCHECKs
)
_COMMON_INCLUDES = (
    ".",
    "third_party/gemmlowp",
    "third_party/flatbuffers/include",
    "third_party/kissfft",
    "third_party/kissfft/tools",
    "third_party/ruy",
)

FLAVOURS: dict[str, TflmFlavour] = {
    flavour.name: flavour
    for flavour in (
        TflmFlavour("reference", _COMMON_DEFINES, _COMMON_INCLUDES, ("tensorflow",)),
        TflmFlavour(
            "cmsis_nn",
            (*_COMMON_DEFINES, "-DCMSIS_NN", "-DARM_NN_ENABLE_F16=0", "-DARM_NN_ENABLE_F32=0"),
            (
                *_COMMON_INCLUDES,
                "third_party/cmsis",
                "third_party/cmsis_nn",
                "third_party/cmsis_nn/Include",
                "third_party/cmsis/CMSIS/Core/Include",
            ),
            ("tensorflow", "third_party/cmsis_nn/Source"),
        ),
    )
}


@dataclasses.dataclass(frozen=True)
class TflmTree:
    """A folder with ``reference/`` and ``cmsis_nn/``."""

    root: Path

    def flavour_dir(self, flavour: str) -> Path:
        return self.root / FLAVOURS[flavour].name

    def sources(self, flavour: str, operators: Sequence[str] | None = None) -> list[str]:
        """The library's sources, relative to the flavour folder, sorted (kissfft's *.c are
        #included by signal/, never compiled alone: they are outside the source folders).

        With ``operators``, only the framework, those operators' kernels and (CMSIS-NN)
        Arm's C sources: the firmware links the same objects as from the whole library."""
        base = self.flavour_dir(flavour)
        found = []
        for folder in FLAVOURS[flavour].source_dirs:
            for path in (base / folder).rglob("*"):
                if path.suffix in (".cc", ".c") and path.is_file():
                    found.append(path.relative_to(base).as_posix())
        if operators is not None:
            unknown = sorted(set(operators) - set(KERNEL_FILES))
            if unknown:
                raise BuildError(f"no TFLM kernel file known for {', '.join(unknown)}: build the whole library")
            stems = {KERNEL_FILES[op] for op in operators} | set(_KERNEL_HELPERS)
            wanted = {f"{_KERNELS_DIR}{s}{suffix}.cc" for s in stems for suffix in ("", "_common")}
            wanted |= {f"{_KERNELS_DIR}cmsis_nn/{s}.cc" for s in stems}
            found = [
                f
                for f in found
                if f in wanted or not f.startswith(_KERNELS_DIR)
            ]
        return sorted(found)

    def content_hash(self, flavour: str) -> str:
        """sha256 over every file's path and bytes: a changed tree never reuses a library."""
        base = self.flavour_dir(flavour)
        digest = hashlib.sha256()
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            digest.update(path.relative_to(base).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


def find_tflm_tree(path: str | os.PathLike[str] | None = None) -> TflmTree:
    """``path``, else ``$TFLM_TREE``; a BuildError saying how to generate the trees otherwise."""
    chosen = path or os.environ.get("TFLM_TREE")
    if not chosen:
        raise BuildError(f"no TFLM source tree given: {_HOW}")
    root = Path(chosen).expanduser().resolve()
    missing = [f for f in FLAVOURS if not (root / f / "tensorflow" / "lite" / "micro").is_dir()]
    if missing:
        raise BuildError(f"{root} has no TFLM tree in {', '.join(f + '/' for f in missing)}: {_HOW}")
    return TflmTree(root)
