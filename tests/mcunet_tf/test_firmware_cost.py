"""The firmware cost model: Flash, SRAM and instructions from one compiled plan, and its calibration fit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from mcunet_tf.calibrate import FLASH_SAFETY_BYTES, _nnls, fit_cost_model
from mcunet_tf.cost_model import CostModel
from mcunet_tf.firmware_cost import (
    ALIGNMENT,
    FirmwareCostModel,
    OpFirmware,
    calibration_path,
    firmware_cost_model,
    op_firmware,
)
from mcunet_tf.firmware_measure import Measurement, instrument_model_c
from mcunet_tf.sampling import sample_arch
from mcunet_tf.search.budget import Pricer, SearchBudget
from mcunet_tf.space import SearchSpace
from tinyengine_gen.firmware.toolchain import qemu_available, toolchain_available

SPACE = SearchSpace(num_classes=10)


def _config(seed: int = 0, width: float = 0.3, resolution: int = 96):
    return sample_arch(SPACE, np.random.default_rng(seed), width=width, resolution=resolution)


def _model(**overrides) -> FirmwareCostModel:
    values = dict(
        board="test",
        cflags=("-O3",),
        clock_hz=100e6,
        cycles_per_instruction=2.0,
        kernel_bytes=MappingProxyType({"a.c": 1000, "b.c": 300}),
        definition_bytes=MappingProxyType({"rows_3x3": 50, "rows_5x5": 40}),
        definition_site_bytes=MappingProxyType({"rows_3x3": 5, "rows_5x5": 4}),
        definition_single_bytes=MappingProxyType({"rows_5x5": 33}),
        default_definition_bytes=70,
        op_bytes=MappingProxyType({"P1": 10, "P2": 20}),
        default_op_bytes=30,
        runtime_bytes=5000,
        flash_margin_bytes=100,
        fixed_sram_bytes=2700,
        instruction_model=MappingProxyType({"P1:k": (1.0, 0.0, 0.0, 100.0), "P2:k": (0.0, 2.0, 0.0, 10.0)}),
        default_instruction_model=(3.0, 3.0, 0.0, 1000.0),
        invoke_instructions=-7.0,
    )
    values.update(overrides)
    return FirmwareCostModel(**values)


def _op(variant: str, constants: int = 16, kernels=("a.c",), definitions=(), features=(10.0, 4.0, 2.0, 1.0)):
    return OpFirmware(variant, constants, tuple(kernels), frozenset(definitions), features)


def test_flash_counts_kernels_once_specialisations_per_call_site_and_call_sites_per_operator():
    ops = [
        _op("P1:k", 32, definitions=("rows_3x3",)),
        _op("P1:k", 16, definitions=("rows_3x3",)),
        _op("P2:k", 48, ("a.c", "b.c"), ("rows_5x5",)),
        _op("P3:k", 0, (), ("rows_7x7",)),
    ]
    specialisations = (50 + 2 * 5) + 33 + 70  # two sites; one site (its whole); never calibrated
    expected = (32 + 16 + 48 + 0) + (1000 + 300) + specialisations + (10 + 10 + 20 + 30) + 5000 + 123 + 100
    assert _model().flash_bytes(ops, input_bytes=123) == expected
    assert _model().specialisation_bytes("rows_5x5", 3) == 40 + 3 * 4


def test_a_gemm_kernel_is_priced_as_the_project_config_compiles_it():
    """te_gemm_config.h decides which GEMM variants a project compiles: a fast-only project
    pays its base and the constant depths it lists; one with other layers the base with the
    ``_any`` copies and each feature on that base; without a config, the whole object."""
    from mcunet_tf.kernel_objects import FEATURE_PADDING_BYTES
    from tinyengine_gen.codegen.kernel_config import GemmConfig

    sizes = {"base": 100, "group:4": 7, "tiles:4": 5, "shallow_tile": 11, "any": 40, "any+group:4": 13, "any+shallow_tile": 19}
    model = _model(gemm_config_bytes=MappingProxyType({"a.c": sizes}))
    ops = [_op("P1:k", 0, ("a.c", "b.c"))]
    fixed = 300 + 10 + 5000 + 100  # b.c, the call site, the runtime, the margin
    fast = GemmConfig(fast_only=True, constant_groups=(4,), tiles_constant_groups=(4,), shallow_tile=False)
    pad = FEATURE_PADDING_BYTES
    assert model.flash_bytes(ops, 0, fast) == fixed + 100 + 7 + 5 + 2 * pad
    mixed = GemmConfig(fast_only=False, constant_groups=(4,), tiles_constant_groups=(), shallow_tile=True)
    assert model.flash_bytes(ops, 0, mixed) == fixed + 100 + 40 + 13 + 19 + 3 * pad
    assert model.flash_bytes(ops, 0) == fixed + 1000
    huge = _model(gemm_config_bytes=MappingProxyType({"a.c": {**sizes, "base": 5000}}))
    assert huge.flash_bytes(ops, 0, fast) == fixed + 1000  # never more than the object with every variant


@pytest.mark.skipif(not toolchain_available(), reason="needs arm-none-eabi-gcc")
def test_gemm_objects_under_a_project_config_are_priced_at_or_just_above_their_size(tmp_path):
    """The packaged calibration's per-feature sizes against the objects a project's
    te_gemm_config.h really gives (mcunet_vww's fast-only config, and one with _any copies)."""
    import shutil
    from importlib import resources

    from mcunet_tf.kernel_objects import object_bytes
    from tinyengine_gen.codegen.kernel_config import CONFIG_HEADER, GemmConfig, emit_gemm_config
    from tinyengine_gen.firmware.toolchain import SIZE_OPTIMISED_DSP_KERNELS, tool

    model = _packaged()
    assert {"te_conv2d_1x1_shallow.c", "te_conv2d_add.c", "te_conv2d_narrow.c"} <= set(model.gemm_config_bytes)
    kernels = tmp_path / "kernels"
    shutil.copytree(Path(str(resources.files("tinyengine_gen").joinpath("kernels"))), kernels)
    configs = (
        GemmConfig(fast_only=True, constant_groups=(2, 4, 6, 10, 12), tiles_constant_groups=(4, 7, 12), shallow_tile=False),
        GemmConfig(fast_only=False, constant_groups=(4, 8), tiles_constant_groups=(), shallow_tile=True),
    )
    for config in configs:
        (kernels / CONFIG_HEADER).write_text(emit_gemm_config(config), encoding="utf-8")
        for name in ("te_conv2d_1x1_shallow.c", "te_conv2d_add.c", "te_conv2d_narrow.c"):
            level = SIZE_OPTIMISED_DSP_KERNELS.get(name)
            command = [tool("gcc"), *model.cflags, *([level] if level else []), f"-I{kernels}", "-c", name, "-o", "k.o"]
            subprocess.run(command, cwd=kernels, check=True, capture_output=True)
            actual, predicted = object_bytes(kernels / "k.o"), model.kernel_file_bytes(name, config)
            assert actual <= predicted <= actual * 1.05 + 256, (name, config, actual, predicted)


def test_a_kernel_the_calibration_lacks_is_named_with_the_command_to_run():
    with pytest.raises(KeyError, match="no size for kernel c.c; rerun calibrate"):
        _model().flash_bytes([_op("P1:k", kernels=("c.c",))], 0)


def test_sram_is_the_arena_plus_the_firmware_fixed_part():
    assert _model().sram_bytes(4096) == 4096 + 2700


def test_instructions_are_linear_per_variant_and_milliseconds_use_the_stated_clock_and_cpi():
    model = _model()
    ops = [_op("P1:k"), _op("P2:k"), _op("unknown")]
    expected = -7 + (10 + 100) + (2 * 4 + 10) + (3 * 10 + 3 * 4 + 1000)
    assert model.instructions(ops) == expected
    assert model.milliseconds(1e6) == pytest.approx(1000.0 * 1e6 * 2.0 / 100e6)


def test_calibration_round_trips_through_json():
    model = _model()
    assert FirmwareCostModel.from_json(json.loads(json.dumps(model.to_json()))) == model
    with pytest.raises(ValueError, match="calibration version 0"):
        FirmwareCostModel.from_json(dict(model.to_json(), version=0))


def test_constants_are_counted_as_model_c_aligns_each_array():
    from tinyengine_gen.codegen.emitter import ConstantCounter

    class Sizes(ConstantCounter):
        def __init__(self, graph):
            super().__init__(graph, merge_identical=False)
            self.sizes = []

        def const(self, hint, array):
            self.sizes.append(np.asarray(array).nbytes)
            return super().const(hint, array)

    compiled = CostModel(SPACE, memoize=False).compile(_config())
    for plan in compiled.plans:
        sizes = Sizes(compiled.graph)
        plan.emit(sizes)
        expected = sum(-(-max(n, 1) // ALIGNMENT) * ALIGNMENT for n in sizes.sizes)
        assert op_firmware(compiled.graph, plan).aligned_constant_bytes == expected > sizes.total - ALIGNMENT


def test_memoised_pricing_gives_the_firmware_ops_of_a_plain_compile():
    model = CostModel(SPACE)
    for seed in range(3):
        config = _config(seed)
        model.cost(config)  # fill the memo first: the second pricing reads bound plans
        priced = model.price(config)
        plain = CostModel(SPACE, memoize=False).compile(config)
        assert priced.firmware_ops() == [op_firmware(plain.graph, plan) for plan in plain.plans]


def test_pricer_compiles_each_config_once(monkeypatch):
    pricer = Pricer(SPACE, firmware=_packaged())
    calls = []
    original = pricer.cost_model._compile_memoized
    monkeypatch.setattr(
        pricer.cost_model, "_compile_memoized", lambda built, *limit: calls.append(1) or original(built, *limit)
    )
    price = pricer.price(_config())
    assert len(calls) == 1 and price.firmware is not None and price.latency_ms == price.firmware.latency_ms


def test_the_budget_compares_the_firmware_sram_not_only_the_arena():
    pricer = Pricer(SPACE, firmware=_packaged())
    price = pricer.price(_config())
    arena = price.cost.peak_sram_bytes
    assert price.firmware.sram_bytes > arena
    budget = SearchBudget(sram_bytes=arena + 1, flash_bytes=price.firmware.flash_bytes)
    assert budget.violations(price) == [f"SRAM {price.firmware.sram_bytes / 1024:.1f} kB > {(arena + 1) / 1024:g} kB"]
    assert SearchBudget(price.firmware.sram_bytes, price.firmware.flash_bytes).fits(price)
    assert not SearchBudget(price.firmware.sram_bytes, price.firmware.flash_bytes - 1).fits(price)


def test_nnls_recovers_non_negative_coefficients():
    rng = np.random.default_rng(0)
    matrix = rng.uniform(0, 10, (40, 3))
    truth = np.array([2.0, 0.0, 5.0])
    assert np.allclose(_nnls(matrix, matrix @ truth), truth, atol=1e-8)
    assert (_nnls(matrix, matrix @ np.array([1.0, -3.0, 1.0])) >= 0).all()


def test_fit_recovers_a_known_firmware_and_never_predicts_below_it():
    """Measurements made from a known truth (kernels, call sites, runtime, per-op instructions):
    the fitted model must predict every one at or above it, within the safety margin."""
    kernel_bytes = {name: 1000 + 10 * len(name) for name in _kernel_files()}
    measurements = []
    for seed in range(6):
        config = _config(seed, width=(0.3, 0.5)[seed % 2], resolution=(96, 128)[seed % 2])
        compiled = CostModel(SPACE, memoize=False).compile(config)
        ops = [op_firmware(compiled.graph, plan) for plan in compiled.plans]
        input_bytes = config.resolution**2 * 3
        flash = (
            sum(op.aligned_constant_bytes for op in ops)
            + sum(kernel_bytes[k] for k in set().union(*(op.kernel_files for op in ops)))
            + 64 * len(ops)
            + 9000
            + input_bytes
        )
        counts = tuple(int(2 * op.features[0] + 500) for op in ops)
        measurements.append(
            Measurement(config, compiled, flash, compiled.arena_bytes + 2600 + seed, compiled.arena_bytes, input_bytes,
                        0, 0, sum(counts) + 40, counts)
        )
    model = fit_cost_model("mps2-an500", measurements, kernel_bytes)
    assert model.fixed_sram_bytes == 2605
    for m in measurements:
        price = model.price(m.compiled)
        assert m.elf_flash_bytes <= price.flash_bytes <= m.elf_flash_bytes + FLASH_SAFETY_BYTES + 64
        assert price.sram_bytes >= m.elf_sram_bytes
        assert price.instructions == pytest.approx(m.instructions, rel=1e-6)


def _kernel_files() -> list[str]:
    from importlib import resources

    return [p.name for p in resources.files("tinyengine_gen").joinpath("kernels").iterdir() if p.name.endswith(".c")]


def test_instrumented_model_c_marks_before_every_operator_and_after_the_last():
    text = '#include "model.h"\nint te_invoke(void) {\n  /* op 0: CONV_2D */\n  f();\n  /* op 2: ADD */\n  g();\n  return 0;\n}\n'
    out = instrument_model_c(text, 2)
    assert "#define TE_CAL_MARKS 3" in out
    body = out[out.index("int te_invoke") :].splitlines()
    assert body[1:9] == [
        "  te_cal_mark(0);", "  /* op 0: CONV_2D */", "  f();",
        "  te_cal_mark(1);", "  /* op 2: ADD */", "  g();",
        "  te_cal_mark(2);", "  te_cal_dump();",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="1 operator comments, the plan 2 operators"):
        instrument_model_c('#include "model.h"\n  /* op 0: CONV_2D */\n  return 0;\n', 2)


def _packaged() -> FirmwareCostModel:
    return firmware_cost_model("mps2-an500")


def _packaged_boards() -> list[str]:
    from importlib import resources

    return sorted(p.name[: -len(".json")] for p in resources.files("mcunet_tf").joinpath("calibration").iterdir()
                  if p.name.endswith(".json"))


def test_every_packaged_calibration_prices_every_kernel_with_its_board_flags():
    from tinyengine_gen.firmware.boards import board_profile

    boards = _packaged_boards()
    assert {"mps2-an500", "stm32f746"} <= set(boards)
    for board in boards:
        model = firmware_cost_model(board)
        assert model.board == board and "-O3" in model.cflags
        assert set(board_profile(board).arch_flags) <= set(model.cflags), board
        missing = set(_kernel_files()) - set(model.kernel_bytes)
        assert not missing, f"{board}: run python -m mcunet_tf.calibrate --board={board} --kernels_only ({missing})"


def test_packaged_calibration_prices_every_kernel_the_engine_emits():
    model = _packaged()
    assert calibration_path("mps2-an500").is_file() and "-O3" in model.cflags
    assert set(_kernel_files()) <= set(model.kernel_bytes)
    price = Pricer(SPACE, firmware=model).price(_config()).firmware
    assert price is not None and price.flash_bytes > 0 and price.instructions > 0
    with pytest.raises(ValueError, match="python -m mcunet_tf.calibrate --board=nowhere"):
        firmware_cost_model("nowhere")


@pytest.mark.slow
@pytest.mark.skipif(not (toolchain_available() and qemu_available()), reason="needs arm-none-eabi-gcc and QEMU")
def test_prediction_bounds_the_elf_of_a_small_exported_subnet(tmp_path):
    from mcunet_tf.firmware_measure import measure_configs

    space = SearchSpace(num_classes=1000)
    config = sample_arch(space, np.random.default_rng(5), width=0.3, resolution=96)
    (measured,) = measure_configs(space, [config], "mps2-an500", seed=5, log=lambda line: None)
    price = Pricer(space, firmware=_packaged()).price(config).firmware
    assert measured.elf_flash_bytes <= price.flash_bytes <= 1.01 * measured.elf_flash_bytes
    assert measured.elf_sram_bytes <= price.sram_bytes <= 1.01 * measured.elf_sram_bytes
    assert abs(price.instructions - measured.instructions) <= 0.2 * measured.instructions


def test_a_patch_stage_is_priced_per_patch_call_and_copy_as_the_plain_compile_emits_it():
    from mcunet_tf.cost_model import patch_options
    from mcunet_tf.firmware_cost import PATCH_COPY_VARIANT, plan_firmware
    from tinyengine_gen.patching.stage import PatchStagePlan

    options = patch_options("auto", 0.5)
    config = _config(3, width=0.3, resolution=96)
    priced = CostModel(SPACE, options=options).price(config)
    plain = CostModel(SPACE, options=options, memoize=False).compile(config)
    stages = [plan for plan in plain.plans if isinstance(plan, PatchStagePlan)]
    assert len(stages) == 1, "this config must compile patch-based"
    stage = stages[0]
    expected = [op for plan in plain.plans for op in plan_firmware(plain.graph, plan)]
    assert priced.firmware_ops() == expected
    parts = plan_firmware(plain.graph, stage)
    copies = [op for op in parts if op.variant == PATCH_COPY_VARIANT]
    calls = [op for op in parts if op.variant != PATCH_COPY_VARIANT]
    assert len(copies) == len(stage.patches) and all(op.features[1] > 0 for op in copies)
    assert len(calls) == len(stage.patches) * len(stage.stage_plans)
    assert sum(op.features[0] for op in calls) == stage.macs > stage.layer_wise_macs  # halos recomputed
    # constants are stored once, specialisations priced once per stage op
    layer = [op_firmware(plain.graph, plan) for plan in stage.stage_plans]
    assert sum(op.aligned_constant_bytes for op in calls) == sum(op.aligned_constant_bytes for op in layer)
    assert sum(len(op.definitions) for op in calls) == sum(len(op.definitions) for op in layer)


def test_the_calibration_fits_the_patch_copies_from_what_a_stage_leaves_beyond_its_calls():
    from mcunet_tf.calibrate import _fit_instructions
    from mcunet_tf.firmware_cost import PATCH_COPY_VARIANT

    def measurement(counts):
        return Measurement(config=_config(), compiled=None, elf_flash_bytes=0, elf_sram_bytes=0, arena_bytes=0,
                           input_bytes=0, text_bytes=0, stack_bytes=0, instructions=sum(counts),
                           op_instructions=tuple(counts))  # type: ignore[arg-type]

    conv = [_op("P1:k", features=(float(m), 0.0, 0.0, 1.0)) for m in (100, 250, 400)]
    layer_row = [(op,) for op in conv]
    layer_counts = [2 * m + 30 for m in (100, 250, 400)]  # P1: 2 per MAC + 30 per call
    stages, stage_counts = [], []
    for patches, copied in ((4, 900.0), (9, 1500.0)):
        calls = tuple(_op("P1:k", features=(50.0, 0.0, 0.0, 1.0)) for _ in range(patches))
        copy = tuple(_op(PATCH_COPY_VARIANT, features=(0.0, copied / patches, 0.0, 1.0)) for _ in range(patches))
        stages.append([calls + copy])
        stage_counts.append([patches * (2 * 50 + 30) + int(3 * copied) + 20 * patches])  # 3 per byte + 20 a patch
    model, _, _ = _fit_instructions(
        [measurement(layer_counts)] + [measurement(c) for c in stage_counts], [layer_row] + stages
    )
    assert np.allclose(model["P1:k"], (2.0, 0.0, 0.0, 30.0), atol=1e-6)
    assert np.allclose(model[PATCH_COPY_VARIANT], (0.0, 3.0, 0.0, 20.0), atol=1e-6)
