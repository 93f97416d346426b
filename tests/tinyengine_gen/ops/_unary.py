"""Shared checks of int8 element-wise unary operators (HARD_SWISH, RELU, TANH, ...).

Each operator is converted from a ``tf.function`` with an asymmetric representative range
(so the input zero point is not 0), compiled, and compared with TFLite Micro on one input
holding every int8 value and on random inputs: the table the kernel reads is then checked
on all 256 bytes, and the numpy twin of TFLM's arithmetic on the first inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.harness import compile_and_compare
from tests.tinyengine_gen.ops._quant_models import convert_fn
from tinyengine_gen.reader import read_model_bytes

__all__ = ["every_byte_and_random", "opcodes", "unary_model"]


def unary_model(fn: Callable, shape: tuple[int, ...] = (16, 16), low: float = -4.0, high: float = 6.0) -> bytes:
    return convert_fn(fn, shape, low=low, high=high)


def opcodes(model: bytes) -> list[str]:
    return [op.opcode for op in read_model_bytes(model).operators]


def every_byte_and_random(model: bytes, tmp_path, trials: int = 10, seed: int = 0):
    """Compare with TFLM on ``trials`` inputs: the first has every int8 value (shuffled), the rest are random."""
    shape = tuple(read_model_bytes(model).tensor(read_model_bytes(model).inputs[0]).shape)
    size = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    every = np.resize(rng.permutation(np.arange(-128, 128, dtype=np.int8)), size).reshape(shape)
    cases = [[every]] + [[rng.integers(-128, 128, size=shape, dtype=np.int8)] for _ in range(trials - 1)]
    if size < 256:
        raise ValueError("use at least 256 elements so that one input holds every int8 value")
    return compile_and_compare(model, tmp_path, inputs=cases, reference_trials=3)
