"""The prompt-set data model: set.toml, prompt rows and concept rows, parsed with file:line errors."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError


@dataclass(frozen=True)
class Prompt:
    """One prompt in one language; `concept` and `confusers` are concept ids for label sets."""

    id: str
    text: str
    text_en: str  # the English pivot; for culture prompts it names the concept itself
    tags: tuple[str, ...] = ()
    category: str | None = None
    concept: str | None = None
    confusers: tuple[str, ...] = ()
    source: str = ""
    translation: str = ""  # who or what wrote this language's text
    image: str | None = None  # reference image file (public sets only), relative to the set's image folder


@dataclass(frozen=True)
class Concept:
    """A culturally specific thing a prompt names, with labels for classification metrics."""

    id: str
    culture: str  # ISO 639-1 code of the culture it belongs to (it, ja, ...) or another tag
    category: str
    label_en: str
    label_native: str
    description_en: str  # one sentence saying what it looks like
    # label in each language of the set's prompts ({lang: text}); culture accuracy reads these, so the
    # candidates of a prompt are all in the prompt's language (label_native is the culture's own language)
    labels: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Checks:
    """Which data rules a set promises; the validator enforces them (set.toml [checks])."""

    parallel: bool = False  # every language has the same ids and the same text_en per id
    langid: bool = True  # texts must be identified as the declared language
    min_confusers: int = 0
    min_confuser_cultures: int = 0  # distinct cultures among a concept's confusers
    confusers_other_culture: bool = False  # a confuser never shares the concept's culture
    concept_culture_is_language: bool = False  # a <lang>.jsonl prompt names a concept of culture <lang>
    symmetric_confusers: bool = False  # if A lists B and B has a prompt, B lists A (fair label sets)


@dataclass(frozen=True)
class SetInfo:
    """The contents of a set's set.toml."""

    name: str
    version: str
    licence: str
    description: str
    languages: tuple[str, ...]
    source: str = ""
    checks: Checks = field(default_factory=Checks)
    # Judges and extractor the set is scored with unless the evaluation names others (set.toml [evaluate]).
    evaluate: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptSet:
    """All prompts of one set in one language, with a hash of everything that shapes its images."""

    name: str
    version: str
    lang: str
    prompts: tuple[Prompt, ...]
    content_hash: str
    licence: str
    description: str

    def __len__(self) -> int:
        return len(self.prompts)

    def by_id(self) -> dict[str, Prompt]:
        """Prompts keyed by id."""
        return {p.id: p for p in self.prompts}


class RowError(BenchError):
    """A problem in one line of a data file; the message starts with file:line."""


PROMPT_REQUIRED = {"id": str, "text": str, "text_en": str, "tags": list, "source": str, "translation": str}
PROMPT_OPTIONAL = {"category": (str, type(None)), "concept": (str, type(None)), "confusers": list,
                   "image": (str, type(None))}
CONCEPT_REQUIRED = {"id": str, "culture": str, "category": str, "label_en": str, "label_native": str,
                    "description_en": str}
SETINFO_KEYS = {"version", "licence", "description", "languages", "source", "checks", "evaluate"}
EVALUATE_KEYS = ("judge", "judge_en", "extractor", "vqa_judge")


