"""Instruction profile of firmware ELFs under QEMU: which functions (and blocks) execute what.

    python benchmarks/qemu_profile.py --elf=FW.elf[,FW2.elf ...] [--machine=mps2-an500] [--top=25] [--blocks=10] [--json=OUT]

The per-operator table of ``benchmarks/mcu_side_by_side.py --ops=MODEL`` says which layer
costs what; this says which code inside the layers does, from QEMU's execution trace
(``tinyengine_gen.firmware.profile``): one run per ELF, instructions summed per function,
then the hottest translation blocks (address, length, runs) to read against
``arm-none-eabi-objdump -d``. Any firmware that runs under QEMU can be profiled: the side
by side leaves its three builds of each model in
``/tmp/mcunet_tf_mcu_side_by_side/<model>/{tflm_reference,tflm_cmsis_nn,tinyengine/firmware}/fw.elf``,
so TFLM's kernels and ours can be read against each other. Totals cover the whole run
(start-up, the inference, printing) and agree with ``-icount shift=0``'s count.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinyengine_gen.errors import BuildError  # noqa: E402
from tinyengine_gen.firmware.boards import QEMU_MACHINES  # noqa: E402
from tinyengine_gen.firmware.profile import Profile, profile_firmware  # noqa: E402
from tinyengine_gen.firmware.toolchain import qemu_available  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("elf", [], "Firmware ELF(s) to profile, comma-separated.")
flags.DEFINE_enum("machine", "mps2-an500", sorted(QEMU_MACHINES), "QEMU machine the ELFs were built for.")
flags.DEFINE_integer("top", 25, "Functions to list per ELF.", lower_bound=1)
flags.DEFINE_integer("blocks", 10, "Hottest translation blocks to list per ELF (0: none).", lower_bound=0)
flags.DEFINE_integer("timeout", 900, "Hard wall-clock limit of one QEMU run, seconds.", lower_bound=1)
flags.DEFINE_string("json", None, "Also write every function's count (and the listed blocks) to this JSON file.")


def render(elf: str, profile: Profile, top: int, blocks: int) -> str:
    total = profile.total
    lines = [f"{elf}: {total:,} instructions", f"{'instructions':>14} {'share':>6}  function"]
    for name, count in profile.top(top):
        lines.append(f"{count:>14,} {count / total:>6.1%}  {name}")
    if blocks:
        lines.append(f"{'instructions':>14} {'share':>6}  {'block':>10} {'length':>6} {'runs':>10}  function")
        for block in profile.blocks[:blocks]:
            lines.append(
                f"{block.instructions:>14,} {block.instructions / total:>6.1%}  {block.pc:>#10x} {block.length:>6} "
                f"{block.runs:>10,}  {block.symbol}"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        print(f"qemu_profile: error: unexpected argument {argv[1]!r}; pass ELFs with --elf", file=sys.stderr)
        sys.exit(2)
    if not FLAGS.elf:
        print("qemu_profile: error: --elf is required (a firmware ELF, e.g. from mcu_side_by_side.py)", file=sys.stderr)
        sys.exit(2)
    missing = [elf for elf in FLAGS.elf if not Path(elf).is_file()]
    if missing:
        print(f"qemu_profile: error: --elf {missing[0]}: no such file; build the firmware first", file=sys.stderr)
        sys.exit(2)
    if not qemu_available():
        print("qemu_profile: error: needs qemu-system-arm (Debian: apt install qemu-system-arm)", file=sys.stderr)
        sys.exit(2)
    machine = QEMU_MACHINES[FLAGS.machine]
    results = {}
    for elf in FLAGS.elf:
        try:
            profile = profile_firmware(Path(elf), machine, timeout_s=FLAGS.timeout)
        except BuildError as exc:
            print(f"qemu_profile: error: {exc}", file=sys.stderr)
            sys.exit(2)
        print(render(elf, profile, FLAGS.top, FLAGS.blocks), end="\n\n", flush=True)
        results[elf] = {
            "total": profile.total,
            "functions": dict(profile.top(len(profile.functions))),
            "blocks": [
                {"pc": b.pc, "symbol": b.symbol, "length": b.length, "runs": b.runs} for b in profile.blocks[: FLAGS.blocks]
            ],
        }
    if FLAGS.json:
        Path(FLAGS.json).write_text(json.dumps({"machine": machine.name, "elfs": results}, indent=1) + "\n")


if __name__ == "__main__":
    app.run(main)
