"""Stock TFLM as firmware beside ours: trees, the cached library, the harness under QEMU."""

from __future__ import annotations

import subprocess

import pytest

from tests.shared_assets import shared_model, shared_tflm_tree
from tests.tinyengine_gen.firmware._firmware_models import require_qemu, require_toolchain
from tflm_backend.mcu.firmware import build_and_run_tflm, parse_op_lines
from tflm_backend.mcu.library import build_library, cxx_toolchain_available
from tflm_backend.mcu.sources import emit_arena_c, emit_main_cc, resolver_calls
from tflm_backend.mcu.tree import find_tflm_tree
from tinyengine_gen.errors import BuildError, UnsupportedOperatorError
from tinyengine_gen.firmware.boards import board_profile
from tinyengine_gen.firmware.build import FirmwareOptions, default_cases, encoded_cases, write_firmware_project
from tinyengine_gen.firmware.qemu import run_firmware
from tinyengine_gen.codegen.project import generate_from_file
from tinyengine_gen.frontend.reader import read_model

KWS = "mlperf_kws_ref_int8.tflite"


def require_cxx() -> None:
    require_toolchain()
    if not cxx_toolchain_available():
        pytest.skip("arm-none-eabi-g++ C++ headers not installed: apt-get install libstdc++-arm-none-eabi-newlib")


def test_no_tree_is_one_error_saying_how_to_generate_it(monkeypatch, tmp_path):
    monkeypatch.delenv("TFLM_TREE", raising=False)
    with pytest.raises(BuildError, match="create_tflm_tree.py"):
        find_tflm_tree(None)
    (tmp_path / "reference" / "tensorflow" / "lite" / "micro").mkdir(parents=True)
    with pytest.raises(BuildError, match=r"cmsis_nn/.*create_tflm_tree.py"):
        find_tflm_tree(tmp_path)
    monkeypatch.setenv("TFLM_TREE", str(tmp_path))
    with pytest.raises(BuildError, match="no TFLM tree in cmsis_nn/"):
        find_tflm_tree(None)


def test_resolver_has_exactly_the_models_operators():
    assert resolver_calls(["CONV_2D", "RESHAPE", "CONV_2D", "SOFTMAX"], "m") == ["AddConv2D", "AddReshape", "AddSoftmax"]
    with pytest.raises(UnsupportedOperatorError, match="CUSTOM:x, LSTM_THING"):
        resolver_calls(["CONV_2D", "LSTM_THING", "CUSTOM:x"], "m.tflite")
    main = emit_main_cc("m", ["CONV_2D", "RESHAPE", "CONV_2D"])
    assert "MicroMutableOpResolver<2>" in main and main.count("resolver.Add") == 2
    assert "uint8_t tflm_fw_arena[1234]" in emit_arena_c(1234, probe=False)
    assert "tflm_fw_probe = 1;" in emit_arena_c(5, probe=True)


def test_op_lines_of_one_case_are_read():
    text = "TE_FW op 0000000000000000 0000000000000003 0000000000000010 CONV_2D\nTE_FW op 01 02 20\n"
    ops = parse_op_lines(text, 40)
    assert [(o.index, o.name, o.instructions) for o in ops] == [(3, "CONV_2D", 640)]
    assert [(o.index, o.name) for o in parse_op_lines(text, 40, case=1)] == [(2, "")]


def _fake_tree(root, body="int f() { return 1; }\n"):
    for flavour in ("reference", "cmsis_nn"):
        micro = root / flavour / "tensorflow" / "lite" / "micro"
        micro.mkdir(parents=True, exist_ok=True)
        (micro / "a.cc").write_text(body)
        (micro / "b.c").write_text("int g(void) { return 2; }\n")
    return find_tflm_tree(root)


