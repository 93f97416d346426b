"""An architecture inside the search space: a frozen, canonical, JSON-serialisable config.

Only the blocks a sub-network actually runs are stored (stage ``i`` holds exactly
``depth_i`` block choices), so two configs are equal exactly when they describe the same
network; :meth:`ArchConfig.key` is the canonical JSON text, which search code hashes to
skip duplicates.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mcunet_tf.errors import InvalidArchitectureError
from mcunet_tf.space import SearchSpace

__all__ = ["BlockChoice", "ArchConfig", "check_arch"]


@dataclasses.dataclass(frozen=True)
class BlockChoice:
    """The elastic choices of one inverted-residual block."""

    kernel_size: int
    expand_ratio: int


@dataclasses.dataclass(frozen=True)
class ArchConfig:
    """Width multiplier, input resolution, and the active blocks of every stage."""

    width: float
    resolution: int
    stages: tuple[tuple[BlockChoice, ...], ...]

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(stage) for stage in self.stages)

    @property
    def blocks(self) -> tuple[BlockChoice, ...]:
        """Every active block, stage by stage."""
        return tuple(block for stage in self.stages for block in stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "resolution": self.resolution,
            "stages": [
                {"kernel_sizes": [b.kernel_size for b in stage], "expand_ratios": [b.expand_ratio for b in stage]}
                for stage in self.stages
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ArchConfig":
        """Parse the :meth:`to_dict` form; a malformed dict raises InvalidArchitectureError."""
        if not isinstance(data, Mapping) or set(data) != {"width", "resolution", "stages"}:
            raise InvalidArchitectureError(
                f"architecture: expected an object with keys width, resolution, stages; got {_keys(data)}."
            )
        try:
            stages = tuple(_parse_stage(i, stage) for i, stage in enumerate(data["stages"]))
            return cls(width=float(data["width"]), resolution=int(data["resolution"]), stages=stages)
        except (TypeError, ValueError, KeyError) as exc:
            if isinstance(exc, InvalidArchitectureError):
                raise
            raise InvalidArchitectureError(f"architecture: malformed config ({type(exc).__name__}: {exc}).") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ArchConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArchitectureError(f"architecture: not valid JSON ({exc}).") from exc
        return cls.from_dict(data)

    def key(self) -> str:
        """Canonical text of the config: equal configs give equal keys (used to skip duplicates)."""
        return self.to_json()


def _keys(data: Any) -> str:
    return str(sorted(data)) if isinstance(data, Mapping) else type(data).__name__


def _parse_stage(index: int, stage: Any) -> tuple[BlockChoice, ...]:
    if not isinstance(stage, Mapping) or set(stage) != {"kernel_sizes", "expand_ratios"}:
        raise InvalidArchitectureError(
            f"architecture: stage {index} must have keys kernel_sizes and expand_ratios; got {_keys(stage)}."
        )
    kernels, expands = stage["kernel_sizes"], stage["expand_ratios"]
    if len(kernels) != len(expands):
        raise InvalidArchitectureError(
            f"architecture: stage {index} has {len(kernels)} kernel sizes but {len(expands)} expand ratios."
        )
    return tuple(BlockChoice(int(k), int(e)) for k, e in zip(kernels, expands))


def check_arch(config: ArchConfig, space: SearchSpace) -> ArchConfig:
    """Return ``config`` if it lies inside ``space``; otherwise say what is outside and what is allowed."""
    if not any(abs(config.width - w) < 1e-9 for w in space.widths):
        raise InvalidArchitectureError(f"architecture: width {config.width} is not one of {list(space.widths)}.")
    if config.resolution not in space.resolutions:
        raise InvalidArchitectureError(
            f"architecture: resolution {config.resolution} is not one of {list(space.resolutions)}."
        )
    if len(config.stages) != len(space.stages):
        raise InvalidArchitectureError(
            f"architecture: {len(config.stages)} stages given; the search space has {len(space.stages)}."
        )
    for index, stage in enumerate(config.stages):
        _check_stage(index, stage, space)
    return config


def _check_stage(index: int, stage: Sequence[BlockChoice], space: SearchSpace) -> None:
    choices = space.stage_choices(index)
    if len(stage) not in choices.depths:
        raise InvalidArchitectureError(
            f"architecture: stage {index} has depth {len(stage)}; allowed depths are {list(choices.depths)}."
        )
    for position, block in enumerate(stage):
        if block.kernel_size not in choices.kernel_sizes:
            raise InvalidArchitectureError(
                f"architecture: stage {index} block {position} has kernel size {block.kernel_size}; "
                f"allowed are {list(choices.kernel_sizes)}."
            )
        if block.expand_ratio not in choices.expand_ratios:
            raise InvalidArchitectureError(
                f"architecture: stage {index} block {position} has expand ratio {block.expand_ratio}; "
                f"allowed are {list(choices.expand_ratios)}."
            )
