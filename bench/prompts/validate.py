"""Check prompt sets: schema, unique ids, concepts and confusers, declared language, counts per category."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError
from bench.core.languages import LANGUAGES
from bench.prompts.load import CONCEPTS_FILE, list_prompt_sets, set_folder
from bench.prompts.schema import (
    Concept,
    Prompt,
    RowError,
    SetInfo,
    parse_concept,
    parse_prompt,
    read_set_info,
    where,
)
from bench.prompts.textcheck import hidden_character, same_prompt_key

log = logging.getLogger(__name__)


@dataclass
class SetReport:
    """What the validator found in one set: counts, ambiguous language calls and problems."""

    name: str
    version: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # language -> prompts
    categories: dict[str, Counter] = field(default_factory=dict)  # language -> category -> prompts
    concepts: int = 0
    ambiguous: list[str] = field(default_factory=list)  # "file:line: detail" lines that passed as close calls
    problems: list[str] = field(default_factory=list)  # "file:line: message" lines

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_all(names: list[str] | None = None, langid: bool = True) -> list[SetReport]:
    """Validate the named sets (all sets when None)."""
    names = list_prompt_sets() if names is None else names
    if not names:
        raise BenchError(f"no prompt sets under {paths.prompts_dir()} (a set is a folder with set.toml)")
    return [validate_set(name, langid=langid) for name in names]


def validate_set(name: str, langid: bool = True) -> SetReport:
    """Run every check on set `name`; problems are collected, not raised, so one run lists them all."""
    folder = set_folder(name)
    report = SetReport(name)
    try:
        info = read_set_info(folder)
    except BenchError as exc:
        report.problems.append(str(exc))
        return report
    report.version = info.version
    for lang in info.languages:
        if lang not in LANGUAGES:
            report.problems.append(f"{folder / 'set.toml'}: unknown language '{lang}'")
    listed = {f"{lang}.jsonl" for lang in info.languages} | {CONCEPTS_FILE}
    for stray in sorted(p.name for p in folder.glob("*.jsonl") if p.name not in listed):
        report.problems.append(f"{folder / stray}: not a language listed in set.toml")

    concepts = _check_concepts(folder / CONCEPTS_FILE, report)
    _check_labels(folder / CONCEPTS_FILE, concepts, info.languages, report)
    per_lang: dict[str, list[tuple[int, Prompt]]] = {}
    for lang in info.languages:
        path = folder / f"{lang}.jsonl"
        if not path.is_file():
            report.problems.append(f"{path}: missing (set.toml lists '{lang}')")
            continue
        rows = _parse_rows(path, parse_prompt, report)
        per_lang[lang] = rows
        report.counts[lang] = len(rows)
        report.categories[lang] = Counter(p.category or "-" for _, p in rows)
        _check_prompts(path, lang, rows, info, concepts, report)
        if langid and info.checks.langid and lang in LANGUAGES:
            _check_languages(path, lang, rows, report)
    if info.checks.parallel:
        _check_parallel(folder, per_lang, report)
    if info.checks.symmetric_confusers:
        _check_symmetry(folder, per_lang, report)
    return report


def _parse_rows(path: Path, parse, report: SetReport) -> list[tuple[int, Any]]:
    """Parse every line, recording a problem per bad line instead of stopping at the first."""
    rows: list[tuple[int, Any]] = []
    try:
        lines = list(paths.iter_jsonl(path, on_error=report.problems.append))
    except BenchError as exc:  # not UTF-8
        report.problems.append(str(exc))
        return rows
    for number, obj in lines:
        try:
            item = parse(obj, path, number)
            paths.safe_id(item.id, "id")
        except RowError as exc:
            report.problems.append(str(exc))
            continue
        except BenchError as exc:
            report.problems.append(f"{where(path, number)}: {exc}")
            continue
        rows.append((number, item))
    return rows


def _duplicates(path: Path, rows, key, what: str, report: SetReport, raw=None) -> None:
    """Record rows whose key(item) was already seen; with `raw`, say when the two differ only before the key."""
    seen: dict[object, tuple[int, object]] = {}
    for line, item in rows:
        value = key(item)
        if value in seen:
            first, first_raw = seen[value]
            how = (" once normalised: NFKC, invisible characters removed, case folded"
                   if raw is not None and raw(item) != first_raw else "")
            report.problems.append(f"{where(path, line)}: duplicate {what} (first on line {first}{how})")
        else:
            seen[value] = (line, raw(item) if raw is not None else None)


def _hidden(loc: str, fields: dict[str, str], script: str | None, report: SetReport) -> bool:
    """Record the first field holding a hidden character; True when one does."""
    for name, text in fields.items():
        found = hidden_character(text, script)
        if found:
            report.problems.append(f"{loc}: {name} holds {found}; delete it (prompts are plain visible text)")
            return True
    return False


def _check_concepts(path: Path, report: SetReport) -> dict[str, Concept]:
    """Parse the concept table when the set has one; ids unique."""
    if not path.is_file():
        return {}
    rows = _parse_rows(path, parse_concept, report)
    _duplicates(path, rows, lambda c: c.id, "concept id", report)
    _duplicates(path, rows, lambda c: (c.culture, same_prompt_key(c.label_en)), "concept label_en in its culture",
                report, raw=lambda c: c.label_en)
    for line, c in rows:
        labels = {"label_en": c.label_en, "label_native": c.label_native, "description_en": c.description_en}
        _hidden(where(path, line), labels | {f"labels.{k}": v for k, v in c.labels.items()}, None, report)
    report.concepts = len(rows)
    return {c.id: c for _, c in rows}


def _label_key(text: str) -> str:
    return same_prompt_key(text)


def _check_labels(path: Path, concepts: dict[str, Concept], languages, report: SetReport) -> None:
    """Every concept has a label in every (non-English) language of the set; its culture's is label_native."""
    for concept in concepts.values():
        for lang in languages:
            if lang == "en":
                continue  # the English variant reads label_en
            if not concept.labels.get(lang):
                report.problems.append(f"{path}: concept '{concept.id}' has no labels.{lang} (each concept needs a "
                                       "label in every language of the set, for culture accuracy)")
            elif lang == concept.culture and concept.labels[lang] != concept.label_native:
                report.problems.append(f"{path}: concept '{concept.id}': labels.{lang} differs from label_native")


