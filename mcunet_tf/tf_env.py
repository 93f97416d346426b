"""The TensorFlow environment mcunet_tf expects, set once, before TensorFlow is imported.

``mcunet_tf/__init__.py`` imports this module first, so every ``mcunet_tf`` module (and
command) runs with it whichever is imported first: tensorflow-model-optimization's QAT
works on tf-keras (Keras 2) only, so ``tf.keras`` must resolve to tf-keras. A value the
user set already is kept.
"""

from __future__ import annotations

import os

__all__: list[str] = []

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