def test_library_is_built_once_per_content_and_reused(monkeypatch, tmp_path):
    require_cxx()
    monkeypatch.setenv("MCUNET_TF_CACHE", str(tmp_path / "cache"))
    board = board_profile("mps2-an500")
    tree = _fake_tree(tmp_path / "tree")
    first = build_library(tree, "reference", board)
    members = subprocess.run(["arm-none-eabi-ar", "t", str(first.archive)], capture_output=True, text=True).stdout.split()
    assert len(members) == 2 and first.objects == 2
    again = build_library(tree, "reference", board)
    assert again.archive == first.archive and again.build_s == 0.0
    assert not [p for p in first.archive.parent.parent.iterdir() if p.name.startswith(".")]  # no staging left
    _fake_tree(tmp_path / "tree", body="int f() { return 3; }\n")
    changed = build_library(tree, "reference", board)
    assert changed.archive != first.archive and changed.build_s > 0
    other_board = build_library(tree, "reference", board_profile("stm32f412"))
    assert other_board.archive != changed.archive and "-mcpu=cortex-m4" in other_board.flags
    (tmp_path / "tree" / "reference" / "tensorflow" / "lite" / "micro" / "a.cc").write_text("int f( {\n")
    with pytest.raises(BuildError, match="a.cc does not compile"):
        build_library(tree, "reference", board)


def test_tflm_reference_firmware_gives_our_firmwares_bytes(tmp_path, monkeypatch):
    """The harness end to end, cheaply: TFLM's framework and only KWS's kernels (reference),
    built, run under QEMU on the same baked input as our firmware: the same output bytes."""
    require_qemu()
    require_cxx()
    tree = find_tflm_tree(shared_tflm_tree())
    model = shared_model(KWS)
    board = board_profile("mps2-an500")
    project = generate_from_file(model)
    cases = default_cases(project.report, 2, seed=3)
    tflm = build_and_run_tflm(
        model, "reference", board, tree, encoded_cases(project.report, cases), tmp_path / "tflm", model_kernels_only=True
    )
    ours = write_firmware_project(project, tmp_path / "ours", FirmwareOptions(board=board.name, layout="qemu_full"), cases)
    run = run_firmware(ours)
    assert tflm.outputs == run.outputs and len(tflm.outputs) == 2
    graph = read_model(model)
    assert [o.index for o in tflm.ops] == list(range(len(graph.operators)))
    assert [o.name for o in tflm.ops][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert 0 < sum(o.instructions for o in tflm.ops) <= tflm.instructions
    assert tflm.arena_bytes > 0 and tflm.sram_bytes > tflm.arena_bytes + tflm.stack_bytes
    assert tflm.model_bytes == model.stat().st_size and tflm.fits and tflm.flash_bytes > tflm.model_bytes


@pytest.mark.slow
def test_three_way_on_mps2_builds_runs_and_agrees(tmp_path):
    """TFLM reference, TFLM + CMSIS-NN and ours for one model (TFLM's framework and the
    model's kernels: minutes of compiling when the cache is cold, 183 files for CMSIS-NN)."""
    require_qemu()
    require_cxx()
    from tflm_backend.mcu.three_way import BUILD_NAMES, compare_on_mcu, format_mcu_table

    tree = find_tflm_tree(shared_tflm_tree())
    result = compare_on_mcu(shared_model(KWS), "mps2-an500", tree, work_dir=tmp_path, model_kernels_only=True)
    assert result.outputs_identical, result.first_difference
    payload = result.to_json()
    assert payload["board"] == "mps2-an500" and payload["outputs_identical"] is True
    for name in BUILD_NAMES:
        for key in ("flash_bytes", "sram_bytes", "arena_bytes", "instructions", "fits", "over_by"):
            assert key in payload[name], (name, key)
        assert payload[name]["fits"] is True and payload[name]["over_by"] == {}
    builds = result.builds
    assert builds["tflm_cmsis_nn"].instructions < builds["tflm_reference"].instructions
    assert "identical in all three builds" in format_mcu_table(result)


def test_flatbuffer_goes_to_psram_only_where_the_layout_has_it():
    from tinyengine_gen.firmware.linker import emit_linker_script, layout_for

    board = board_profile("stm32f746")
    on_board = emit_linker_script(board, layout_for(board, "board"), 256)
    assert "BULK" not in on_board and "*(.bulk_rodata .bulk_rodata.*) } > FLASH" in on_board
    full = layout_for(board, "qemu_full")
    assert (full.bulk.origin, full.bulk.size, full.sram.size) == (0x6000_0000, 16 << 20, 4 << 20)
    at_qemu = emit_linker_script(board, full, 256)
    assert "BULK  (r)   : ORIGIN = 0x60000000" in at_qemu
    assert at_qemu.index("} > BULK") < at_qemu.index(".rodata : ALIGN(16)")  # the first match wins