def _check_candidate_labels(loc: str, lang: str, p: Prompt, concepts: dict[str, Concept],
                            report: SetReport) -> None:
    """The concept and its confusers must read differently in the prompt's language (and in English):
    two candidates with one label tie, and a tie is scored wrong whatever the image shows."""
    ids = [p.concept, *p.confusers]
    known = [concepts[c] for c in ids if c in concepts]
    for label_lang, label in ((lang, lambda c: c.labels.get(lang)), ("en", lambda c: c.label_en)):
        seen: dict[str, str] = {}
        for concept in known:
            text = label(concept)
            if not text:
                continue
            key = _label_key(text)
            if key in seen:
                report.problems.append(f"{loc}: candidates '{seen[key]}' and '{concept.id}' share the {label_lang} "
                                       f"label {text!r}")
            else:
                seen[key] = concept.id
        if label_lang == "en" or lang == "en":
            break


def _check_prompts(path: Path, lang: str, rows, info: SetInfo, concepts: dict[str, Concept],
                   report: SetReport) -> None:
    """Per-row rules: ids, duplicates, normalisation, concepts and confuser groups."""
    language = LANGUAGES.get(lang) if lang in LANGUAGES else None
    _duplicates(path, rows, lambda p: p.id, "prompt id", report)
    _duplicates(path, rows, lambda p: same_prompt_key(p.text, language.normalise if language else None),
                "prompt text", report, raw=lambda p: p.text)
    checks = info.checks
    for line, p in rows:
        loc = where(path, line)
        fields = {"text": p.text, "text_en": p.text_en, "category": p.category or "",
                  **{f"tags[{k}]": t for k, t in enumerate(p.tags)}}
        hidden = _hidden(loc, fields, language.script if language else None, report)
        if not hidden and language is not None and language.normalise(p.text) != p.text:
            report.problems.append(f"{loc}: text is not normalised (want {language.normalise(p.text)!r})")
        if lang != "en" and p.text.casefold() == p.text_en.casefold():
            report.problems.append(f"{loc}: text is the English pivot, not a {lang} text")
        if not concepts:
            if p.concept or p.confusers:
                report.problems.append(f"{loc}: names concepts but the set has no {CONCEPTS_FILE}")
            continue
        if not p.concept:
            report.problems.append(f"{loc}: missing field 'concept' (the set has a {CONCEPTS_FILE})")
            continue
        concept = concepts.get(p.concept)
        if concept is None:
            report.problems.append(f"{loc}: unknown concept '{p.concept}'")
            continue
        if p.category != concept.category:
            report.problems.append(f"{loc}: category {p.category!r} differs from concept's {concept.category!r}")
        if checks.concept_culture_is_language and concept.culture != lang:
            report.problems.append(f"{loc}: concept '{concept.id}' belongs to culture '{concept.culture}', not '{lang}'")
        _check_confusers(loc, p, concept, concepts, checks, report)
        _check_candidate_labels(loc, lang, p, concepts, report)


