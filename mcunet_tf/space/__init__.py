"""The TinyNAS search space: the MCUNet/ProxylessNAS layout and the choices it allows.

One frozen object describes everything a sub-network may vary: the width multiplier W
and input resolution R (which define the 108 "spaces" the first stage of TinyNAS ranks),
and inside a space the per-stage depth and per-block kernel size and expand ratio.
Supernet, extraction, the cost model and sampling all read the layout from here, so the
three views of a network (Keras supernet, Keras sub-network, engine graph) cannot drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mcunet_tf.errors import InvalidSearchSpaceError

__all__ = [
    "StageSpec",
    "NetworkChannels",
    "SearchSpace",
    "MCUNET_STAGES",
    "MCUNET_WIDTHS",
    "MCUNET_RESOLUTIONS",
    "make_divisible",
    "StageChoices",
    "redistribute_receptive_field",
]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` (MobileNet's rule).

    Rounds to the nearest multiple, never below ``min_value`` (default ``divisor``), and
    adds one more ``divisor`` when rounding down would lose more than 10 % of the channels.
    """
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """One stage of inverted-residual blocks: output channels at W = 1, stride of its first block."""

    channels: int
    stride: int


#: ProxylessNAS / MCUNet stage layout after the first MBConv (channels at W = 1, strides).
MCUNET_STAGES = (
    StageSpec(24, 2),
    StageSpec(40, 2),
    StageSpec(80, 2),
    StageSpec(96, 1),
    StageSpec(192, 2),
    StageSpec(320, 1),
)
MCUNET_WIDTHS = tuple(round(0.1 * k, 1) for k in range(2, 11))
MCUNET_RESOLUTIONS = tuple(range(48, 225, 16))


@dataclasses.dataclass(frozen=True)
class NetworkChannels:
    """Channel counts of a network at one width multiplier (already rounded by make_divisible)."""

    stem: int
    first_block: int
    stages: tuple[int, ...]
    head: int


