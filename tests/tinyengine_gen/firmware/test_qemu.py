"""Firmware under QEMU: outputs identical to the host build and to TFLM, deterministic counts."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from tests.shared_assets import MODEL_NAMES, PROJECT_ROOT, shared_model
from tests.tinyengine_gen.firmware._firmware_models import require_qemu, small_cnn
from tflm_backend.tflm_runner import TflmModel
from tinyengine_gen.errors import BuildError, DoesNotFitError
from tinyengine_gen.firmware.boards import BOARDS
from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project
from tinyengine_gen.firmware.elf_size import symbol_sizes
from tinyengine_gen.firmware.linker import HEAP_BYTES
from tinyengine_gen.firmware.qemu import check_firmware, parse_output, run_firmware
from tinyengine_gen.codegen.project import generate, generate_from_file
from tinyengine_gen.frontend.reader import read_model_bytes

_SAMPLE = """\
TE_FW begin 0000000000000002
TE_FW case 0000000000000000 status 0000000000000000 ticks 0000000000000d2e
TE_FW output 0000000000000000 0000000000000000 b1b0b6b4b4
TE_FW case 0000000000000001 status 0000000000000000 ticks 0000000000000d2f
TE_FW output 0000000000000001 0000000000000000 b0b1b6b5b4
TE_FW stack 00000000000004f4
TE_FW heap 00000000000001b4
TE_FW end
"""


def test_parse_output_reads_the_protocol():
    run = parse_output(_SAMPLE, instructions_per_tick=40)
    assert run.outputs == ((bytes.fromhex("b1b0b6b4b4"),), (bytes.fromhex("b0b1b6b5b4"),))
    assert run.ticks == (0xD2E, 0xD2F) and run.instructions == (0xD2E * 40, 0xD2F * 40)
    assert (run.stack_used, run.heap_used, run.statuses) == (0x4F4, 0x1B4, (0, 0))


def test_parse_output_without_end_or_with_a_fault_is_an_error():
    with pytest.raises(BuildError, match="did not finish under QEMU"):
        parse_output(_SAMPLE.replace("TE_FW end\n", ""), 40)
    with pytest.raises(BuildError, match=r"faulted \(exception 3\)"):
        parse_output("TE_FW begin 0000000000000001\nTE_FW fault 0000000000000003\n", 40)
    with pytest.raises(BuildError, match="could not read the inputs of case 1"):
        parse_output("TE_FW begin 0000000000000002\nTE_FW input_error 0000000000000001\n", 40)


@pytest.mark.parametrize(("board", "int8_io"), [("mps2-an500", True), ("mps2-an500", False), ("stm32f412", False)])
def test_small_model_identical_to_tflm_and_host_under_qemu(tmp_path, board, int8_io):
    require_qemu()
    model = small_cnn(int8_io=int8_io)
    project = generate(read_model_bytes(model, source="small_cnn.tflite"))
    build = write_firmware_project(
        project, tmp_path / "out", FirmwareOptions(board=board, layout="qemu", cases=3, seed=5)
    )
    check = check_firmware(build, tflm=TflmModel(model).run, timeout_s=60)
    assert check.compared_with == ("TFLM", "host build")
    assert len(check.outputs) == 3 and all(i > project.report["macs"] / 4 for i in check.run.instructions)
    assert 0 < check.run.stack_used <= build.sizes.section(".stack") and 0 < check.run.heap_used <= HEAP_BYTES


def test_instruction_counts_are_deterministic(tmp_path):
    require_qemu()
    project = generate(read_model_bytes(small_cnn(), source="small_cnn.tflite"))
    build = write_firmware_project(project, tmp_path / "out", FirmwareOptions(board="mps2-an500", cases=2))
    first, second = run_firmware(build, timeout_s=60), run_firmware(build, timeout_s=60)
    assert first.ticks == second.ticks and first.outputs == second.outputs


def test_qemu_run_has_a_hard_timeout(tmp_path):
    require_qemu()
    project = generate(read_model_bytes(small_cnn(), source="small_cnn.tflite"))
    build = write_firmware_project(project, tmp_path / "out", FirmwareOptions(board="mps2-an500"))
    with pytest.raises(BuildError, match=r"did not finish within 0 s"):
        run_firmware(build, timeout_s=0.001)


def test_board_layout_of_an_stm32_cannot_run_under_qemu(tmp_path):
    require_qemu()
    project = generate(read_model_bytes(small_cnn(), source="small_cnn.tflite"))
    build = write_firmware_project(project, tmp_path / "out", FirmwareOptions(board="stm32f746"))
    with pytest.raises(BuildError, match="cannot run under QEMU: stm32f746's addresses differ from QEMU mps2-an500's; add --layout=qemu"):
        run_firmware(build)


def test_mlperf_kws_identical_to_tflm_under_qemu(tmp_path):
    require_qemu()
    path = shared_model("mlperf_kws_ref_int8.tflite")
    build = write_firmware_project(
        generate_from_file(path), tmp_path / "kws", FirmwareOptions(board="mps2-an500", cases=2)
    )
    check = check_firmware(build, tflm=TflmModel.from_file(path).run, timeout_s=60)
    assert check.compared_with == ("TFLM", "host build") and check.run.wall_s < 60


def test_cli_run_qemu(tmp_path):
    require_qemu()
    model = tmp_path / "small.tflite"
    model.write_bytes(small_cnn())
    result = subprocess.run(
        [sys.executable, "-m", "tinyengine_gen", f"--tflite={model}", f"--out={tmp_path / 'out'}", "--target=cortex-m",
         "--board=stm32f746", "--layout=qemu", "--input_cases=2", "--run_qemu"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "QEMU mps2-an500: outputs identical to the host build; instructions per inference [" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_shared_model_that_fits_runs_identical_to_tflm(tmp_path, name, board):
    """Acceptance: each shared model builds for every board it fits and runs identically under QEMU."""
    require_qemu()
    path = shared_model(name)
    try:
        build = write_firmware_project(
            generate_from_file(path), tmp_path / "out", FirmwareOptions(board=board, layout="qemu")
        )
    except DoesNotFitError as exc:
        assert name == "mbv2_224_int8.tflite" and board != "mps2-an500", exc
        pytest.skip(str(exc))
    check = check_firmware(build, tflm=TflmModel.from_file(path).run, timeout_s=600)
    assert check.compared_with == ("TFLM", "host build")


@pytest.mark.slow
def test_lstm_state_carries_over_invokes_identically_under_qemu(tmp_path):
    """Four invokes back to back on the board: the LSTM's hidden and cell states carry from
    one to the next as in TFLM's interpreter and in the host build."""
    require_qemu()
    from tests.tinyengine_gen.ops.test_lstm import lstm_model

    model = lstm_model(units=8, steps=6, features=4)
    project = generate(read_model_bytes(model, source="lstm.tflite"))
    options = FirmwareOptions(board="mps2-an500", layout="qemu", cases=4, seed=3)
    build = write_firmware_project(project, tmp_path / "out", options)
    check = check_firmware(build, tflm=TflmModel(model).run, timeout_s=60)
    assert check.compared_with == ("TFLM", "host build") and len(check.outputs) == 4


