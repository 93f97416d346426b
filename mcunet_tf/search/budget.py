"""The search's constraint: peak SRAM, Flash and (optionally) latency, and the price of a config.

A :class:`Pricer` asks the co-design cost model (``tinyengine_gen``'s own planner, see
:mod:`mcunet_tf.cost_model`) for MACs, parameters, Flash and peak SRAM, and reads from the
same compiled plan (one compile per candidate) either a board's firmware cost model
(:mod:`mcunet_tf.firmware_cost`: Flash as the linker places it, SRAM with the runtime's
fixed part, calibrated instructions and milliseconds) or, without a board, the latency
table of :mod:`mcunet_tf.search.latency`. The oracle prices every candidate *before* it
becomes a trial, so nothing over budget is ever built or trained.
"""

from __future__ import annotations

import dataclasses

from mcunet_tf.arch import ArchConfig
from mcunet_tf.cost_model import SRAM_NOT_PLANNED, Cost, CostModel
from tinyengine_gen.compiler import CompileOptions
from mcunet_tf.errors import BudgetError
from mcunet_tf.firmware_cost import FirmwareCostModel, FirmwarePrice
from mcunet_tf.search.latency import CORTEX_M7_216MHZ, LatencyModel
from mcunet_tf.space import SearchSpace
from mcunet_tf.space.ranking import KIB

__all__ = ["Price", "Pricer", "SearchBudget"]


@dataclasses.dataclass(frozen=True)
class SearchBudget:
    sram_bytes: int
    flash_bytes: int
    latency_ms: float | None = None
    #: bits per stored weight the Flash is priced at (4: packed two per byte, MCUNet's int4)
    weight_bits: int = 8

    def __post_init__(self) -> None:
        if self.sram_bytes <= 0 or self.flash_bytes <= 0:
            raise BudgetError(f"budget: SRAM {self.sram_bytes} B and Flash {self.flash_bytes} B must both be positive.")
        if self.latency_ms is not None and self.latency_ms <= 0:
            raise BudgetError(f"budget: latency {self.latency_ms} ms must be positive.")

    @classmethod
    def from_kb(cls, sram_kb: float, flash_kb: float, latency_ms: float | None = None) -> SearchBudget:
        if sram_kb <= 0 or flash_kb <= 0:
            raise BudgetError(f"budget: SRAM {sram_kb} kB and Flash {flash_kb} kB must both be positive.")
        return cls(int(sram_kb * KIB), int(flash_kb * KIB), latency_ms)

    def violations(self, price: Price) -> list[str]:
        """What ``price`` exceeds, in words (empty when it fits)."""
        problems = []
        if price.flash_bytes > self.flash_bytes:
            problems.append(f"Flash {price.flash_bytes / KIB:.1f} kB > {self.flash_bytes / KIB:g} kB")
        if price.sram_bytes > self.sram_bytes:
            sram = "not planned" if price.sram_bytes == SRAM_NOT_PLANNED else f"{price.sram_bytes / KIB:.1f} kB"
            problems.append(f"SRAM {sram} > {self.sram_bytes / KIB:g} kB")
        if self.latency_ms is not None and (price.latency_ms is None or price.latency_ms > self.latency_ms):
            problems.append(f"latency {price.latency_ms or float('nan'):.1f} ms > {self.latency_ms:g} ms")
        return problems

    def fits(self, price: Price) -> bool:
        return not self.violations(price)

    def describe(self) -> str:
        latency = f", latency {self.latency_ms:g} ms" if self.latency_ms is not None else ""
        return f"SRAM {self.sram_bytes / KIB:g} kB, Flash {self.flash_bytes / KIB:g} kB{latency}"

    def to_dict(self) -> dict[str, float | None]:
        return {"sram_kb": self.sram_bytes / KIB, "flash_kb": self.flash_bytes / KIB, "latency_ms": self.latency_ms}


