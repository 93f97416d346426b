"""CI fuzzing: at least 5,000 mutated models through the reader and the compiler, in bounded time.

Every input must compile or fail with a TinyEngineError (one line, exit status 2 for the
user); any other exception, or an input running past the per-input time limit, fails
the test and the input is kept for tests/fuzz/corpus. A sample of the accepted inputs is
then built under UndefinedBehaviorSanitizer (``-fno-sanitize-recover=all``) and run: an
accepted file must give C free of undefined behaviour (a requantisation shifting by 34
bits, a zero stride). Scale it up with the environment:
``TE_FUZZ_INPUTS=100000 TE_FUZZ_SEED=3 TE_FUZZ_UBSAN=50 pytest tests/fuzz/test_fuzz.py``.
"""

from __future__ import annotations

import os
import random
import shutil

import numpy as np
import pytest

from tests.fuzz.campaign import Result, distinct, fuzz, make_input, save_failures
from tests.fuzz.seeds import built_seeds, shared_seeds

FUZZ_INPUTS = int(os.environ.get("TE_FUZZ_INPUTS", "5000"))
FUZZ_SEED = int(os.environ.get("TE_FUZZ_SEED", "0"))
#: accepted inputs built and run under UBSan (a few seconds each)
UBSAN_SAMPLE = int(os.environ.get("TE_FUZZ_UBSAN", "3"))
UBSAN_FLAGS = ("-std=c99", "-fsanitize=undefined", "-fno-sanitize-recover=all", "-g", "-O1")
#: the default sample takes only small accepted inputs (a UBSan build of a real model takes ~20 s)
_SMALL_MACS = 2_000_000


def test_fuzz_reader_and_compiler(tmp_path, capsys):
    seeds = built_seeds() + shared_seeds()
    result = fuzz(seeds, FUZZ_INPUTS, FUZZ_SEED)
    with capsys.disabled():
        print(f"\n[fuzz] {len(seeds)} seed models ({', '.join(s.name for s in seeds)}); {result.summary()}")
    assert result.count >= FUZZ_INPUTS
    assert result.outcomes["ok"] > 0, "no mutated model compiled: the mutations are too destructive to reach the ops"
    if result.failures:
        saved = save_failures(result.failures, tmp_path / "corpus")
        bugs = distinct(result.failures)
        lines = [f"{len(result.failures)} inputs raised something other than TinyEngineError, {len(bugs)} distinct:"]
        for bug in bugs:
            count = sum(f.where == bug.where for f in result.failures)
            lines.append(f"  {count} x {bug.error[:200]} at {bug.where} (e.g. {bug.seed_name} input {bug.index})")
        lines.append(f"One input per bug kept in {tmp_path / 'corpus'} ({len(saved)} files); copy them to")
        lines.append("tests/fuzz/corpus/ once fixed. First traceback:")
        raise AssertionError("\n".join(lines) + "\n" + bugs[0].traceback)
    _check_accepted_under_ubsan(seeds, result, UBSAN_SAMPLE, FUZZ_SEED, tmp_path, max_macs=_SMALL_MACS)


@pytest.mark.slow
def test_fuzz_accepted_inputs_under_ubsan_large_sample(tmp_path):
    """The same check on 40 accepted inputs of another campaign (about two minutes)."""
    seeds = built_seeds() + shared_seeds()
    result = fuzz(seeds, 2000, FUZZ_SEED + 1)
    _check_accepted_under_ubsan(seeds, result, 40, FUZZ_SEED + 1, tmp_path, max_macs=50_000_000)


def _check_accepted_under_ubsan(
    seeds, result: Result, sample: int, campaign_seed: int, tmp_path, max_macs: int
) -> None:
    """Build the generated C of ``sample`` accepted inputs (of at most ``max_macs``) under
    UBSan and run each once on a random input."""
    from tests.model_factory import random_inputs
    from tests.tinyengine_gen.test_sanitizers import build_and_run_sanitized
    from tinyengine_gen.codegen.project import generate, write_project
    from tinyengine_gen.frontend.reader import read_model_bytes

    if sample <= 0 or shutil.which("gcc") is None:
        return
    order = list(result.accepted)
    random.Random(campaign_seed).shuffle(order)
    built = 0
    for position, index in order:
        if built == sample:
            break
        name = f"{seeds[position].name}-{campaign_seed}-{index}"
        project = generate(read_model_bytes(make_input(seeds[position], campaign_seed, index), source=f"{name}.tflite"))
        report = project.report
        if report["macs"] > max_macs or report["arena_bytes"] > 1 << 22:
            continue
        folder = write_project(project, tmp_path / name)
        cases = [random_inputs(report["inputs"], np.random.default_rng(index))]
        build_and_run_sanitized(project, folder, cases, name, flags=UBSAN_FLAGS)
        built += 1
    assert built > 0, "no accepted input was small enough to run under UBSan"
