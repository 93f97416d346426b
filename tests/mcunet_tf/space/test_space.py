"""SearchSpace: the MCUNet layout, channel rounding, validation and the dict form."""

from __future__ import annotations

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
