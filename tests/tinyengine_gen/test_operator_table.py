"""README.md's supported-operator table is the registry's, word for word."""

from pathlib import Path

from tinyengine_gen.operator_table import BEGIN, END, operator_table
from tinyengine_gen.ops.base import supported_opcodes

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_operator_table_matches_the_registry():
    text = README.read_text()
    assert BEGIN in text and END in text, "README.md lost its generated operator table"
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert current == operator_table(), "README.md is stale: paste the output of python -m tinyengine_gen.operator_table"


def test_table_lists_every_registered_operator():
    table = operator_table()
    for opcode in supported_opcodes():
        assert f"| {opcode} |" in table
