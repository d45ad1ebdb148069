"""Content hashes of the results a leaderboard was made from, so `bench leaderboard --check` can name what changed.

Every result gets a hash of its whole content (shown in the Sources tables) and one per field, down to the
second level (`metrics.clip-score`, `spec.seed`); both are written in an HTML comment at the end of
leaderboard.md, invisible when the markdown is shown. A result's volatile fields (when it was evaluated, the
commit: bench.evaluation.publish.VOLATILE) are left out, so a fresh evaluation of the same images writes the
same leaderboard. A change below the displayed precision
changes no table cell but does change a hash. Hashes are of the parsed JSON (bench.core.config.stable_hash),
so re-serialising a file without changing its content changes nothing.
"""

from __future__ import annotations

import difflib
from typing import Any

from bench.core.config import stable_hash

HEAD = "<!-- bench leaderboard --check reads these content hashes of reports/results/*.json; do not edit"
FIELDS = "fields:"
TAIL = "-->"
RESULT_HASH = 16  # hex digits of a whole result's hash
FIELD_HASH = 8
ABSENT = "-"


def result_hash(summary: dict[str, Any]) -> str:
    """The hash of one result's whole content (its volatile fields left out)."""
    from bench.evaluation.publish import result_content

    return stable_hash(result_content(summary), length=RESULT_HASH)


def field_hashes(summary: dict[str, Any]) -> dict[str, str]:
    """Field path (two levels: 'metrics.fid') -> hash of its value (volatile fields left out)."""
    from bench.evaluation.publish import result_content

    out = {}
    for key, value in result_content(summary).items():
        if isinstance(value, dict) and value:
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = stable_hash(inner, length=FIELD_HASH)
        else:
            out[key] = stable_hash(value, length=FIELD_HASH)
    return out


def block(results: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The comment lines for (file name, summary) pairs: the field list, then per file its hashes."""
    hashed = [(name, result_hash(summary), field_hashes(summary)) for name, summary in results]
    fields = sorted({f for _, _, per in hashed for f in per})
    lines = [HEAD, " ".join([FIELDS, *fields])]
    lines += [" ".join([name, whole, *(per.get(f, ABSENT) for f in fields)]) for name, whole, per in hashed]
    return [*lines, TAIL]


def read_block(text: str) -> dict[str, tuple[str, dict[str, str]]] | None:
    """file -> (whole hash, field -> hash) recorded in a leaderboard's text; None when it records none."""
    lines = text.splitlines()
    if HEAD not in lines:
        return None
    start = lines.index(HEAD) + 1
    if start >= len(lines) or not lines[start].startswith(FIELDS + " "):
        return None
    fields = lines[start].split()[1:]
    out = {}
    for line in lines[start + 1:]:
        if line == TAIL:
            break
        name, whole, *hashes = line.split()
        out[name] = (whole, {f: h for f, h in zip(fields, hashes, strict=False) if h != ABSENT})
    return out


def without_hashes(text: str) -> list[str]:
    """The leaderboard's lines with the hash comment and the hash cells removed (what a reader sees)."""
    lines = text.splitlines()
    if HEAD in lines:
        start = lines.index(HEAD)
        end = lines.index(TAIL, start) if TAIL in lines[start:] else len(lines)
        lines = lines[:start] + lines[end + 1:]
    return [_drop_hash_cell(line) for line in lines]


def _drop_hash_cell(line: str) -> str:
    """A Sources row's last cell is the result's hash; every other line is kept as it is."""
    cells = line.split(" | ")
    if line.startswith("| ") and len(cells) > 2 and _looks_like_hash(cells[-1].rstrip(" |")):
        return " | ".join(cells[:-1]) + " |"
    return line


def _looks_like_hash(cell: str) -> bool:
    return len(cell) == RESULT_HASH and all(c in "0123456789abcdef" for c in cell)


def stale_reason(committed: str, expected: str, current: list[tuple[str, dict[str, Any]]], where: str) -> str | None:
    """Why the committed leaderboard differs from the one the current results render to (None: it does not).

    Names the result file and its fields that changed (and whether a reader could see the change), a result
    added or removed, or, when every result is as recorded, the first line that renders differently.
    """
    if committed == expected:
        return None
    recorded = read_block(committed)
    if recorded is None:
        return "it records no content hashes of its results (an older bench wrote it)"
    visible = without_hashes(committed) != without_hashes(expected)
    now = {name: (result_hash(summary), field_hashes(summary)) for name, summary in current}
    added = sorted(set(now) - set(recorded))
    removed = sorted(set(recorded) - set(now))
    changed = sorted(name for name in set(now) & set(recorded) if now[name][0] != recorded[name][0])
    if added:
        return f"{where}/{added[0]} is not on it (a new result){_more(added)}"
    if removed:
        return f"it lists {where}/{removed[0]}, which is no longer there{_more(removed)}"
    if changed:
        name = changed[0]
        old, new = recorded[name][1], now[name][1]
        fields = sorted(f for f in set(old) | set(new) if old.get(f) != new.get(f))
        shown = ", ".join(fields[:4]) + (f" and {len(fields) - 4} more" if len(fields) > 4 else "")
        how = "" if visible else " (no table shows it: below the displayed precision, or a field not shown)"
        what = f"field {shown} differs" if len(fields) == 1 else f"fields {shown} differ"
        return f"{where}/{name}: {what} from the result it was made from{how}{_more(changed, 'results')}"
    return _first_difference(committed, expected)


def _first_difference(committed: str, expected: str) -> str:
    """The first line that differs, when every result is as recorded (the rendering code or votes changed)."""
    old, new = committed.splitlines(), expected.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, _, j1, _ in matcher.get_opcodes():
        if tag != "equal":
            line = new[j1] if j1 < len(new) else "(end of file)"
            return (f"every result is as recorded, but line {i1 + 1} renders differently now "
                    f"(now: {line[:80]!r}): the rendering or the human votes changed")
    return "it differs in line endings or trailing whitespace"


def _more(names: list[str], what: str = "results") -> str:
    return f" (and {len(names) - 1} more {what})" if len(names) > 1 else ""
