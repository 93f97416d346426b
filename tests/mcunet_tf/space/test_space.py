"""SearchSpace: the MCUNet layout, channel rounding, validation and the dict form."""

from __future__ import annotations

import dataclasses

import pytest

from mcunet_tf.errors import InvalidSearchSpaceError
from mcunet_tf.space import MCUNET_RESOLUTIONS, MCUNET_WIDTHS, SearchSpace, StageSpec, make_divisible


def test_make_divisible_rounds_to_multiples_of_8_without_losing_10_percent():
    assert make_divisible(32) == 32
    assert make_divisible(6.4) == 8  # never below the divisor
    assert make_divisible(19.2) == 24  # 16 would lose more than 10 %
    assert make_divisible(36) == 40  # rounds half up
    assert all(make_divisible(c * w) % 8 == 0 for c in (16, 24, 40, 1280) for w in MCUNET_WIDTHS)


def test_default_space_is_the_108_mcunet_spaces():
    space = SearchSpace()
    assert len(MCUNET_WIDTHS) * len(MCUNET_RESOLUTIONS) == 108
    assert space.widths[0] == 0.2 and space.widths[-1] == 1.0 and 0.3 in space.widths
    assert space.resolutions == tuple(range(48, 225, 16))
    assert [(s.channels, s.stride) for s in space.stages] == [(24, 2), (40, 2), (80, 2), (96, 1), (192, 2), (320, 1)]
    assert (space.max_depth, space.max_kernel_size, space.max_expand_ratio) == (4, 7, 6)


def test_channels_scale_with_width():
    space = SearchSpace()
    full = space.channels(1.0)
    assert (full.stem, full.first_block, full.stages, full.head) == (32, 16, (24, 40, 80, 96, 192, 320), 1280)
    small = space.channels(0.5)
    assert (small.stem, small.first_block, small.stages, small.head) == (16, 8, (16, 24, 40, 48, 96, 160), 640)


def test_dict_round_trip():
    space = SearchSpace(num_classes=2, resolutions=(64, 96), stages=(StageSpec(16, 2),))
    assert SearchSpace.from_dict(space.to_dict()) == space


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kernel_sizes": ()}, "'kernel_sizes' is empty"),
        ({"kernel_sizes": (4,)}, "must be odd"),
        ({"depths": (3, 2)}, "strictly increasing"),
        ({"stages": (StageSpec(16, 3),)}, "strides must be 1 or 2"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_inconsistent_spaces_are_refused(changes, message):
    with pytest.raises(InvalidSearchSpaceError, match=message):
        SearchSpace(**changes)


def test_unknown_keys_are_refused():
    with pytest.raises(InvalidSearchSpaceError, match="unknown keys"):
        SearchSpace.from_dict({"depth": [2]})


def test_receptive_field_redistribution_narrows_the_patch_stage_and_deepens_the_next():
    import numpy as np

    from mcunet_tf.arch import check_arch
    from mcunet_tf.errors import InvalidArchitectureError
    from mcunet_tf.sampling import crossover_arch, mutate_arch, sample_arch
    from mcunet_tf.space import redistribute_receptive_field
    from mcunet_tf.space.ranking import smallest_arch

    space = redistribute_receptive_field(SearchSpace(), patch_stages=1)
    assert space.stage_choices(0).kernel_sizes == (3,) and space.stage_choices(0).expand_ratios == (3, 4)
    assert space.stage_choices(1).depths == (3, 4) and space.stage_choices(2) == SearchSpace().stage_choices(2)
    rng = np.random.default_rng(0)
    configs = [sample_arch(space, rng, width=0.3, resolution=96) for _ in range(30)]
    configs += [mutate_arch(c, space, rng, 0.5) for c in configs[:10]]
    configs += [crossover_arch(a, b, space, rng) for a, b in zip(configs[:10], configs[10:20])]
    for config in configs + [smallest_arch(space)]:
        assert all(b.kernel_size == 3 and b.expand_ratio in (3, 4) for b in config.stages[0])
        assert len(config.stages[1]) in (3, 4)
    outside = sample_arch(SearchSpace(), np.random.default_rng(1), width=0.3, resolution=96)
    wide = dataclasses.replace(outside, stages=((outside.stages[0][0].__class__(7, 6),) * 2,) + outside.stages[1:])
    with pytest.raises(InvalidArchitectureError, match="stage 0 block 0 has kernel size 7"):
        check_arch(wide, space)


def test_redistribution_choices_must_lie_inside_the_supernet_space():
    with pytest.raises(InvalidSearchSpaceError, match="patch_kernel_sizes"):
        SearchSpace(patch_stages=1, patch_kernel_sizes=(9,))
    with pytest.raises(InvalidSearchSpaceError, match="patch_stages"):
        SearchSpace(patch_stages=6)
