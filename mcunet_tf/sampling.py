"""Random architectures: uniform sampling, mutation and crossover (the evolutionary moves).

Every function takes a seeded ``numpy.random.Generator`` so that a search is reproducible,
and every result lies inside the search space by construction (and is checked anyway).
Mutation and crossover keep to the choices of the space; mutation keeps W and R, because
inside TinyNAS's second stage they are fixed by the space the first stage picked.
"""

from __future__ import annotations

import numpy as np

from mcunet_tf.arch import ArchConfig, BlockChoice, check_arch
from mcunet_tf.errors import InvalidArchitectureError
from mcunet_tf.space import SearchSpace

__all__ = ["sample_arch", "mutate_arch", "crossover_arch"]


def _pick(rng: np.random.Generator, choices: tuple) -> object:
    return choices[int(rng.integers(len(choices)))]


def _random_block(space: SearchSpace, rng: np.random.Generator, stage: int) -> BlockChoice:
    choices = space.stage_choices(stage)
    return BlockChoice(int(_pick(rng, choices.kernel_sizes)), int(_pick(rng, choices.expand_ratios)))


def sample_arch(
    space: SearchSpace,
    rng: np.random.Generator,
    *,
    width: float | None = None,
    resolution: int | None = None,
) -> ArchConfig:
    """A uniformly random sub-network; ``width`` / ``resolution`` fix W and R (a space of TinyNAS)."""
    chosen_width = float(_pick(rng, space.widths)) if width is None else float(width)
    chosen_resolution = int(_pick(rng, space.resolutions)) if resolution is None else int(resolution)
    if space.patch_stages:
        return check_arch(ArchConfig(chosen_width, chosen_resolution, _stages_by_choices(space, rng)), space)
    # Three vectorised draws instead of one per choice: sampling drives the 108-space analysis.
    count, max_depth = len(space.stages), space.max_depth
    depths = rng.integers(len(space.depths), size=count)
    kernels = rng.integers(len(space.kernel_sizes), size=(count, max_depth))
    expands = rng.integers(len(space.expand_ratios), size=(count, max_depth))
    stages = tuple(
        tuple(
            BlockChoice(space.kernel_sizes[kernels[s, b]], space.expand_ratios[expands[s, b]])
            for b in range(space.depths[depths[s]])
        )
        for s in range(count)
    )
    return check_arch(ArchConfig(chosen_width, chosen_resolution, stages), space)


def _stages_by_choices(space: SearchSpace, rng: np.random.Generator) -> tuple:
    """Uniform stages where stages choose among different sets (receptive-field redistribution)."""
    stages = []
    for index in range(len(space.stages)):
        depth = int(_pick(rng, space.stage_choices(index).depths))
        stages.append(tuple(_random_block(space, rng, index) for _ in range(depth)))
    return tuple(stages)


def mutate_arch(
    config: ArchConfig, space: SearchSpace, rng: np.random.Generator, probability: float = 0.1
) -> ArchConfig:
    """Resample each stage depth and each block choice independently with ``probability``.

    A stage that grows gets random new blocks at its end; one that shrinks drops its last
    blocks (the supernet keeps the first blocks of a stage).
    """
    if not 0.0 <= probability <= 1.0:
        raise InvalidArchitectureError(f"mutation probability {probability} must lie in [0, 1].")
    check_arch(config, space)
    stages = []
    for index, stage in enumerate(config.stages):
        blocks = [_mutate_block(block, space, rng, probability, index) for block in stage]
        if rng.random() < probability:
            depth = int(_pick(rng, space.stage_choices(index).depths))
            blocks = blocks[:depth] + [_random_block(space, rng, index) for _ in range(depth - len(blocks))]
        stages.append(tuple(blocks))
    return check_arch(ArchConfig(config.width, config.resolution, tuple(stages)), space)


def _mutate_block(
    block: BlockChoice, space: SearchSpace, rng: np.random.Generator, probability: float, stage: int
) -> BlockChoice:
    choices = space.stage_choices(stage)
    kernel = int(_pick(rng, choices.kernel_sizes)) if rng.random() < probability else block.kernel_size
    expand = int(_pick(rng, choices.expand_ratios)) if rng.random() < probability else block.expand_ratio
    return BlockChoice(kernel, expand)


def crossover_arch(first: ArchConfig, second: ArchConfig, space: SearchSpace, rng: np.random.Generator) -> ArchConfig:
    """Uniform crossover: W, R and each stage depth from either parent, each block from either parent that has it."""
    check_arch(first, space)
    check_arch(second, space)
    parents = (first, second)
    width = parents[int(rng.integers(2))].width
    resolution = parents[int(rng.integers(2))].resolution
    stages = []
    for a, b in zip(first.stages, second.stages):
        depth = len((a, b)[int(rng.integers(2))])
        blocks = []
        for position in range(depth):
            options = [stage[position] for stage in (a, b) if position < len(stage)]
            blocks.append(options[int(rng.integers(len(options)))])
        stages.append(tuple(blocks))
    return check_arch(ArchConfig(width, resolution, tuple(stages)), space)