def test_semihosting_inputs_stay_out_of_flash_and_give_tflms_outputs(tmp_path):
    """inputs="semihosting": the cases are read at run time from firmware/inputs.bin, so the
    image holds no input bytes (a deployment's Flash), and the outputs are still TFLM's."""
    require_qemu()
    model = small_cnn(int8_io=False)
    project = generate(read_model_bytes(model, source="small_cnn.tflite"))
    options = FirmwareOptions(board="mps2-an500", layout="qemu", cases=2, seed=3)
    baked = write_firmware_project(project, tmp_path / "flash", options)
    read = write_firmware_project(project, tmp_path / "semi", dataclasses.replace(options, inputs="semihosting"))
    check = check_firmware(read, tflm=TflmModel(model).run, timeout_s=60)
    assert check.compared_with == ("TFLM", "host build") and len(check.outputs) == 2
    case_bytes = 12 * 12 * 3 * 4  # one float32 input
    assert (baked.input_bytes, read.input_bytes) == (2 * case_bytes, 0)
    assert baked.sizes.section(".rodata") - read.sizes.section(".rodata") >= 2 * case_bytes - 32  # less a path
    assert read.sizes.flash_bytes < baked.sizes.flash_bytes  # the reading code is a few hundred bytes
    assert (read.directory / "inputs.bin").stat().st_size == 2 * case_bytes
    assert read.project_report()["firmware"]["inputs"] == "semihosting"
    assert "te_fw_case0_input0" not in symbol_sizes(read.elf) and "te_fw_case0_input0" in symbol_sizes(baked.elf)
    (read.directory / "inputs.bin").unlink()
    with pytest.raises(BuildError, match="could not read the inputs of case 0 through semihosting"):
        run_firmware(read, timeout_s=60)
