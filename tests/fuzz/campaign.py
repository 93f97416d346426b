"""A seeded fuzzing campaign over the reader and the compiler, and its regression corpus.

Input ``i`` of a campaign with seed ``s`` is a pure function of (seed model, s, i), so a
failure is reproduced from its recipe even when the input itself is too large to keep.
CI runs a short campaign (tests/fuzz/test_fuzz.py); run a long one with

    .venv/bin/python -m tests.fuzz.campaign --inputs=200000 --seed=7

which saves every failing input under tests/fuzz/corpus/ (small files as bytes, large
ones as a line in recipes.json), where tests/fuzz/test_corpus.py replays them.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import json
import random
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from tests.fuzz.mutators import Seed, byte_mutation, structure_mutation
from tests.fuzz.target import PER_INPUT_SECONDS, run_one

__all__ = ["CORPUS", "MAX_CORPUS_FILE_BYTES", "Failure", "Result", "make_input", "fuzz", "distinct", "save_failures"]

CORPUS = Path(__file__).resolve().parent / "corpus"
MAX_CORPUS_FILE_BYTES = 64 * 1024


def make_input(seed: Seed, campaign_seed: int, index: int) -> bytes:
    """Input ``index`` of campaign ``campaign_seed`` made from ``seed`` (deterministic)."""
    rng = random.Random(f"{campaign_seed}:{index}")
    if rng.random() < 0.5:
        return byte_mutation(seed, rng)
    return structure_mutation(seed, rng)


@dataclasses.dataclass(frozen=True)
class Failure:
    seed_name: str
    campaign_seed: int
    index: int
    data: bytes
    error: str  # exception type and message
    traceback: str
    where: str  # file:line of the innermost frame, to group failures by bug

    @property
    def key(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


@dataclasses.dataclass
class Result:
    count: int = 0
    seconds: float = 0.0
    outcomes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    failures: list[Failure] = dataclasses.field(default_factory=list)
    #: (seed position, input index) of every input the compiler accepted, to rebuild with make_input
    accepted: list[tuple[int, int]] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        histogram = ", ".join(f"{label} {n}" for label, n in sorted(self.outcomes.items()))
        return f"{self.count} fuzzed inputs in {self.seconds:.1f} s: {histogram}"


def fuzz(seeds: Sequence[Seed], inputs: int, campaign_seed: int = 0, seconds: float = PER_INPUT_SECONDS) -> Result:
    """Run ``inputs`` mutated models through the target, round robin over ``seeds``."""
    result = Result()
    start = time.perf_counter()
    for index in range(inputs):
        seed = seeds[index % len(seeds)]
        data = make_input(seed, campaign_seed, index)
        try:
            outcome = run_one(data, source=f"{seed.name}-{campaign_seed}-{index}.tflite", seconds=seconds)
        except Exception as exc:  # noqa: BLE001 - the point: anything but TinyEngineError is a finding
            label = f"FAIL {type(exc).__name__}"
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            error = f"{type(exc).__name__}: {exc}"
            result.failures.append(Failure(seed.name, campaign_seed, index, data, error, traceback.format_exc(), where))
        else:
            label = outcome.label
            if label == "ok":
                result.accepted.append((index % len(seeds), index))
        result.outcomes[label] += 1
        result.count += 1
    result.seconds = time.perf_counter() - start
    return result


def distinct(failures: Sequence[Failure]) -> list[Failure]:
    """One failure per bug (exception type and innermost frame), the smallest input of each."""
    best: dict[tuple[str, str], Failure] = {}
    for failure in failures:
        key = (failure.error.split(":")[0], failure.where)
        if key not in best or len(failure.data) < len(best[key].data):
            best[key] = failure
    return [best[key] for key in sorted(best)]


def save_failures(failures: Sequence[Failure], folder: Path) -> list[Path]:
    """Keep one input per bug: small ones as ``crash-<hash>.tflite``, large ones as recipes."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    recipes_path = folder / "recipes.json"
    recipes = json.loads(recipes_path.read_text()) if recipes_path.exists() else []
    for failure in distinct(failures):
        if len(failure.data) <= MAX_CORPUS_FILE_BYTES:
            path = folder / f"crash-{failure.key}.tflite"
            path.write_bytes(failure.data)
            saved.append(path)
        else:
            recipe = {"seed_model": failure.seed_name, "campaign_seed": failure.campaign_seed, "index": failure.index}
            if recipe not in recipes:
                recipes.append(recipe)
    if recipes:
        recipes_path.write_text(json.dumps(recipes, indent=1, sort_keys=True) + "\n")
        saved.append(recipes_path)
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no_shared", action="store_true", help="only the models built in code")
    args = parser.parse_args(argv)
    from tests.fuzz.seeds import built_seeds, shared_seeds

    seeds = built_seeds() + (() if args.no_shared else shared_seeds())
    result = fuzz(seeds, args.inputs, args.seed)
    print(result.summary())
    for failure in distinct(result.failures):
        count = sum(f.where == failure.where for f in result.failures)
        example = f"{failure.seed_name} seed {failure.campaign_seed} input {failure.index}"
        print(f"--- {count} x {failure.error[:200]} at {failure.where}, e.g. {example}")
        print(failure.traceback)
    for path in save_failures(result.failures, args.corpus):
        print(f"saved {path}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
