"""Locate the third-party models and samples in ../shared (beside the project), or skip.

They are read in place and never copied into the project. On a user's machine the folder
is usually absent, and the tests that need it skip with a message that says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
SHARED_MODELS = SHARED / "models"
SHARED_DATA = SHARED / "data"
SHARED_TFLM_TREE = SHARED / "third_party" / "tflm"
MODEL_NAMES = (
    "mcunet_vww.tflite",
    "mlperf_vww_96_int8.tflite",
    "mlperf_kws_ref_int8.tflite",
    "mlperf_resnet8_int8.tflite",
    "mbv2_224_int8.tflite",
)

__all__ = [
    "SHARED_MODELS",
    "SHARED_DATA",
    "SHARED_TFLM_TREE",
    "MODEL_NAMES",
    "shared_model",
    "shared_sample",
    "shared_tflm_tree",
    "read_bmp_gray",
]


def shared_model(name: str) -> Path:
    path = SHARED_MODELS / name
    if not path.is_file():
        pytest.skip(f"{path} not found: the shared reference models live in ../shared/models beside the project")
    return path


def shared_tflm_tree() -> Path:
    """TFLM's generated source trees (reference/ and cmsis_nn/), or skip."""
    if not (SHARED_TFLM_TREE / "reference").is_dir() or not (SHARED_TFLM_TREE / "cmsis_nn").is_dir():
        pytest.skip(
            f"{SHARED_TFLM_TREE} not found: TFLM's generated source trees live in ../shared/third_party/tflm "
            "beside the project (or generate them with create_tflm_tree.py, see README)"
        )
    return SHARED_TFLM_TREE


def shared_sample(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not found: the shared samples live in ../shared/data beside the project")
    return path


def read_bmp_gray(path: Path) -> np.ndarray:
    """Decode an uncompressed 8-bit palette BMP (the TFLM person-detection samples) to grey uint8 [H, W]."""
    data = path.read_bytes()
    if data[:2] != b"BM":
        raise ValueError(f"{path}: not a BMP file")
    pixel_offset = int.from_bytes(data[10:14], "little")
    header_size = int.from_bytes(data[14:18], "little")
    width = int.from_bytes(data[18:22], "little", signed=True)
    height = int.from_bytes(data[22:26], "little", signed=True)
    bits = int.from_bytes(data[28:30], "little")
    if bits != 8 or int.from_bytes(data[30:34], "little") != 0:
        raise ValueError(f"{path}: only uncompressed 8-bit BMPs are supported")
    colours = int.from_bytes(data[46:50], "little") or 256
    palette = np.frombuffer(data, np.uint8, colours * 4, 14 + header_size).reshape(colours, 4)
    grey = palette[:, :3].mean(axis=1).round().astype(np.uint8)  # palette is B, G, R, 0
    stride = (width + 3) // 4 * 4
    rows = np.frombuffer(data, np.uint8, stride * abs(height), pixel_offset).reshape(abs(height), stride)[:, :width]
    image = grey[rows]
    return image[::-1] if height > 0 else image
