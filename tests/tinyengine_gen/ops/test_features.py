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
from tinyengine_gen.ir import DType
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
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
    """Every Kernel an operator module (or the fusion pass) declares: at module level, in a
    module-level table, or as a broadcast plan's class attribute."""
    modules = [*{importlib.import_module(cls.__module__) for cls in _plan_classes()}]
    values = [value for module in modules for value in vars(module).values()]
    values += [item for value in values if isinstance(value, dict | tuple) for item in (value.values() if isinstance(value, dict) else value)]
    found = {value for value in values if isinstance(value, Kernel)}
    found |= {cls.kernel for cls in _plan_classes() if issubclass(cls, binary.BroadcastBinaryPlan) and "kernel" in vars(cls)}
    return sorted(found, key=lambda kernel: kernel.name)


def test_every_declared_kernel_names_files_that_exist_and_one_c_file_of_its_own_at_most():
    """A kernel compiles one ``.c`` file of its own; any other it lists is the whole of
    another declared kernel's code that it calls (the deep kernels share the 1x1 kernel's
    tile), so the code-size model, which prices the set of files, counts shared code once."""
    kernels = _declared_kernels()
    assert len(kernels) >= 45
    assert {conv2d.CONV2D_1X1_S8, transpose.TRANSPOSE_KERNELS[DType.INT8], fusion.CONV2D_ADD_S8} <= set(kernels)
    single_file_kernels = {kernel.c_files[0] for kernel in kernels if len(kernel.c_files) == 1}
    for kernel in kernels:
        missing = [name for name in kernel.sources if not (KERNEL_DIR / name).is_file()]
        assert missing == [], kernel.name
        own, *shared = kernel.c_files or ("",)
        assert set(shared) <= single_file_kernels - {own}, kernel.name
        assert kernel.name.startswith("te_"), kernel.name
    assert conv2d.IN_PLACE_KERNELS[conv2d.CONV2D_1X1_S8].c_files[1:] == conv2d.CONV2D_1X1_S8.c_files


def test_kernels_are_compared_and_hashed_by_value():
    twin = Kernel(conv2d.CONV2D_1X1_S8.name, conv2d.CONV2D_1X1_S8.sources)
    assert twin == conv2d.CONV2D_1X1_S8 and twin in conv2d.IN_PLACE_KERNELS
    assert conv2d.CONV2D_1X1_S8 != conv2d.CONV2D_1X1_SHALLOW_S8


#: the packed plans' shared base (each packed plan declares its own kernels)
STRING_SOURCES = {"_PackedPlan"}


def test_every_other_plan_class_derives_its_files_from_its_kernel_objects():
    derived = DeclaredKernels.__dict__["kernel_sources"]
    classes = [cls for cls in _plan_classes() if cls.__name__ not in STRING_SOURCES]
    assert len(classes) > 40
    listing_strings = [
        cls.__name__
        for cls in classes
        if not issubclass(cls, DeclaredKernels) or inspect.getattr_static(cls, "kernel_sources") is not derived
    ]
    assert listing_strings == []


def test_a_plan_declares_the_kernel_its_emitted_call_runs():
    """The kernel names are the C functions: a plan's files come with the function it calls."""
    from tinyengine_gen.ops.pooling import AVERAGE_POOL_KERNEL, MAX_POOL_KERNEL, PoolPlan

    plan = PoolPlan(0, (0,), (1,), True, (1, 4, 4, 8), (1, 2, 2, 8), (2, 2), (2, 2), (0, 0), -128, 127)
    for average, kernel in ((True, AVERAGE_POOL_KERNEL), (False, MAX_POOL_KERNEL)):
        twin = dataclasses.replace(plan, average=average)
        assert twin.kernels == (kernel,) and twin.kernel_sources == kernel.sources
        assert any(f"{kernel.name}(" in line for line in twin.emit(_NoConstants()))


class _NoConstants:
    def tensor(self, index: int) -> str:
        return f"t{index}"
