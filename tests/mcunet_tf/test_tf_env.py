"""mcunet_tf sets the TensorFlow environment in one place (mcunet_tf/tf_env.py), on its first import."""

from __future__ import annotations

import os
import subprocess
import sys


def _legacy_keras_after_import(module: str, preset: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    if preset is not None:
        env["TF_USE_LEGACY_KERAS"] = preset
    code = f"import os, {module}; print(os.environ.get('TF_USE_LEGACY_KERAS'))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_importing_any_mcunet_tf_module_sets_tf_keras():
    assert _legacy_keras_after_import("mcunet_tf.arch", None) == "1"


def test_a_value_the_user_set_is_kept():
    assert _legacy_keras_after_import("mcunet_tf.arch", "0") == "0"
