"""Which sub-networks a training step may draw: the whole (W, R) space, or a progressive-shrinking phase.

Progressive shrinking (once-for-all, Cai et al. 2020) trains the largest network first and
then lets one dimension after another become elastic, so that small sub-networks are
fine-tuned from weights the large ones already learned:

=========  ==============================================  ========================
phase      kernel sizes / depths / expand ratios sampled    default share of epochs
=========  ==============================================  ========================
largest    max / max / max                                  1/4
kernel     all / max / max                                  1/4
depth      all / all / max                                  1/4
expand     all / all / all                                  1/4
=========  ==============================================  ========================

A :class:`SubnetSampler` draws from the space of one phase (the full space without
progressive shrinking) at the fixed width and resolution of the supernet being trained.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from mcunet_tf.arch import ArchConfig, BlockChoice
from mcunet_tf.sampling import sample_arch
from mcunet_tf.space import SearchSpace

__all__ = ["PHASES", "ShrinkingSchedule", "SubnetSampler"]

PHASES = ("largest", "kernel", "depth", "expand")


@dataclasses.dataclass(frozen=True)
class SubnetSampler:
    """Sub-networks of ``space`` at one (W, R), restricted to the choices of ``phase``."""

    space: SearchSpace
    width: float
    resolution: int
    phase: str = "expand"

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"progressive shrinking: unknown phase {self.phase!r}; phases are {list(PHASES)}.")

    @property
    def phase_space(self) -> SearchSpace:
        """The sub-space this phase samples from (the full space in phase 'expand')."""
        space, level = self.space, PHASES.index(self.phase)
        return dataclasses.replace(
            space,
            kernel_sizes=space.kernel_sizes if level >= 1 else (space.max_kernel_size,),
            depths=space.depths if level >= 2 else (space.max_depth,),
            expand_ratios=space.expand_ratios if level >= 3 else (space.max_expand_ratio,),
            widths=(self.width,),
            resolutions=(self.resolution,),
            # receptive-field redistribution narrows the full space only (the earlier phases'
            # single choices need not be among its restricted ones)
            patch_stages=space.patch_stages if level >= 3 else 0,
        )

    def largest(self) -> ArchConfig:
        return self._uniform(self.space.max_depth, self.space.max_kernel_size, self.space.max_expand_ratio)

    def smallest(self) -> ArchConfig:
        """The smallest sub-network of this phase (the sandwich rule's lower bound)."""
        sub = self.phase_space
        if sub.patch_stages:
            stages = []
            for index in range(len(sub.stages)):
                choices = sub.stage_choices(index)
                block = BlockChoice(min(choices.kernel_sizes), min(choices.expand_ratios))
                stages.append((block,) * min(choices.depths))
            return ArchConfig(self.width, self.resolution, tuple(stages))
        return self._uniform(min(sub.depths), min(sub.kernel_sizes), min(sub.expand_ratios))

    def sample(self, rng: np.random.Generator) -> ArchConfig:
        return sample_arch(self.phase_space, rng, width=self.width, resolution=self.resolution)

    def _uniform(self, depth: int, kernel: int, expand: int) -> ArchConfig:
        stage = (BlockChoice(kernel, expand),) * depth
        return ArchConfig(self.width, self.resolution, tuple(stage for _ in self.space.stages))


@dataclasses.dataclass(frozen=True)
class ShrinkingSchedule:
    """Epoch -> phase. ``shares`` are the relative lengths of the four phases."""

    epochs: int
    shares: Sequence[float] = (1.0, 1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if len(self.shares) != len(PHASES) or min(self.shares) < 0 or sum(self.shares) <= 0:
            raise ValueError(
                f"progressive shrinking: shares {list(self.shares)} must be {len(PHASES)} non-negative numbers, "
                "not all zero."
            )

    def phase(self, epoch: int) -> str:
        """Phase of ``epoch`` (0-based): the one in progress at the end of the epoch.

        The last epoch is always in the last phase (every dimension elastic), however few
        epochs there are; the last phase continues past ``epochs``.
        """
        total = sum(self.shares)
        position = (epoch + 1) / max(self.epochs, 1) * total
        edge = 0.0
        for name, share in zip(PHASES, self.shares):
            edge += share
            if share > 0 and position <= edge + 1e-9:
                return name
        return PHASES[-1]
