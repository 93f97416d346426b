"""BUILD stays in step with the tree: every module, test file and kernel source, and nothing else.

Bazel cannot fetch its rule sets offline here, so this test reads BUILD itself. BUILD is
Starlark, a Python subset: ``ast`` parses it and a small evaluator below handles what
BUILD files use (literals, ``+``, variables, rule calls). It checks that

* every ``*.py`` of the packages and of tests/ is in the ``srcs`` of a py target, and
  every ``tests/**/test_*.py`` has exactly one ``py_test`` of its own;
* every kernel ``.c`` / ``.h`` in tinyengine_gen/kernels is in the ``te_kernels`` cc_library;
* every source BUILD names exists, target names are unique, every ``:label`` resolves;
* each py target depends on the targets owning the project modules its files import,
  and on the pip requirement of every third-party package they import.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path
from typing import Any

from tests.shared_assets import PROJECT_ROOT

BUILD = PROJECT_ROOT / "BUILD"
PACKAGE_DIRS = ("tinyengine_gen", "tflm_backend", "mcunet_tf", "datasets", "benchmarks", "tests")
KERNEL_DIR = "tinyengine_gen/kernels"
PY_RULES = {"py_library", "py_binary", "py_test"}
#: import name -> pip requirement name
REQUIREMENTS = {
    "absl": "absl-py",
    "flatbuffers": "flatbuffers",
    "hypothesis": "hypothesis",
    "keras_tuner": "keras-tuner",
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "pytest": "pytest",
    "tensorflow": "tensorflow",
    "tensorflow_model_optimization": "tensorflow-model-optimization",
    "tf_keras": "tf-keras",
    "tflite_micro": "tflite-micro",
}
#: import name -> the folder of the project package it lives in
PROJECT_PACKAGES = {
    "tinyengine_gen": "tinyengine_gen",
    "tflm_backend": "tflm_backend",
    "mcunet_tf": "mcunet_tf",
    "mcunet_datasets": "datasets",
    "tests": "tests",
    "benchmarks": "benchmarks",
}


@dataclasses.dataclass(frozen=True)
class Rule:
    kind: str
    attrs: dict[str, Any]

    @property
    def name(self) -> str:
        return self.attrs["name"]

    def files(self, *attrs: str) -> list[str]:
        return [v for a in attrs for v in self.attrs.get(a, []) if isinstance(v, str) and not v.startswith((":", "@"))]


class _Requirement(str):
    """What ``requirement("numpy")`` evaluates to: the pip package name, marked as such."""


def _evaluate(node: ast.AST, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_evaluate(k, names): _evaluate(v, names) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _evaluate(node.left, names) + _evaluate(node.right, names)
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "requirement":
        return _Requirement(_evaluate(node.args[0], names))
    raise ValueError(f"BUILD line {getattr(node, 'lineno', '?')}: unsupported expression {ast.dump(node)[:80]}")


def parse_build(text: str) -> list[Rule]:
    """Rule calls of a BUILD file, with their keyword arguments evaluated."""
    names: dict[str, Any] = {}
    rules = []
    for statement in ast.parse(text).body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            names[statement.targets[0].id] = _evaluate(statement.value, names)  # type: ignore[attr-defined]
            continue
        assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call), statement.lineno
        call = statement.value
        assert isinstance(call.func, ast.Name), statement.lineno
        if call.func.id == "load":
            continue
        attrs = {k.arg: _evaluate(k.value, names) for k in call.keywords if k.arg}
        rules.append(Rule(call.func.id, attrs))
    return rules


def _rules() -> list[Rule]:
    return parse_build(BUILD.read_text())


def _python_files() -> set[str]:
    found = set()
    for folder in PACKAGE_DIRS:
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                found.add(str(path.relative_to(PROJECT_ROOT)))
    return found


def _generated_files(rules: list[Rule]) -> set[str]:
    return {out for rule in rules if rule.kind == "genrule" for out in rule.attrs.get("outs", [])}


def test_build_parses_and_names_are_unique():
    rules = _rules()
    names = [rule.name for rule in rules if "name" in rule.attrs]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    labels = set(names) | {f"{n}.py" for r in rules if r.kind == "py_pytest_main" for n in [r.name]}
    labels |= _generated_files(rules)
    for rule in rules:
        for attr in ("srcs", "hdrs", "deps", "data", "tools", "main"):
            values = rule.attrs.get(attr, [])
            for value in [values] if isinstance(values, str) else values:
                if isinstance(value, str) and value.startswith(":"):
                    assert value[1:] in labels, f"{rule.name}: {attr} names {value}, which BUILD does not define"


def test_every_python_module_is_in_a_target_and_nothing_else():
    rules = _rules()
    named = {f for rule in rules if rule.kind in PY_RULES for f in rule.files("srcs")}
    existing = _python_files()
    missing = sorted(existing - named)
    stale = sorted(f for f in named if not (PROJECT_ROOT / f).is_file())
    assert not missing, f"add these to BUILD (py_library srcs, or a py_test each): {missing}"
    assert not stale, f"BUILD names files that do not exist: {stale}"


def test_every_test_file_has_one_py_test():
    rules = _rules()
    tests = sorted(f for f in _python_files() if Path(f).name.startswith("test_") and f.startswith("tests/"))
    owners: dict[str, list[str]] = {}
    for rule in rules:
        if rule.kind == "py_test":
            sources = [f for f in rule.files("srcs") if Path(f).name.startswith("test_")]
            assert len(sources) == 1, f"py_test {rule.name} should hold exactly one test file, has {sources}"
            owners.setdefault(sources[0], []).append(rule.name)
    missing, stale = sorted(set(tests) - set(owners)), sorted(set(owners) - set(tests))
    assert not missing and not stale, {"add a py_test for": missing, "remove the py_test of": stale}
    assert all(len(names) == 1 for names in owners.values()), owners


def test_every_kernel_source_is_in_the_cc_library():
    (kernels,) = [rule for rule in _rules() if rule.kind == "cc_library" and rule.name == "te_kernels"]
    c_files = sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / KERNEL_DIR).glob("*.c"))
    headers = sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / KERNEL_DIR).rglob("*.h"))
    assert sorted(kernels.attrs["srcs"]) == c_files, {"expected": c_files}
    assert sorted(kernels.attrs["hdrs"]) == headers, {"expected": headers}


def test_every_named_source_exists():
    rules = _rules()
    generated = _generated_files(rules)
    for rule in rules:
        for path in rule.files("srcs", "hdrs", "data"):
            assert path in generated or (PROJECT_ROOT / path).is_file(), f"{rule.name}: {path} does not exist"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_py_targets_declare_what_their_files_import():
    rules = _rules()
    libraries = [rule for rule in rules if rule.kind == "py_library"]
    owner = {f: rule.name for rule in libraries for f in rule.files("srcs")}
    package_targets: dict[str, set[str]] = {}
    for source, target in owner.items():
        package_targets.setdefault(source.split("/")[0], set()).add(target)
    problems = []
    for rule in rules:
        if rule.kind not in PY_RULES:
            continue
        deps = set(rule.attrs.get("deps", []))
        local = {d[1:] for d in deps if d.startswith(":")}
        pip = {str(d) for d in deps if isinstance(d, _Requirement)}
        for source in rule.files("srcs"):
            for module in sorted(_imports(PROJECT_ROOT / source)):
                where = f"{rule.name}: {source} imports {module}"
                if module in REQUIREMENTS and REQUIREMENTS[module] not in pip:
                    problems.append(f"{where}; add requirement({REQUIREMENTS[module]!r})")
                elif module in PROJECT_PACKAGES:
                    targets = package_targets.get(PROJECT_PACKAGES[module], set())
                    if rule.name not in targets and not targets & local:
                        problems.append(f"{where}; add a dep on one of {sorted(targets)}")
                elif module not in sys.stdlib_module_names and module not in REQUIREMENTS:
                    problems.append(f"{where}, which is neither stdlib nor a known requirement (REQUIREMENTS)")
    assert not problems, "\n".join(problems)


def test_parse_build_reads_the_starlark_subset():
    rules = parse_build(
        'load("@x//:y.bzl", "r")\n'
        'SRCS = ["a.c"]\n'
        'cc_library(name = "k", srcs = SRCS + ["b.c"], deps = [requirement("numpy")])\n'
    )
    assert rules == [Rule("cc_library", {"name": "k", "srcs": ["a.c", "b.c"], "deps": ["numpy"]})]
    assert isinstance(rules[0].attrs["deps"][0], _Requirement)


# --- regenerating BUILD -----------------------------------------------------------------------
# ``.venv/bin/python -m tests.test_build_file`` rewrites BUILD from the tree with the rules the
# tests above check (explicit source lists, deps from imports). Review the diff before committing.

_LIBRARIES = {  # target -> (folder, comment)
    "tinyengine_gen": (
        "tinyengine_gen",
        "# The compiler. Its subpackages are in the same target: the compiler imports every op module\n"
        "# to register it and the ops import the IR, so the packages form one import cycle.",
    ),
    "tflm_backend": ("tflm_backend", "# Stock TFLite Micro runs and the side-by-side comparison."),
    "mcunet_tf": ("mcunet_tf", "# TinyNAS: supernet, search space, cost model, search, QAT."),
    "mcunet_datasets": ("datasets", "# Input pipelines, installed as mcunet_datasets (pyproject package-dir)."),
    "test_support": ("tests", "# Shared test helpers: harness, model factory, shared assets, the fuzzing library."),
}
_BINARIES = (
    ("tinyengine_gen_main", "tinyengine_gen/__main__.py", "python -m tinyengine_gen --tflite=MODEL --out=DIR"),
    ("tflm_compare", "tflm_backend/compare.py", "python -m tflm_backend.compare --tflite=MODEL"),
    ("quickstart", "mcunet_tf/quickstart.py", "the main job (bash run.sh demo)"),
    ("tiny_model", "tests/fuzz/tiny_model.py", "writes the tiny CONV_2D model the example below compiles"),
)
_LARGE_TESTS = (
    "tests/fuzz/test_fuzz.py",
    "tests/tinyengine_gen/test_crash_safety.py",
    "tests/tinyengine_gen/test_determinism.py",
    "tests/tinyengine_gen/test_sanitizers.py",
    "tests/tinyengine_gen/test_shared_models.py",
)
_HEADER = '''"""Bazel targets for mcunet-tf (the pip/venv flow in run.sh stays the primary one).

