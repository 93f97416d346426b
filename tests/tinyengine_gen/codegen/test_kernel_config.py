"""te_gemm_config.h: a project compiles only the GEMM kernel variants its layers reach.

The decision (tinyengine_gen/codegen/kernel_config.py) is checked on mcunet_vww's plans
and on variants of them that must turn each saving off; the header's effect is checked on
the compiled kernel objects (no ``_any`` copy, no shallow tile where the config says so).
The outputs under every configuration are checked by the firmware tests (test_qemu.py,
test_dsp_kernels.py), which build both fast-only and general projects.
"""

from __future__ import annotations

import subprocess
from importlib import resources

import pytest

from tests.shared_assets import shared_model
from tests.tinyengine_gen.firmware._firmware_models import require_toolchain
from tinyengine_gen.codegen.kernel_config import CONFIG_HEADER, GemmConfig, emit_gemm_config, gemm_config
from tinyengine_gen.codegen.project import generate_from_file
from tinyengine_gen.firmware.boards import board_profile
from tinyengine_gen.firmware.toolchain import COMPILE_FLAGS, tool
from tinyengine_gen.ops.base import replace_plan
from tinyengine_gen.ops.conv2d import Conv2DPlan


@pytest.fixture(scope="module")
def vww_project():
    return generate_from_file(shared_model("mcunet_vww.tflite"))


def _first_conv(project, kernel: str) -> tuple[int, Conv2DPlan]:
    return next(
        (i, plan) for i, plan in enumerate(project.compiled.plans) if isinstance(plan, Conv2DPlan) and plan.kernel.name == kernel
    )


def _with(project, index: int, plan: Conv2DPlan) -> list:
    plans = list(project.compiled.plans)
    plans[index] = plan
    return plans


def test_mcunet_vww_needs_only_the_fast_copies_and_its_own_depths(vww_project):
    config = gemm_config(vww_project.compiled.plans)
    assert config == GemmConfig(
        fast_only=True, constant_groups=(2, 4, 6, 10, 12), tiles_constant_groups=(4, 7, 12), shallow_tile=False
    )
    assert vww_project.files[f"kernels/{CONFIG_HEADER}"] == emit_gemm_config(config)
    assert "#define TE_GEMM_FAST_ONLY 1" in emit_gemm_config(config)


def test_a_layer_without_the_full_clamp_or_fast_requant_keeps_the_any_copies(vww_project):
    index, conv = _first_conv(vww_project, "te_conv2d_1x1_shallow_s8")
    assert not gemm_config(_with(vww_project, index, replace_plan(conv, act_max=100))).fast_only
    assert not gemm_config(_with(vww_project, index, replace_plan(conv, gemm_bias=None))).fast_only


def test_a_deep_or_in_place_shallow_layer_keeps_the_shallow_tile(vww_project):
    index, conv = _first_conv(vww_project, "te_conv2d_1x1_shallow_s8")
    assert gemm_config(_with(vww_project, index, replace_plan(conv, depth=64))).shallow_tile
    assert gemm_config(_with(vww_project, index, replace_plan(conv, in_place=True))).shallow_tile
    assert not gemm_config(_with(vww_project, index, replace_plan(conv, depth=48))).shallow_tile


def _symbols(tmp_path, project, config_text: str | None) -> set[str]:
    """Defined functions of the project's kernels/te_conv2d_add.c and te_conv2d_1x1_shallow.c
    (which holds the group code both run) compiled for the stm32f746."""
    for relative, text in project.files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_text if config_text is not None and relative.endswith(CONFIG_HEADER) else text)
    flags = [f for f in COMPILE_FLAGS if not f.startswith(("-fstack-usage", "-fcallgraph-info"))]
    names: set[str] = set()
    for source in ("te_conv2d_add.c", "te_conv2d_1x1_shallow.c"):
        obj = tmp_path / (source + ".o")
        subprocess.run(
            [tool("gcc"), *flags, *board_profile("stm32f746").arch_flags, "-c", str(tmp_path / "kernels" / source),
             "-o", str(obj)],
            check=True,
        )  # fmt: skip
        listing = subprocess.run([tool("nm"), "--defined-only", str(obj)], capture_output=True, text=True, check=True)
        names |= {line.split()[-1] for line in listing.stdout.splitlines()}
    return names


def test_the_generated_config_leaves_the_unreached_copies_out_of_the_object(tmp_path, vww_project):
    require_toolchain()
    default = _symbols(tmp_path / "default", vww_project, _default_config())
    own = _symbols(tmp_path / "own", vww_project, None)
    assert {"te_gemm_shallow_groups_dsp_any", "te_gemm_shallow_tile_dsp_fast"} <= default
    assert "te_gemm_shallow_groups_dsp_fast" in own
    assert not any(name.endswith("_dsp_any") or name.startswith("te_gemm_shallow_tile") for name in own)


def _default_config() -> str:
    """The package's te_gemm_config.h: every variant, what a standalone kernel build gets."""
    return resources.files("tinyengine_gen").joinpath("kernels", CONFIG_HEADER).read_text(encoding="utf-8")
