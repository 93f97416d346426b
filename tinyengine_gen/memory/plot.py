"""A PNG of memory per op, layer-wise against patch-based (the MCUNetV2 figure).

Optional: needs matplotlib (``pip install mcunet-tf[plots]``); without it the caller is
told so and nothing is written.
"""

from __future__ import annotations

import os

from tinyengine_gen.compiler import CompiledModel
from tinyengine_gen.patching.stage import PatchStagePlan

__all__ = ["live_bytes_per_layer", "write_memory_plot"]


def live_bytes_per_layer(compiled: CompiledModel) -> list[int]:
    """Live bytes at each layer-wise op; ops inside a patch stage share the stage's figure."""
    values = []
    for step, plan in enumerate(compiled.plans):
        live = compiled.memory.live_bytes(step)
        count = len(plan.stage_plans) if isinstance(plan, PatchStagePlan) else 1
        values.extend([live] * count)
    return values


def write_memory_plot(layer_wise: CompiledModel, patched: CompiledModel, path: str | os.PathLike[str]) -> bool:
    """Write the plot; False (and nothing written) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from tinyengine_gen.atomic_io import write_bytes_atomically

    ours = live_bytes_per_layer(patched)
    base = live_bytes_per_layer(layer_wise)
    figure, axis = plt.subplots(figsize=(10, 4), dpi=110)
    axis.bar(range(len(base)), [b / 1024 for b in base], color="#c44e52", label=f"layer-wise (peak {max(base) / 1024:.0f} kB)")
    axis.bar(range(len(ours)), [b / 1024 for b in ours], color="#4c72b0", alpha=0.85, label=f"patch-based (peak {max(ours) / 1024:.0f} kB)")
    decision = patched.patch_decision
    if decision is not None and decision.stage is not None:
        axis.axvline(len(decision.stage.stage_plans) - 0.5, color="black", linestyle="--", linewidth=1)
        axis.set_title(f"{os.path.basename(patched.graph.source)}: {decision.message}", fontsize=8)
    axis.set_xlabel("operator (execution order)")
    axis.set_ylabel("live memory (kB)")
    axis.legend()
    figure.tight_layout()
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    write_bytes_atomically(path, buffer.getvalue())
    return True
