"""tinyengine_gen's declared public API (``__all__``) resolves, each name to its defining module."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tinyengine_gen


@pytest.mark.parametrize("name", tinyengine_gen.__all__)
def test_each_public_name_is_the_object_its_module_defines(name):
    value = getattr(tinyengine_gen, name)
    assert value.__module__ == tinyengine_gen._EXPORTS[name]


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'compile'"):
        tinyengine_gen.compile  # noqa: B018


def test_importing_the_package_imports_no_layer():
    code = "import sys, tinyengine_gen; print(sorted(m for m in sys.modules if m.startswith('tinyengine_gen.')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
