"""Optional plan features are declared (ops/features.py), and kernels are objects whose files exist.

Readers find a feature by ``isinstance`` alone, so a plan class that carries a feature's
attribute without declaring the feature would be silently skipped (its packed weights or
fused operators missing from report.json, its patch stage priced as one op). These tests
walk every plan class and every declared kernel; they need no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import tinyengine_gen
import tinyengine_gen.ops
from tinyengine_gen.ops import binary, conv2d, features, transpose
from tinyengine_gen.ops.kernel import Kernel
from tinyengine_gen.passes import fusion
from tinyengine_gen.patching import stage

#: each feature, and the attribute a plan class has exactly when it declares it
FEATURES = {
    features.PackedWeightPlan: "weight_bits",
    features.FusedOperators: "fused_op_indices",
    features.LayerGroup: "layer_wise_macs",
    features.KernelVariant: "kernel",
}
KERNEL_DIR = Path(tinyengine_gen.__file__).parent / "kernels"


def _plan_classes() -> list[type]:
    modules = [importlib.import_module(f"tinyengine_gen.ops.{m.name}") for m in pkgutil.iter_modules(tinyengine_gen.ops.__path__)]
    classes = {
        cls
        for module in (*modules, fusion, stage)
        for name, cls in vars(module).items()
        if inspect.isclass(cls) and name.endswith("Plan") and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
    }
    return sorted(classes, key=lambda cls: (cls.__module__, cls.__name__))


def _has(cls: type, attribute: str) -> bool:
    return attribute in {f.name for f in dataclasses.fields(cls)} or hasattr(cls, attribute)


@pytest.mark.parametrize("feature,attribute", FEATURES.items(), ids=lambda x: getattr(x, "__name__", x))
def test_a_plan_class_has_a_features_attribute_exactly_when_it_declares_the_feature(feature, attribute):
    classes = _plan_classes()
    assert len(classes) > 40
    # broadcast binary plans name their kernel too (a class-level BroadcastKernel) but are priced
    # by their first kernel file, as the calibration data has them
    exempt = binary.BroadcastBinaryPlan if feature is features.KernelVariant else ()
    undeclared = [
        cls.__name__ for cls in classes if _has(cls, attribute) and not issubclass(cls, (feature, exempt))
    ]
    assert undeclared == []
    assert any(issubclass(cls, feature) for cls in classes)


def _declared_kernels() -> list[Kernel]:
    found = [*conv2d.KERNELS, *conv2d.IN_PLACE_KERNELS.values(), *transpose.TRANSPOSE_KERNELS.values()]
    found += [fusion.CONV2D_ADD_S8, fusion.CONV2D_INT4_ADD_S8]
    found += [cls.kernel for cls in _plan_classes() if issubclass(cls, binary.BroadcastBinaryPlan) and "kernel" in vars(cls)]
    return found


def test_every_declared_kernel_names_files_that_exist_and_one_c_file_at_most():
    kernels = _declared_kernels()
    assert len(kernels) >= 19
    for kernel in kernels:
        missing = [name for name in kernel.sources if not (KERNEL_DIR / name).is_file()]
        assert missing == [], kernel.name
        assert len(kernel.c_files) <= 1, kernel.name
        assert kernel.name.startswith("te_"), kernel.name


def test_kernels_are_compared_and_hashed_by_value():
    twin = Kernel(conv2d.CONV2D_1X1_S8.name, conv2d.CONV2D_1X1_S8.sources)
    assert twin == conv2d.CONV2D_1X1_S8 and twin in conv2d.IN_PLACE_KERNELS
    assert conv2d.CONV2D_1X1_S8 != conv2d.CONV2D_1X1_SHALLOW_S8