@dataclasses.dataclass(frozen=True)
class Price:
    cost: Cost
    #: None when the config was not planned (its Flash alone exceeds the budget)
    latency_ms: float | None
    #: the patch schedule the engine compiles it with: (rows, columns) grid, the op whose
    #: output ends the patch stage, extra MACs / network MACs; None when layer-wise
    patch_grid: tuple[int, int] | None = None
    patch_split_op: int | None = None
    patch_mac_overhead: float = 0.0
    #: the board's firmware figures, where the pricer has a board's calibration
    firmware: FirmwarePrice | None = None

    @property
    def flash_bytes(self) -> int:
        """What the budget compares: the firmware's Flash where known, else the cost model's."""
        return self.firmware.flash_bytes if self.firmware is not None else self.cost.flash_bytes

    @property
    def sram_bytes(self) -> int:
        """The firmware's SRAM (arena + stack, data, heap) where known, else the arena."""
        return self.firmware.sram_bytes if self.firmware is not None else self.cost.peak_sram_bytes

    def metrics(self) -> dict[str, float]:
        """Trial metrics (numbers only; keras-tuner keeps them with each trial)."""
        metrics = {
            "macs": float(self.cost.macs),
            "params": float(self.cost.params),
            "peak_sram_kb": self.cost.peak_sram_bytes / KIB,
            "flash_kb": self.cost.flash_bytes / KIB,
            "latency_ms": float("nan") if self.latency_ms is None else float(self.latency_ms),
            "patch_grid": float(self.patch_grid[0]) if self.patch_grid else 0.0,
            "patch_split_op": float(self.patch_split_op) if self.patch_split_op is not None else -1.0,
            "patch_mac_overhead": float(self.patch_mac_overhead),
        }
        if self.firmware is not None:
            metrics["firmware_flash_kb"] = self.firmware.flash_bytes / KIB
            metrics["firmware_sram_kb"] = self.firmware.sram_bytes / KIB
            metrics["instructions"] = float(self.firmware.instructions)
        return metrics


class Pricer:
    """Prices configs of one search space; keeps the cost model's per-process memo.

    With ``firmware`` (a board's calibration, see :func:`mcunet_tf.firmware_cost.firmware_cost_model`)
    the budget is checked against the firmware's Flash and SRAM and latency is the board's
    calibrated estimate; ``latency`` (a per-operator table) serves only without one.
    ``options`` are the engine options configs are compiled with (the patch schedule);
    ``weight_bits`` 4 prices weights packed two per byte.
    """

    def __init__(
        self,
        space: SearchSpace,
        latency: LatencyModel = CORTEX_M7_216MHZ,
        firmware: FirmwareCostModel | None = None,
        options: CompileOptions | None = None,
        weight_bits: int = 8,
    ) -> None:
        self.space = space
        self.latency = latency
        self.firmware = firmware
        self.cost_model = CostModel(space, options=options, weight_bits=weight_bits)

    def price(self, config: ArchConfig, budget: SearchBudget | None = None) -> Price:
        """Cost and latency of ``config`` from one compile; with a budget, a config over its
        memory is not priced further (nor its memory planned where it surely exceeds the SRAM
        budget: every config that fits is priced exactly as without one)."""
        flash_limit = budget.flash_bytes if budget is not None else None
        sram_limit = budget.sram_bytes if budget is not None else None
        priced = self.cost_model.price(config, flash_limit=flash_limit, sram_limit=sram_limit)
        cost, compiled = priced.cost, priced.compiled
        if compiled is None or (budget is not None and cost.peak_sram_bytes > budget.sram_bytes):
            return Price(cost, None)  # over budget already: the latency estimate would not change that
        decision = compiled.patch_decision
        schedule: dict = {}
        if decision is not None and decision.stage is not None:
            stage = decision.stage
            schedule = dict(
                patch_grid=stage.grid,
                patch_split_op=stage.stage_plans[-1].op_index,
                patch_mac_overhead=decision.mac_overhead,
            )
        if self.firmware is None:
            return Price(cost, self.latency.estimate_ms(compiled), **schedule)
        firmware = self.firmware.price(compiled, priced.firmware_ops())
        return Price(cost, firmware.latency_ms, firmware=firmware, **schedule)