def _check_confusers(loc: str, p: Prompt, concept: Concept, concepts: dict[str, Concept], checks,
                     report: SetReport) -> None:
    """Confusers exist, are distinct, and are numerous and varied enough for a fair label set."""
    if len(set(p.confusers)) != len(p.confusers):
        report.problems.append(f"{loc}: repeated confuser")
    known = []
    for ref in p.confusers:
        if ref == p.concept:
            report.problems.append(f"{loc}: concept '{ref}' lists itself as a confuser")
        elif ref not in concepts:
            report.problems.append(f"{loc}: unknown confuser '{ref}'")
        else:
            known.append(concepts[ref])
    if len(p.confusers) < checks.min_confusers:
        report.problems.append(f"{loc}: {len(p.confusers)} confusers, want at least {checks.min_confusers}")
    if checks.confusers_other_culture:
        for other in known:
            if other.culture == concept.culture:
                report.problems.append(f"{loc}: confuser '{other.id}' is of the same culture '{concept.culture}'")
    cultures = {c.culture for c in known}
    if len(cultures) < checks.min_confuser_cultures:
        report.problems.append(
            f"{loc}: confusers span {len(cultures)} cultures, want at least {checks.min_confuser_cultures}"
        )


def _check_languages(path: Path, lang: str, rows, report: SetReport) -> None:
    """Each text must be identified as its file's language (close calls are listed, not failed)."""
    from bench.prompts.langcheck import check_language, script_problem

    for line, p in rows:
        result = check_language(p.text, lang)
        if result.status == "wrong":
            report.problems.append(f"{where(path, line)}: not {lang}: {result.detail}")
        elif result.status == "ambiguous":
            report.ambiguous.append(f"{where(path, line)}: {result.detail}")
        if script_problem(p.text_en, "en"):
            report.problems.append(f"{where(path, line)}: text_en is not English ({script_problem(p.text_en, 'en')})")


def _check_parallel(folder: Path, per_lang: dict[str, list], report: SetReport) -> None:
    """A parallel set has the same ids in every language and one English pivot per id."""
    if not per_lang:
        return
    reference_lang = "en" if "en" in per_lang else sorted(per_lang)[0]
    reference = {p.id: p for _, p in per_lang[reference_lang]}
    for lang, rows in sorted(per_lang.items()):
        path = folder / f"{lang}.jsonl"
        ids = {p.id for _, p in rows}
        for missing in sorted(set(reference) - ids):
            report.problems.append(f"{path}: missing prompt id '{missing}' (present in {reference_lang}.jsonl)")
        for line, p in rows:
            ref = reference.get(p.id)
            if ref is None:
                report.problems.append(f"{where(path, line)}: prompt id '{p.id}' not in {reference_lang}.jsonl")
            elif ref.text_en != p.text_en:
                report.problems.append(f"{where(path, line)}: text_en differs from {reference_lang}.jsonl for '{p.id}'")


def _check_symmetry(folder: Path, per_lang: dict[str, list], report: SetReport) -> None:
    """A confuser that is itself prompted must list the concept back, so no culture's label set is easier."""
    listed: dict[str, set[str]] = {}
    for rows in per_lang.values():
        for _, p in rows:
            if p.concept:
                listed.setdefault(p.concept, set()).update(p.confusers)
    for lang, rows in sorted(per_lang.items()):
        for line, p in rows:
            for other in p.confusers:
                if other in listed and p.concept not in listed[other]:
                    report.problems.append(
                        f"{where(folder / f'{lang}.jsonl', line)}: lists '{other}' as a confuser, "
                        f"but '{other}' does not list '{p.concept}'"
                    )
