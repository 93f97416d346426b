"""An estimate of the Flash taken by code: kernels, per-operator call sites, the runtime glue.

The engine's report counts only constant data (``weights_bytes``). A microcontroller image
also holds the machine code of each C kernel the model uses (once, however many ops call
it) and, per operator, the call site plus its ``static const`` parameter struct and the
padding that 16-byte alignment adds around its constant arrays.

The figures below were measured for a Cortex-M7 (``arm-none-eabi-gcc -mcpu=cortex-m7
-mthumb -Os -std=c99``, GCC 13): kernel sizes are the ``.text`` of each kernel's object
file (or of one specialisation, for header-only kernels); the per-operator sizes are
least-squares fits of the ``.text + .rodata`` of
generated ``model.c`` files, minus their constant data, against operator counts. They are
estimates (another compiler or core gives other numbers), which is why they live in one
replaceable object rather than in the cost model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = ["CodeSizeModel", "CORTEX_M7_OS"]


@dataclasses.dataclass(frozen=True)
class CodeSizeModel:
    """Bytes of code per kernel source file, per file-scope kernel specialisation, per operator, plus a fixed part."""

    kernel_bytes: Mapping[str, int]
    op_bytes: Mapping[str, int]
    definition_bytes: Mapping[str, int]
    default_kernel_bytes: int
    default_op_bytes: int
    default_definition_bytes: int
    runtime_bytes: int

    def estimate(self, kernel_sources: Iterable[str], opcodes: Iterable[str], definitions: Iterable[str] = ()) -> int:
        """Code bytes of a model that links ``kernel_sources``, runs ``opcodes`` (one per op) and
        instantiates ``definitions`` (header-only kernels specialised in model.c, once per name)."""
        sources = {name for name in kernel_sources if name.endswith(".c")}
        kernels = sum(self.kernel_bytes.get(name, self.default_kernel_bytes) for name in sources)
        specialised = sum(self.definition_bytes.get(name, self.default_definition_bytes) for name in set(definitions))
        calls = sum(self.op_bytes.get(opcode, self.default_op_bytes) for opcode in opcodes)
        return self.runtime_bytes + kernels + specialised + calls


#: Cortex-M7, -Os (see the module docstring for how these were measured).
CORTEX_M7_OS = CodeSizeModel(
    kernel_bytes=MappingProxyType(
        {
            "te_add.c": 1360,
            "te_conv2d.c": 476,
            "te_depthwise_conv2d.c": 632,
            "te_fully_connected.c": 296,
            "te_mean.c": 348,
            "te_mul.c": 712,
            "te_pooling.c": 632,
            "te_quantize.c": 410,
            "te_softmax.c": 1160,
        }
    ),
    # Fit over 8 converted sub-networks (W 0.2/0.4, R 48; 33-45 convs): residuals under 35 B.
    # The conv figure is the 76-80 B parameter struct, the call, and the 16-byte alignment
    # padding of four constant arrays; ADD carries a larger broadcast struct and no arrays.
    op_bytes=MappingProxyType({"CONV_2D": 131, "DEPTHWISE_CONV_2D": 131, "ADD": 151}),
    # te_depthwise_rows.h specialisations (TE_DW_ROWS_DEFINE): 736-748 B each for 3/5/7 and
    # strides 1/2, 788 B for the generic one.
    definition_bytes=MappingProxyType({"te_depthwise_rows_any": 788}),
    default_kernel_bytes=1024,
    default_op_bytes=131,
    default_definition_bytes=744,
    runtime_bytes=0,
)
