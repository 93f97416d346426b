"""Firmware builds: files and report, the fit check, the linker script's ASSERTs, the CLI."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from tests.shared_assets import PROJECT_ROOT, shared_model
from tests.tinyengine_gen.firmware._firmware_models import require_toolchain, small_cnn, wide_dense
from tinyengine_gen.errors import BuildError, DoesNotFitError
from tinyengine_gen.firmware.boards import BOARDS, MemoryRegion, board_profile
from tinyengine_gen.firmware.build import FirmwareOptions, default_cases, firmware_files, write_firmware_project
from tinyengine_gen.firmware.elf_size import symbol_sizes
from tinyengine_gen.firmware.linker import FLASH_ASSERT, SRAM_ASSERT
from tinyengine_gen.firmware.toolchain import run_make
from tinyengine_gen.codegen.project import generate, generate_from_file
from tinyengine_gen.frontend.reader import read_model_bytes


@pytest.fixture(scope="module")
def small_project():
    return generate(read_model_bytes(small_cnn(), source="small_cnn.tflite"))


@pytest.fixture(scope="module")
def f746_build(small_project, tmp_path_factory):
    require_toolchain()
    return write_firmware_project(
        small_project, tmp_path_factory.mktemp("fw") / "out", FirmwareOptions(board="stm32f746")
    )


def test_build_writes_firmware_project_and_report(f746_build, small_project):
    firmware = f746_build.directory
    assert {p.name for p in firmware.iterdir()} >= {
        "Makefile", "startup.c", "main.c", "inputs.c", "inputs.h", "stm32f746.ld", "fw.elf", "fw.map", "build",
    }  # fmt: skip
    assert (firmware / "build" / "model.su").is_file() and (firmware / "build" / "model.ci").is_file()
    report = f746_build.project_report()
    fw = report["firmware"]
    sections = ("text_bytes", "rodata_bytes", "data_bytes", "bss_bytes", "heap_bytes", "stack_bytes")
    assert set(fw) >= {"board", "flash_bytes", "sram_bytes", "peak_sram_bytes", "stack", *sections}
    assert fw["board"] == "stm32f746" and fw["layout"] == "board" and fw["kernels"] == "simd"
    assert 0 <= fw["flash_bytes"] - (fw["code_bytes"] + fw["rodata_bytes"] + fw["data_bytes"]) < 64  # alignment
    assert 0 <= fw["sram_bytes"] - (fw["data_bytes"] + fw["bss_bytes"] + fw["heap_bytes"] + fw["stack_bytes"]) < 64
    assert fw["stack_bytes"] == -(-fw["stack"]["max_bytes"] // 8) * 8 and fw["stack"]["thread_path"][:2] == [
        "Reset_Handler",
        "main",
    ]
    assert fw["peak_sram_bytes"] == small_project.report["peak_sram_bytes"]
    assert fw["arena_bytes"] >= report["arena_bytes"] and fw["bss_bytes"] >= fw["arena_bytes"]
    assert (fw["flash_limit_bytes"], fw["sram_limit_bytes"]) == (1 << 20, 320 << 10)
    assert "-mfpu=fpv5-sp-d16" in fw["cflags"] and "-fstack-usage" in fw["cflags"]
    assert report["macs"] == small_project.report["macs"]  # the model's keys are kept


def test_elf_is_linked_at_the_board_addresses(f746_build):
    symbols = subprocess.run(
        ["arm-none-eabi-nm", str(f746_build.elf)], capture_output=True, text=True, check=True
    ).stdout
    address = {line.split()[2]: int(line.split()[0], 16) for line in symbols.splitlines() if len(line.split()) == 3}
    assert address["te_fw_vector_table"] == 0x0800_0000
    assert address["__te_stack_top"] - 0x2000_0000 == f746_build.sizes.sram_bytes
    assert symbol_sizes(f746_build.elf)["te_arena"] == f746_build.arena_bytes


def test_firmware_files_are_deterministic(small_project):
    options = FirmwareOptions(board="stm32f412", layout="qemu")
    cases = default_cases(small_project.report, 2, seed=3)
    assert firmware_files(small_project, options, cases, 1024) == firmware_files(small_project, options, cases, 1024)


def _relink(build, **variables) -> None:
    build.elf.unlink(missing_ok=True)
    run_make(build.directory, ["fw.elf"], variables)


def test_linker_script_assert_fails_the_link_one_byte_over(f746_build):
    fw = f746_build.project_report()["firmware"]
    room = fw["sram_limit_bytes"] - (fw["sram_bytes"] - fw["stack_bytes"])
    _relink(f746_build, LDEXTRA=f"-Wl,--defsym=__te_stack_size={room}")  # exactly full: links
    with pytest.raises(BuildError, match=re.escape(SRAM_ASSERT)):
        _relink(f746_build, LDEXTRA=f"-Wl,--defsym=__te_stack_size={room + 8}")
    script = f746_build.directory / "stm32f746.ld"
    original = script.read_text()
    try:
        script.write_text(original.replace("LENGTH = 1048576", f"LENGTH = {fw['flash_bytes']}"))
        _relink(f746_build)  # Flash exactly full: links
        script.write_text(original.replace("LENGTH = 1048576", f"LENGTH = {fw['flash_bytes'] - 1}"))
        with pytest.raises(BuildError, match=re.escape(FLASH_ASSERT)):
            _relink(f746_build)
    finally:
        script.write_text(original)
        _relink(f746_build)


def test_too_big_for_flash_says_by_how_much_and_leaves_nothing(tmp_path, monkeypatch):
    require_toolchain()
    project = generate(read_model_bytes(wide_dense(), source="wide_dense.tflite"))
    # weights fit this board; weights plus code do not: only the measured ELF finds it
    tight = dataclasses.replace(
        board_profile("stm32f746"), name="stm32f746-tight",
        flash=MemoryRegion(0x0800_0000, project.report["weights_bytes"] + 1024),
    )  # fmt: skip
    big = dataclasses.replace(tight, name="stm32f746-2mb", flash=MemoryRegion(0x0800_0000, 2 << 20))
    monkeypatch.setitem(BOARDS, tight.name, tight)
    monkeypatch.setitem(BOARDS, big.name, big)
    fits = write_firmware_project(project, tmp_path / "big", FirmwareOptions(board=big.name))
    over = fits.sizes.flash_bytes - tight.flash.size
    out = tmp_path / "out"
    with pytest.raises(
        DoesNotFitError, match=rf"^wide_dense.tflite does not fit stm32f746-tight: Flash over by {over} bytes \("
    ):
        write_firmware_project(project, out, FirmwareOptions(board=tight.name))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]


def test_weights_or_arena_over_the_board_are_refused_before_building(tmp_path, monkeypatch):
    project = generate(read_model_bytes(wide_dense(), source="wide_dense.tflite"))
    over = project.report["weights_bytes"] - (1 << 20)
    assert over > 0
    calls = []
    monkeypatch.setattr("tinyengine_gen.firmware.build.run_make", lambda *a, **k: calls.append(a))
    with pytest.raises(
        DoesNotFitError,
        match=rf"^wide_dense.tflite does not fit stm32f746: Flash over by at least {over} bytes .*nothing was built$",
    ):
        write_firmware_project(project, tmp_path / "out", FirmwareOptions(board="stm32f746"))
    small = generate(read_model_bytes(small_cnn(), source="small_cnn.tflite"))
    tiny = dataclasses.replace(board_profile("stm32f746"), name="tiny-sram", sram=MemoryRegion(0x2000_0000, 1024))
    monkeypatch.setitem(BOARDS, tiny.name, tiny)
    with pytest.raises(DoesNotFitError, match=r"SRAM over by at least \d+ bytes \(planned arena"):
        write_firmware_project(small, tmp_path / "out", FirmwareOptions(board=tiny.name))
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_mcunet_vww_fits_stm32f746_with_measured_stack(tmp_path):
    require_toolchain()
    project = generate_from_file(shared_model("mcunet_vww.tflite"))
    build = write_firmware_project(project, tmp_path / "vww", FirmwareOptions(board="stm32f746"))
    fw = build.project_report()["firmware"]
    assert fw["sram_bytes"] <= 320 * 1024 and fw["flash_bytes"] <= 1024 * 1024
    assert fw["stack_bytes"] > 0 and fw["sram_bytes"] > fw["peak_sram_bytes"] + fw["stack_bytes"]


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinyengine_gen", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )


def test_cli_mbv2_on_stm32f746_flash_over_exit_2_no_output(tmp_path):
    require_toolchain()
    model = shared_model("mbv2_224_int8.tflite")
    out = tmp_path / "out"
    result = _run_cli(f"--tflite={model}", f"--out={out}", "--target=cortex-m", "--board=stm32f746")
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "tinyengine_gen: error: mbv2_224_int8.tflite does not fit stm32f746: "
    )
    assert "Flash over by " in lines[0] and " bytes" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_builds_firmware_and_reports_it(tmp_path):
    require_toolchain()
    model = tmp_path / "small.tflite"
    model.write_bytes(small_cnn())
    out = tmp_path / "out"
    result = _run_cli(
        f"--tflite={model}", f"--out={out}", "--target=cortex-m", "--board=stm32h743", "--kernels=portable"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stm32h743 firmware: Flash " in result.stdout
    firmware = json.loads((out / "report.json").read_text())["firmware"]
    assert firmware["board"] == "stm32h743" and "-DTE_NO_DSP" in firmware["cflags"]
    assert (out / "firmware" / "fw.elf").is_file() and (out / "model.c").is_file()
