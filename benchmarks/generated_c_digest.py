"""Digest of every generated file for every shared model under several option sets.

    python benchmarks/generated_c_digest.py [--models_dir=DIR] > digest.txt

Prints one line per generated file: model, option set, path, SHA-256 of its bytes (the
C project, report.json and the Cortex-M firmware sources for one board). A refactoring
that must not change the generated code is checked by running this before and after and
comparing the two outputs with ``diff``. Nothing is timed; nothing is built.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinyengine_gen.compiler import CompileOptions  # noqa: E402
from tinyengine_gen.errors import TinyEngineError  # noqa: E402
from tinyengine_gen.firmware.build import FirmwareOptions, default_cases, firmware_files  # noqa: E402
from tinyengine_gen.codegen.project import generate_from_file  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("models_dir", str(Path(__file__).resolve().parents[2] / "shared" / "models"), "Folder of .tflite files.")
flags.DEFINE_bool("firmware", True, "Also digest the firmware sources (stm32f746, QEMU layout).")

#: option sets that exercise every pass (names are stable: they appear in the output)
OPTION_SETS = {
    "default": CompileOptions(),
    "int8_io": CompileOptions(int8_input=True, int8_output=True),
    "no_passes": CompileOptions(fold_pad=False, in_place=False, fuse_residual_add=False, prefer="speed"),
    "patch_auto": CompileOptions(patch="auto"),
    "patch_4x4": CompileOptions(patch="4x4", int8_input=True),
}

#: report.json keys added after this script's first digests were taken: left out of the
#: report's digest so that a comparison with an older digest still checks every other key
ADDED_REPORT_KEYS = ("passes",)


def _digest(path: str, text: str) -> str:
    if path == "report.json":
        report = json.loads(text)
        for key in ADDED_REPORT_KEYS:
            report.pop(key, None)
        text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def digest_lines(model: Path) -> list[str]:
    lines = []
    for name, options in OPTION_SETS.items():
        try:
            project = generate_from_file(model, options)
        except TinyEngineError as exc:
            lines.append(f"{model.name} {name} error {hashlib.sha256(str(exc).encode()).hexdigest()[:16]}")
            continue
        files = dict(project.files)
        if FLAGS.firmware and name in ("default", "int8_io"):
            fw = FirmwareOptions(board="stm32f746", layout="qemu")
            files.update(firmware_files(project, fw, default_cases(project.report, 1, 0)))
        for path, text in sorted(files.items()):
            lines.append(f"{model.name} {name} {path} {_digest(path, text)}")
    return lines


def main(argv: list[str]) -> None:
    del argv
    for model in sorted(Path(FLAGS.models_dir).glob("*.tflite")):
        for line in digest_lines(model):
            print(line, flush=True)


if __name__ == "__main__":
    app.run(main)
