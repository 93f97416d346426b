"""The instruction profile from QEMU's trace: summed right, and equal to the measured count."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.shared_assets import PROJECT_ROOT
from tests.tinyengine_gen.firmware._firmware_models import require_qemu, small_cnn
from tinyengine_gen.codegen.project import generate
from tinyengine_gen.errors import BuildError
from tinyengine_gen.firmware.build import FirmwareOptions, write_firmware_project
from tinyengine_gen.firmware.profile import parse_trace, profile_firmware
from tinyengine_gen.firmware.qemu import run_firmware
from tinyengine_gen.frontend.reader import read_model_bytes

_TRACE = """\
----------------
IN: main
0x00000100:  b508       push     {r3, lr}
0x00000102:  2001       movs     r0, #1
0x00000104:  e7fe       b        #0x104

Trace 0: 0x7f0000000100 [00800400/00000100/00000110/ff020200] main
----------------
IN: te_kernel
0x00000200:  3001       adds     r0, #1
0x00000202:  2810       cmp      r0, #0x10
0x00000204:  d1fc       bne      #0x200

Trace 0: 0x7f0000000200 [00800400/00000200/00000110/ff020200] te_kernel
Trace 0: 0x7f0000000200 [00800400/00000200/00000110/ff020200] te_kernel
cpu_io_recompile: rewound execution of TB to 00000200
----------------
IN: te_kernel
0x00000200:  3001       adds     r0, #1

Trace 0: 0x7f0000000200 [00800400/00000200/00000110/ff038201] te_kernel
"""


def test_trace_is_summed_per_function_at_each_translations_length():
    profile = parse_trace(_TRACE.splitlines(keepends=True))
    # main: one run of 3; te_kernel: two runs of 3, then one of its 1-instruction retranslation
    assert profile.functions == {"main": 3, "te_kernel": 7}
    assert profile.total == 10 and profile.top(1) == [("te_kernel", 7)]
    hottest = profile.blocks[0]
    assert (hottest.pc, hottest.symbol, hottest.runs, hottest.instructions) == (0x200, "te_kernel", 3, 7)


def _small_build(tmp_path):
    project = generate(read_model_bytes(small_cnn(), source="small_cnn.tflite"))
    return write_firmware_project(project, tmp_path / "out", FirmwareOptions(board="mps2-an500", cases=1))


def test_profile_total_matches_the_measured_instruction_count(tmp_path):
    """The inference's SysTick count (40-instruction ticks) is part of the profiled run, and the
    profile puts most of it in the generated kernels."""
    require_qemu()
    build = _small_build(tmp_path)
    measured = run_firmware(build, timeout_s=60).instructions[0]
    profile = profile_firmware(build.elf, build.board.qemu, timeout_s=120)
    assert measured - 40 <= profile.total
    kernels = sum(count for name, count in profile.functions.items() if name.startswith("te_"))
    assert kernels > 0.5 * measured
    assert all(block.length > 0 for block in profile.blocks)


def test_profile_of_a_run_that_never_finishes_is_an_error(tmp_path):
    require_qemu()
    build = _small_build(tmp_path)
    with pytest.raises(BuildError, match="killed after"):
        profile_firmware(build.elf, build.board.qemu, timeout_s=0.01)


def test_cli_profiles_an_elf_and_refuses_a_missing_one(tmp_path):
    require_qemu()
    build = _small_build(tmp_path)
    script = str(PROJECT_ROOT / "benchmarks" / "qemu_profile.py")
    done = subprocess.run(
        [sys.executable, script, f"--elf={build.elf}", "--top=3", "--blocks=2"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "instructions" in done.stdout and "te_" in done.stdout
    missing = tmp_path / "nothing.elf"
    bad = subprocess.run([sys.executable, script, f"--elf={missing}"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nothing.elf" in bad.stderr
