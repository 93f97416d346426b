"""Stock TensorFlow Lite Micro as Cortex-M firmware, beside ours, on the same board.

``tree`` finds TFLM's generated source trees (reference kernels, CMSIS-NN), ``library``
builds and caches ``libtflm.a`` per flavour and flags, ``sources`` writes the C++ harness,
``firmware`` builds, runs (QEMU) and measures one TFLM firmware, and ``three_way`` puts
TFLM-reference, TFLM+CMSIS-NN and our generated C side by side.
"""
