"""TinyNAS for Keras: once-for-all supernet, search space, co-designed cost model, search, QAT.

The cost model prices architectures with ``tinyengine_gen``'s own memory planner; the
dependency only ever points that way (``tinyengine_gen`` never imports ``mcunet_tf``).
"""

from mcunet_tf import tf_env  # noqa: F401  (first: the TensorFlow environment, before any TensorFlow import)
