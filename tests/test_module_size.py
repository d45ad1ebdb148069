"""Small modules: none over 400 lines unless its docstring says why."""

from __future__ import annotations

import ast
from pathlib import Path

LIMIT = 400
BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_no_module_is_over_400_lines_without_saying_why():
    long = []
    for path in sorted(BENCH.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if lines > LIMIT and f"over {LIMIT} lines" not in docstring.lower():
            long.append(f"{path.relative_to(BENCH.parent)}: {lines} lines")
    assert not long, "split these modules (or say in the docstring why one is over 400 lines): " + "; ".join(long)
