"""``python -m mcunet_tf.pipeline``: the flags, and the order the command line starts in.

The steps import TensorFlow, whose native start-up log would otherwise reach stderr. So
the flags are defined and parsed first, from this module, which imports nothing heavy:
a bad flag is one line with exit status 2 before TensorFlow loads. Then ``cli.run``
imports TensorFlow quietly (unless ``--verbose``, now a parsed flag), and only then are the
pipeline and its steps imported and run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from absl import flags

from mcunet_tf.errors import McunetError
from mcunet_tf.pipeline_steps.config import TASKS, WORK
from tinyengine_gen import cli, flag_rules

__all__ = ["define_flags", "run_command"]


def define_flags() -> Any:
    """Define the pipeline's flags (once); returns absl's ``FLAGS``."""
    f = flags.FLAGS
    if "task" not in f:
        flags.DEFINE_enum("task", "toy", sorted(TASKS), "Task: toy (built-in data), kws, vww or imagenet.")
        flags.DEFINE_string("data_dir", None, "Dataset folder (kws, vww, imagenet); toy needs none.")
        flags.DEFINE_float("sram_kb", None, "SRAM budget in kB (default: the task's).")
        flag_rules.positive_number("sram_kb")
        flags.DEFINE_float("flash_kb", None, "Flash budget in kB (default: the task's).")
        flag_rules.positive_number("flash_kb")
        flags.DEFINE_string("board", "stm32f746", "Board profile of the Cortex-M firmware build.")
        flags.DEFINE_string("out", "out/pipeline", "Output folder (resumed with the same options, else replaced).")
        flag_rules.folder_path("out")
        flags.DEFINE_enum("budget", "smoke", sorted(WORK), "Work preset: tiny (tests), smoke (default), full.")
        flags.DEFINE_integer("seed", 0, "Seed of data, sampling, training and search.")
        flags.DEFINE_enum("weight_bits", "8", ["4", "8"],
                          "4: QAT with 4-bit per-channel weights, packed two per byte, Flash priced at 4 bits.")
        flags.DEFINE_integer("epochs", None, "Override: supernet epochs.", lower_bound=1)
        flags.DEFINE_integer("trials", None, "Override: search trials.", lower_bound=1)
        flags.DEFINE_integer("samples", None, "Override: sub-networks sampled per (W, R) space.", lower_bound=1)
        flags.DEFINE_enum("patch", "auto", ["auto", "off"],
                          "auto: price, search and compile with the patch schedule tinyengine_gen --patch=auto "
                          "picks (MCUNetV2 patch-based memory); off: layer-wise memory only.")
        flags.DEFINE_float("patch_max_overhead", 0.2, "With --patch=auto: the most extra MACs a schedule may add.")
        flags.DEFINE_integer("redistribute_rf", None,
                             "Receptive-field redistribution (MCUNetV2): the first N stages choose small kernels and "
                             "expand ratios, the next one deeper depths (default: 1 with --patch=auto, 0 with off).",
                             lower_bound=0)
    return f


def _main(argv: Sequence[str]) -> int:
    from mcunet_tf import pipeline  # the steps import TensorFlow: only now, after cli.run imported it quietly

    return pipeline.main(argv)


def run_command() -> NoReturn:
    """Parse the flags, import TensorFlow quietly, run the pipeline; exits (2 on a bad flag or input)."""
    define_flags()
    cli.run(_main, program="pipeline", user_errors=(McunetError,), tensorflow=True)