@dataclasses.dataclass(frozen=True)
class StageChoices:
    """What the blocks of one stage may choose."""

    kernel_sizes: tuple[int, ...]
    expand_ratios: tuple[int, ...]
    depths: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The supernet layout and every choice a sub-network can make.

    The first MBConv block is fixed (kernel 3, expand ratio 1), as in MCUNet; every block of
    the stages chooses its kernel size and expand ratio, and every stage its depth (the
    first ``depth`` blocks are kept). All channel counts scale with the width multiplier.
    """

    stem_channels: int = 32
    first_block_channels: int = 16
    stages: tuple[StageSpec, ...] = MCUNET_STAGES
    head_channels: int = 1280
    num_classes: int = 1000
    kernel_sizes: tuple[int, ...] = (3, 5, 7)
    expand_ratios: tuple[int, ...] = (3, 4, 6)
    depths: tuple[int, ...] = (2, 3, 4)
    widths: tuple[float, ...] = MCUNET_WIDTHS
    resolutions: tuple[int, ...] = MCUNET_RESOLUTIONS
    divisor: int = 8
    #: MCUNetV2's receptive-field redistribution: the first ``patch_stages`` stages (the
    #: high-resolution ones a patch schedule runs patch by patch) choose only among
    #: ``patch_kernel_sizes`` and ``patch_expand_ratios``, so the halo each patch recomputes
    #: stays small, and the stage after them only among ``after_patch_depths`` (its deeper
    #: depths), which gives back the receptive field and capacity. 0 turns it off.
    patch_stages: int = 0
    patch_kernel_sizes: tuple[int, ...] = (3,)
    patch_expand_ratios: tuple[int, ...] = (3, 4)
    after_patch_depths: tuple[int, ...] = (3, 4)

    def __post_init__(self) -> None:
        self._check_choices()
        if not 0 <= self.patch_stages < len(self.stages):
            raise InvalidSearchSpaceError(
                f"search space: patch_stages {self.patch_stages} must lie in 0..{len(self.stages) - 1}."
            )
        for name, subset, whole in (
            ("patch_kernel_sizes", self.patch_kernel_sizes, self.kernel_sizes),
            ("patch_expand_ratios", self.patch_expand_ratios, self.expand_ratios),
            ("after_patch_depths", self.after_patch_depths, self.depths),
        ):
            if self.patch_stages and (not subset or not set(subset) <= set(whole)):
                raise InvalidSearchSpaceError(
                    f"search space: '{name}' {list(subset)} must be a non-empty subset of {list(whole)} "
                    "(the supernet holds the whole space)."
                )

    @property
    def whole(self) -> "SearchSpace":
        """This space without receptive-field redistribution: what a supernet of it trains and
        runs (the sandwich rule's largest network has the largest kernels everywhere)."""
        return dataclasses.replace(self, patch_stages=0) if self.patch_stages else self

    def stage_choices(self, index: int) -> StageChoices:
        """The choices of stage ``index`` (restricted around the patch stage when redistributing)."""
        if index < self.patch_stages:
            return StageChoices(self.patch_kernel_sizes, self.patch_expand_ratios, self.depths)
        if self.patch_stages and index == self.patch_stages:
            return StageChoices(self.kernel_sizes, self.expand_ratios, self.after_patch_depths)
        return StageChoices(self.kernel_sizes, self.expand_ratios, self.depths)

    def _check_choices(self) -> None:
        for name in ("kernel_sizes", "expand_ratios", "depths", "widths", "resolutions", "stages"):
            values = getattr(self, name)
            if not values:
                raise InvalidSearchSpaceError(f"search space: '{name}' is empty; give at least one choice.")
            if name != "stages" and tuple(sorted(set(values))) != tuple(values):
                raise InvalidSearchSpaceError(f"search space: '{name}' {list(values)} must be strictly increasing.")
        if any(k < 1 or k % 2 == 0 for k in self.kernel_sizes):
            raise InvalidSearchSpaceError(
                f"search space: kernel sizes {list(self.kernel_sizes)} must be odd and positive."
            )
        if min(self.expand_ratios) < 1 or min(self.depths) < 1 or min(self.widths) <= 0:
            raise InvalidSearchSpaceError("search space: expand ratios, depths and widths must be positive.")
        if min(self.resolutions) < 8 or self.num_classes < 1:
            raise InvalidSearchSpaceError("search space: resolutions must be at least 8 and num_classes at least 1.")
        if any(s.stride not in (1, 2) or s.channels < 1 for s in self.stages):
            raise InvalidSearchSpaceError("search space: stage strides must be 1 or 2 and channels positive.")

    @property
    def max_depth(self) -> int:
        return max(self.depths)

    @property
    def max_kernel_size(self) -> int:
        return max(self.kernel_sizes)

    @property
    def max_expand_ratio(self) -> int:
        return max(self.expand_ratios)

    def channels(self, width: float) -> NetworkChannels:
        """Channel counts at width multiplier ``width`` (every count scaled, then make_divisible)."""

        def scale(channels: int) -> int:
            return make_divisible(channels * width, self.divisor)

        return NetworkChannels(
            stem=scale(self.stem_channels),
            first_block=scale(self.first_block_channels),
            stages=tuple(scale(s.channels) for s in self.stages),
            head=scale(self.head_channels),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (stages as [channels, stride] pairs)."""
        result = dataclasses.asdict(self)
        result["stages"] = [[s.channels, s.stride] for s in self.stages]
        for key, value in result.items():
            if isinstance(value, tuple):
                result[key] = list(value)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SearchSpace":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidSearchSpaceError(f"search space: unknown keys {unknown}; known keys are {sorted(known)}.")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "stages":
                values[key] = tuple(StageSpec(int(c), int(s)) for c, s in value)
            elif isinstance(value, (list, tuple)):
                values[key] = tuple(value)
            else:
                values[key] = value
        return cls(**values)


def redistribute_receptive_field(space: SearchSpace, patch_stages: int = 1) -> SearchSpace:
    """``space`` with MCUNetV2's receptive-field redistribution around the first ``patch_stages``
    stages: small kernels and expand ratios inside the patch stage, a deeper stage after it."""
    deeper = tuple(d for d in space.depths if d >= sorted(space.depths)[len(space.depths) // 2])
    kernels = tuple(k for k in space.kernel_sizes if k == min(space.kernel_sizes))
    expands = tuple(space.expand_ratios[: max(1, len(space.expand_ratios) - 1)])
    return dataclasses.replace(
        space, patch_stages=patch_stages, patch_kernel_sizes=kernels, patch_expand_ratios=expands,
        after_patch_depths=deeper,
    )
