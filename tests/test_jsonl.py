"""One JSON-lines reader (bench.core.paths.iter_jsonl): line numbers and one message format for every bad line."""

from __future__ import annotations

import pytest

from bench.core import paths
from bench.core.errors import BenchError


def test_rows_come_with_their_line_numbers_and_bad_lines_are_named(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n[1, 2]\n{"a": \n', encoding="utf-8")
    problems: list[str] = []
    assert list(paths.iter_jsonl(path, on_error=problems.append)) == [(1, {"a": 1}), (3, {"a": 2})]
    assert problems == [f"{path}:4: expected a JSON object, got list",
                        f"{path}:5: not valid JSON (Expecting value at column 7)"]
    with pytest.raises(paths.JsonLineError, match=rf"^{path}:4: expected a JSON object, got list$"):
        paths.read_jsonl(path)


def test_missing_and_non_utf8_files_are_one_line_errors(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        paths.read_jsonl(tmp_path / "none.jsonl")
    (tmp_path / "latin.jsonl").write_bytes(b'{"a": "\xe9"}\n')
    with pytest.raises(BenchError, match="not UTF-8"):
        paths.read_jsonl(tmp_path / "latin.jsonl")
