"""Find and load prompt sets and concept tables: folders under paths.prompts_dir() and plug-ins' folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.config import stable_hash, to_jsonable
from bench.core.errors import BenchError, unknown_name
from bench.core.registry import Registry
from bench.prompts.schema import (
    Concept,
    Prompt,
    PromptSet,
    RowError,
    SetInfo,
    parse_concept,
    parse_prompt,
    read_jsonl,
    read_set_info,
    where,
)

CONCEPTS_FILE = "concepts.jsonl"
_HINT = "bench prompts list shows them"


# Prompt sets kept outside prompts_dir() (a plug-in's own folder): name -> folder holding set.toml.
PROMPT_SETS: Registry[Path] = Registry("prompt set", hint=_HINT)


def register_prompt_set(folder: str | Path, name: str | None = None) -> str:
    """Register the set in `folder` (it holds set.toml) under `name` (default: the folder's name)."""
    folder = Path(folder).resolve()
    if not (folder / "set.toml").is_file():
        raise BenchError(f"{folder} is not a prompt set (a set is a folder with set.toml)")
    name = paths.safe_id(name or folder.name, "prompt set name")
    _check_unshadowed(name, folder)
    PROMPT_SETS.register(name, folder)
    return name


def _check_unshadowed(name: str, folder: Path) -> None:
    """A registered set must not share its name with a different set folder under the prompt roots (the
    folder would silently win at lookup)."""
    from bench.core.registry import NameClash, current_origin, describe_origin

    shipped = _shipped_sets().get(name)
    if shipped is not None and shipped.resolve() != folder.resolve():
        origin = PROMPT_SETS.origin(name) or current_origin()
        raise NameClash(f"prompt set '{name}' is both the folder {shipped} and {describe_origin(origin)}'s "
                        f"{folder}: rename one of them")


def _shipped_sets() -> dict[str, Path]:
    """name -> folder of every set under paths.prompt_roots() (an earlier root wins)."""
    found: dict[str, Path] = {}
    for root in paths.prompt_roots():
        if root.is_dir():
            for p in sorted(root.iterdir()):
                if (p / "set.toml").is_file():
                    found.setdefault(p.name, p)
    return found


def list_prompt_sets() -> list[str]:
    """Names of the prompt sets: folders under prompts_dir() that hold a set.toml, and registered ones."""
    return sorted(set(_shipped_sets()) | set(PROMPT_SETS.names()))


def set_folder(name: str) -> Path:
    """The folder of set `name`, or a did-you-mean error naming the known sets."""
    shipped = _shipped_sets()
    if name in shipped:
        if name in PROMPT_SETS:  # a plug-in's set of this name, registered before this folder appeared
            _check_unshadowed(name, Path(PROMPT_SETS.get(name)))
        return paths.child(shipped[name].parent, name, what="prompt set")
    if name in PROMPT_SETS:
        return PROMPT_SETS.get(name)
    raise unknown_name("prompt set", name, list_prompt_sets(), _HINT)


def load_set_info(name: str) -> SetInfo:
    """The parsed set.toml of set `name`."""
    return read_set_info(set_folder(name))


def has_concepts(name: str) -> bool:
    """True when the set ships a concept table (and so its prompts carry concepts and confusers)."""
    return (set_folder(name) / CONCEPTS_FILE).is_file()


def _read_unique_rows(path: Path, parse, what: str) -> list[tuple[int, Any]]:
    """(line, row) pairs of a JSONL file parsed by `parse`, ids checked to be safe and unique."""
    rows: list[tuple[int, Any]] = []
    seen: dict[str, int] = {}
    for line, obj in read_jsonl(path):
        row = parse(obj, path, line)
        _check_id(row.id, path, line, what)
        if row.id in seen:
            raise RowError(f"{where(path, line)}: duplicate {what} '{row.id}' (first on line {seen[row.id]})")
        seen[row.id] = line
        rows.append((line, row))
    return rows


def read_concept_rows(path: Path) -> list[tuple[int, Concept]]:
    """(line, Concept) rows of a concept table, ids checked to be safe and unique."""
    return _read_unique_rows(path, parse_concept, "concept id")


def load_concepts(set_name: str = "culture") -> dict[str, Concept]:
    """Concept id -> Concept for a set that ships prompts/<set>/concepts.jsonl."""
    path = set_folder(set_name) / CONCEPTS_FILE
    if not path.is_file():
        raise BenchError(f"prompt set '{set_name}' has no concept table ({path} is missing)")
    return {c.id: c for _, c in read_concept_rows(path)}


def read_prompt_rows(path: Path) -> list[tuple[int, Prompt]]:
    """(line, Prompt) rows of one language file, ids checked to be safe and unique."""
    return _read_unique_rows(path, parse_prompt, "prompt id")


def load_prompt_set(name: str, lang: str) -> PromptSet:
    """Load set `name` in language `lang`; unknown sets, missing languages and bad rows are one-line errors."""
    info = load_set_info(name)
    if lang not in info.languages:
        raise unknown_name(f"language for prompt set '{name}'", lang, info.languages)
    folder = set_folder(name)
    path = folder / f"{paths.safe_id(lang, 'language')}.jsonl"
    rows = read_prompt_rows(path)
    if not rows:
        raise BenchError(f"{path} has no prompts")
    concepts = load_concepts(name) if (folder / CONCEPTS_FILE).is_file() else {}
    for line, prompt in rows:
        for ref in ([prompt.concept] if prompt.concept else []) + list(prompt.confusers):
            if ref not in concepts:
                raise RowError(f"{where(path, line)}: unknown concept '{ref}' (not in {folder / CONCEPTS_FILE})")
    prompts = tuple(p for _, p in rows)
    used = sorted({c for p in prompts for c in ([p.concept] if p.concept else []) + list(p.confusers)})
    content = {
        "name": name,
        "version": info.version,
        "lang": lang,
        "prompts": to_jsonable(prompts),
        # The labels the culture metric scores against are part of what a number means.
        "concepts": [to_jsonable(concepts[c]) for c in used],
    }
    return PromptSet(
        name=name,
        version=info.version,
        lang=lang,
        prompts=prompts,
        content_hash=stable_hash(content, length=16),
        licence=info.licence,
        description=info.description,
    )


def reference_images_dir(name: str) -> Path:
    """Where a public set's reference images live (Prompt.image is relative to this folder)."""
    return paths.child(paths.references_dir(), name, what="prompt set")


def _check_id(value: str, path: Path, line: int, what: str) -> None:
    """Ids become file names (images/<prompt_id>_<n>.png), so they must be safe path components."""
    try:
        paths.safe_id(value, what)
    except BenchError as exc:
        raise RowError(f"{where(path, line)}: {exc}") from None
