"""The shared compare-with-TFLM loop fails on one differing byte, and splits driver output right."""

from __future__ import annotations

import numpy as np
import pytest

from tests.harness import check_against_tflm, split_outputs


class _FakeTflm:
    """Stands in for TflmModel: output = input + 1, as int8."""

    def run(self, case):
        return [(case[0].astype(np.int16) + 1).astype(np.int8)]


_CASES = [[np.arange(6, dtype=np.int8).reshape(1, 6)], [np.full((1, 6), -3, dtype=np.int8)]]


def test_equal_outputs_pass_and_count_the_cases():
    runners = {"ours": lambda trial, case: _FakeTflm().run(case)}
    assert check_against_tflm(_FakeTflm(), _CASES, runners) == 2


def test_one_differing_byte_on_a_later_trial_fails_and_names_it():
    def ours(trial, case):
        out = _FakeTflm().run(case)
        if trial == 1:
            out[0][0, 4] += 1
        return out

    with pytest.raises(AssertionError, match="ours output 0 differs from TFLM on input 1: 1 of 6 values"):
        check_against_tflm(_FakeTflm(), _CASES, {"ours": ours})


def test_a_skipped_trial_is_not_compared_and_shapes_must_match_unless_reshaped():
    skipped = {"ours": lambda trial, case: None}
    assert check_against_tflm(_FakeTflm(), _CASES, skipped) == 2
    flat = {"ours": lambda trial, case: [_FakeTflm().run(case)[0].reshape(6)]}
    with pytest.raises(AssertionError):
        check_against_tflm(_FakeTflm(), _CASES, flat)
    assert check_against_tflm(_FakeTflm(), _CASES, flat, reshape=True) == 2


def test_split_outputs_follows_the_report():
    outputs = [{"dtype": "int8", "shape": [1, 2]}, {"dtype": "float32", "shape": [1]}]
    trial = [np.array([[5, -6]], dtype=np.int8), np.array([1.5], dtype=np.float32)]
    produced = np.frombuffer(b"".join(a.tobytes() for a in trial) * 2, dtype=np.uint8)
    split = split_outputs(produced, outputs, 2)
    assert len(split) == 2 and all(np.array_equal(a, b) for a, b in zip(split[1], trial))
    with pytest.raises(AssertionError):
        split_outputs(produced, outputs, 1)
