"""tinyengine_gen.flag_rules: each rule refuses what it names (NaN too) and lets an unset optional flag pass."""

from __future__ import annotations

import pytest
from absl import flags

from tinyengine_gen import flag_rules


def _parse(define, rule, *args: str) -> flags.FlagValues:
    values = flags.FlagValues()
    define(values)
    rule(values)
    values(["program", *args])
    return values


def _float(values: flags.FlagValues) -> None:
    flags.DEFINE_float("x", None, "a number", flag_values=values)


def _integer(values: flags.FlagValues) -> None:
    flags.DEFINE_integer("x", None, "a count", flag_values=values)


def _string(values: flags.FlagValues) -> None:
    flags.DEFINE_string("x", None, "a path", flag_values=values)


@pytest.mark.parametrize(
    ("define", "rule", "bad", "good", "message"),
    [
        (_float, lambda v: flag_rules.positive_number("x", v), ["nan", "inf", "0", "-1"], ["0.5"], "greater than 0"),
        (_float, lambda v: flag_rules.non_negative_number("x", v), ["nan", "-0.1", "-inf"], ["0", "3"], "0 or more"),
        (_float, lambda v: flag_rules.probability("x", v), ["nan", "-1", "1.01"], ["0", "1", "0.3"], r"in \[0, 1\]"),
        (_float, lambda v: flag_rules.number_in("x", 0, 100, v), ["nan", "101"], ["100"], r"in \[0, 100\]"),
        (_float, lambda v: flag_rules.exclusive_fraction("x", v), ["nan", "0", "1"], ["0.25"], "strictly between"),
        (_integer, lambda v: flag_rules.at_least("x", 1, v), ["0", "-3"], ["1"], "at least 1"),
    ],
)
def test_numbers_outside_the_rule_are_refused_with_the_flag_named(define, rule, bad, good, message):
    for value in bad:
        with pytest.raises(flags.IllegalFlagValueError, match=rf"flag --x={value}\S*: must .*{message}"):
            _parse(define, rule, f"--x={value}")
    for value in good:
        assert _parse(define, rule, f"--x={value}").x == float(value)
    assert _parse(define, rule).x is None  # unset optional flags pass


def test_an_output_folder_may_be_new_but_not_a_file_or_under_one(tmp_path):
    rule = lambda v: flag_rules.folder_path("x", v)  # noqa: E731
    (tmp_path / "file").write_text("user data")
    for bad in (tmp_path / "file", tmp_path / "file" / "sub"):
        with pytest.raises(flags.IllegalFlagValueError, match=r"is a file \(or lies under one\); give a folder path"):
            _parse(_string, rule, f"--x={bad}")
    for good in (tmp_path, tmp_path / "new" / "deeper"):
        assert _parse(_string, rule, f"--x={good}").x == str(good)
    assert (tmp_path / "file").read_text() == "user data"


def test_an_input_file_must_exist(tmp_path):
    rule = lambda v: flag_rules.existing_file("x", v)  # noqa: E731
    with pytest.raises(flags.IllegalFlagValueError, match="no such file"):
        _parse(_string, rule, f"--x={tmp_path / 'missing.tflite'}")
    with pytest.raises(flags.IllegalFlagValueError, match="no such file"):
        _parse(_string, rule, f"--x={tmp_path}")
    (tmp_path / "m.tflite").write_bytes(b"x")
    assert _parse(_string, rule, f"--x={tmp_path / 'm.tflite'}").x.endswith("m.tflite")



def test_a_required_flag_says_what_to_pass():
    rule = lambda v: flag_rules.required("x", "pass the model file", v)  # noqa: E731
    with pytest.raises(flags.IllegalFlagValueError, match=r"flag --x=None: is required: pass the model file"):
        _parse(_string, rule)
    assert _parse(_string, rule, "--x=m.tflite").x == "m.tflite"