MODULE.bazel must provide aspect_rules_py (py_* rules and the pytest main), rules_cc and a
rules_python pip hub named "pip" built from pyproject.toml's dependencies. Sources are
listed explicitly, not globbed, so tests/test_build_file.py can check that BUILD names
every module, test file and kernel, and nothing that does not exist. Regenerate with
.venv/bin/python -m tests.test_build_file
"""

load("@aspect_rules_py//py:defs.bzl", "py_binary", "py_library", "py_pytest_main", "py_test")
load("@pip//:requirements.bzl", "requirement")
load("@rules_cc//cc:defs.bzl", "cc_library")

package(default_visibility = ["//visibility:public"])

C_STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror"]
'''
_KERNELS_AND_EXAMPLE = '''
# The C kernel library the generated model.c calls; models include "kernels/te_*.h".
cc_library(
    name = "te_kernels",
    srcs = KERNEL_SRCS,
    hdrs = KERNEL_HDRS,
    copts = C_STRICT,
    linkopts = ["-lm"],
    strip_include_prefix = "tinyengine_gen",
)

# Example: generate C for the tiny model and compile it against the kernel library.
genrule(
    name = "example_tiny_model_c",
    outs = [
        "example_tiny/model.c",
        "example_tiny/model.h",
        "example_tiny/report.json",
    ],
    cmd = "tmp=$$(mktemp -d) && $(location :tiny_model) $$tmp/tiny.tflite && " +
          "$(location :tinyengine_gen_main) --tflite=$$tmp/tiny.tflite --out=$(RULEDIR)/example_tiny",
    tools = [
        ":tiny_model",
        ":tinyengine_gen_main",
    ],
)

cc_library(
    name = "example_tiny_model",
    srcs = ["example_tiny/model.c"],
    hdrs = ["example_tiny/model.h"],
    copts = C_STRICT,
    deps = [":te_kernels"],
)

# One pytest entry point shared by every py_test below.
py_pytest_main(
    name = "__test__",
    deps = [requirement("pytest")],
)
'''


def _is_test(path: str) -> bool:
    return Path(path).name.startswith("test_")


def _list(items: list[str], indent: int = 8) -> str:
    if not items:
        return "[]"
    pad = " " * indent
    return "[\n" + "".join(f"{pad}{item},\n" for item in items) + " " * (indent - 4) + "]"


def _quoted(items) -> list[str]:
    return [f'"{item}"' for item in items]


def _deps(files: list[str], own: str | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    folder_to_target = {folder: name for name, (folder, _) in _LIBRARIES.items()}
    local, pip = set(), set()
    for source in files:
        for module in _imports(PROJECT_ROOT / source):
            if module in REQUIREMENTS:
                pip.add(REQUIREMENTS[module])
            elif folder_to_target.get(PROJECT_PACKAGES.get(module, ""), own) != own:
                local.add(folder_to_target[PROJECT_PACKAGES[module]])
    return _quoted(f":{t}" for t in sorted(local)) + _quoted(extra) + [f'requirement("{p}")' for p in sorted(pip)]


def render_build() -> str:
    """BUILD text for the tree as it is now."""
    python = sorted(_python_files())
    kernels = sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / KERNEL_DIR).rglob("*") if p.is_file())
    blocks = [_HEADER]
    blocks.append(f"KERNEL_SRCS = {_list(_quoted(k for k in kernels if k.endswith('.c')), 4)}\n")
    blocks.append(f"KERNEL_HDRS = {_list(_quoted(k for k in kernels if k.endswith('.h')), 4)}")
    blocks.append(_KERNELS_AND_EXAMPLE)
    for name, (folder, comment) in _LIBRARIES.items():
        files = [f for f in python if f.split("/")[0] == folder and not (folder == "tests" and _is_test(f))]
        data = "    data = KERNEL_SRCS + KERNEL_HDRS,\n" if name == "tinyengine_gen" else ""
        blocks.append(
            f'{comment}\npy_library(\n    name = "{name}",\n    srcs = {_list(_quoted(files))},\n{data}'
            f"    deps = {_list(_deps(files, name))},\n)\n"
        )
    binaries = list(_BINARIES) + [
        (f"benchmark_{Path(f).stem}", f, "a benchmark script") for f in python if f.startswith("benchmarks/")
    ]
    for name, source, comment in binaries:
        if source in python:
            target = {folder: t for t, (folder, _) in _LIBRARIES.items()}.get(source.split("/")[0])
            deps = _deps([source])
            if target and f'":{target}"' not in deps:
                deps.insert(0, f'":{target}"')
            blocks.append(
                f'# {comment}\npy_binary(\n    name = "{name}",\n    srcs = ["{source}"],\n    main = "{source}",\n'
                f"    deps = {_list(deps)},\n)\n"
            )
    for test in (f for f in python if f.startswith("tests/") and _is_test(f)):
        deps = _deps([test], extra=(":__test__",))
        if '":test_support"' not in deps:
            deps.insert(0, '":test_support"')
        size = "large" if test in _LARGE_TESTS else "medium"
        blocks.append(
            f'py_test(\n    name = "{test[len("tests/"):-3].replace("/", "_")}",\n    size = "{size}",\n'
            f'    srcs = [\n        "{test}",\n        ":__test__",\n    ],\n    main = ":__test__.py",\n'
            f"    deps = {_list(deps)},\n)\n"
        )
    return "\n".join(blocks)


def test_render_build_matches_the_checks():
    """What the writer produces passes the checks above (so regenerating always fixes BUILD)."""
    rules = parse_build(render_build())
    named = {f for rule in rules if rule.kind in PY_RULES for f in rule.files("srcs")}
    assert named >= _python_files()


if __name__ == "__main__":
    BUILD.write_text(render_build())
    print(f"wrote {BUILD}")
