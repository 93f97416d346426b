"""Access to the TFLite flatbuffer schema classes.

We never hand-write a flatbuffer parser: the generated schema module ships with the
tflite-micro package (and with TensorFlow). The tflite-micro copy is preferred because
TFLite Micro is the runtime we are compared against, and it loads without importing
TensorFlow (which takes seconds).
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["schema", "BUILTIN_OPERATOR_NAMES", "TENSOR_TYPE_NAMES"]

_CANDIDATES = (
    "tflite_micro.tensorflow.lite.micro.python.schema_py_generated",
    "tensorflow.lite.python.schema_py_generated",
)


def _load_schema() -> ModuleType:
    errors = []
    for name in _CANDIDATES:
        try:
            return importlib.import_module(name)
        except ImportError as exc:  # pragma: no cover - depends on the install
            errors.append(f"{name}: {exc}")
    raise ImportError(  # pragma: no cover
        "No TFLite schema module found; install the 'tflite-micro' package. Tried: " + "; ".join(errors)
    )


schema = _load_schema()


def _enum_names(enum_class: type) -> dict[int, str]:
    return {value: key for key, value in vars(enum_class).items() if not key.startswith("_") and isinstance(value, int)}


BUILTIN_OPERATOR_NAMES: dict[int, str] = _enum_names(schema.BuiltinOperator)
TENSOR_TYPE_NAMES: dict[int, str] = _enum_names(schema.TensorType)