def where(path: Path, line: int | None = None) -> str:
    """'file:line' for messages (the path as given, so messages stay short)."""
    return f"{path}:{line}" if line else f"{path}"


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; a broken line raises RowError (bench.core.paths.iter_jsonl)."""
    try:
        yield from paths.iter_jsonl(path)
    except paths.JsonLineError as exc:
        raise RowError(str(exc)) from None


def _check_fields(obj: dict, required: dict, optional: dict, loc: str) -> None:
    """Raise RowError for a missing, unknown or wrongly typed field."""
    for name, kind in required.items():
        if name not in obj:
            raise RowError(f"{loc}: missing field '{name}'")
        if not isinstance(obj[name], kind):
            raise RowError(f"{loc}: field '{name}' must be {_kind_name(kind)}, got {obj[name]!r}")
    for name, value in obj.items():
        if name in required:
            continue
        if name not in optional:
            known = ", ".join(sorted([*required, *optional]))
            raise RowError(f"{loc}: unknown field '{name}' (known: {known})")
        if not isinstance(value, optional[name]):
            raise RowError(f"{loc}: field '{name}' must be {_kind_name(optional[name])}, got {value!r}")


def _kind_name(kind) -> str:
    names = {str: "a string", list: "a list", type(None): "null"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _string_list(value: list, name: str, loc: str) -> tuple[str, ...]:
    if not all(isinstance(v, str) and v for v in value):
        raise RowError(f"{loc}: field '{name}' must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def parse_prompt(obj: dict, path: Path, line: int) -> Prompt:
    """Build a Prompt from one JSONL object, or raise RowError naming file:line."""
    loc = where(path, line)
    _check_fields(obj, PROMPT_REQUIRED, PROMPT_OPTIONAL, loc)
    for name in ("id", "text", "text_en"):
        if not obj[name].strip():
            raise RowError(f"{loc}: field '{name}' is empty")
    return Prompt(
        id=obj["id"],
        text=obj["text"],
        text_en=obj["text_en"],
        tags=_string_list(obj["tags"], "tags", loc),
        category=obj.get("category"),
        concept=obj.get("concept"),
        confusers=_string_list(obj.get("confusers", []), "confusers", loc),
        source=obj["source"],
        translation=obj["translation"],
        image=obj.get("image"),
    )


def parse_concept(obj: dict, path: Path, line: int) -> Concept:
    """Build a Concept from one JSONL object, or raise RowError naming file:line."""
    loc = where(path, line)
    _check_fields(obj, CONCEPT_REQUIRED, {"labels": dict}, loc)
    for name in CONCEPT_REQUIRED:
        if not obj[name].strip():
            raise RowError(f"{loc}: field '{name}' is empty")
    labels = obj.get("labels", {})
    for lang, text in labels.items():
        if not isinstance(text, str) or not text.strip():
            raise RowError(f"{loc}: labels.{lang} must be a non-empty string, got {text!r}")
    return Concept(**obj)


def read_set_info(folder: Path) -> SetInfo:
    """Parse <set>/set.toml into a SetInfo; unknown keys and missing ones are one-line errors."""
    path = Path(folder) / "set.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: not valid TOML ({exc})") from None
    for key in data:
        if key not in SETINFO_KEYS:
            raise BenchError(f"{path}: unknown key '{key}' (known: {', '.join(sorted(SETINFO_KEYS))})")
    for key in ("version", "licence", "description", "languages"):
        if key not in data:
            raise BenchError(f"{path}: missing key '{key}'")
    languages = data["languages"]
    if not isinstance(languages, list) or not languages or not all(isinstance(x, str) for x in languages):
        raise BenchError(f"{path}: 'languages' must be a non-empty list of language codes")
    checks = data.get("checks", {})
    known = set(Checks.__dataclass_fields__)
    for key in checks:
        if key not in known:
            raise BenchError(f"{path}: unknown key 'checks.{key}' (known: {', '.join(sorted(known))})")
    evaluate = data.get("evaluate", {})
    for key, value in evaluate.items():
        if key not in EVALUATE_KEYS or not isinstance(value, str):
            raise BenchError(f"{path}: 'evaluate.{key}' must be one of {', '.join(EVALUATE_KEYS)} naming a "
                             "judge or extractor")
    return SetInfo(
        name=Path(folder).name,
        version=str(data["version"]),
        licence=str(data["licence"]),
        description=str(data["description"]),
        languages=tuple(languages),
        source=str(data.get("source", "")),
        checks=Checks(**checks),
        evaluate=dict(evaluate),
    )
