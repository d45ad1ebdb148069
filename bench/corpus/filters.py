"""Caption filters, vectorised over polars frames: each drops rows and reports how many it dropped.

Filters before translation (source scores, empty, too long, exact and normalised duplicates) decide on the
source text alone, so every process of a multi-process build takes the same decisions for every chunk.
Filters after translation look at the output: script normalisation (a transform, counted as changed), empty
output, source copied untranslated, a repeated n-gram, length-ratio outliers, and the language identifier.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from bench.core import paths
from bench.core.config import check_settings, setting
from bench.core.errors import BenchError
from bench.core.languages import Language

PRE_FILTERS = ("other_language", "min_size", "min_similarity", "min_aesthetic", "empty", "too_long",
               "exact_duplicate", "normalised_duplicate")
POST_FILTERS = ("untranslated", "empty_output", "copied_source", "repeated_ngram", "length_ratio",
                "language_id")

# Characters of the target per English character, roughly, by script; the length-ratio filter is relative
# to these so one pair of bounds works for every language.
EXPECTED_CHAR_RATIO = {"Latn": 1.1, "Cyrl": 1.05, "Hans": 0.3, "Hant": 0.3, "Jpan": 0.45, "Hang": 0.45,
                       "Arab": 0.85, "Deva": 1.0, "Thai": 0.95}
# Scripts written without spaces between words: n-grams are counted over characters there.
UNSPACED_SCRIPTS = frozenset({"Hans", "Hant", "Jpan", "Thai"})


@dataclass(frozen=True)
class FilterSettings:
    """Thresholds of every filter; recorded in the manifest."""

    max_chars: int = setting(400, "Longer source captions are dropped (CLIP reads 77 tokens).", min=1)
    ngram_max: int = setting(4, "Word n-grams up to this length are checked (characters: twice as long).", min=1)
    ngram_repeats: int = setting(4, "An n-gram repeated this many times in a row marks degenerate output.", min=2)
    ratio_min: float = setting(0.25, "Lower bound on (target chars / English chars) / the script's ratio.", min=0)
    ratio_max: float = setting(4.0, "Upper bound on that ratio.", above=0)
    language_id: bool = setting(True, "Drop captions whose detected language is another.")
    # Source-score filters, applied when the source has the column.
    min_width: float | None = setting(None, "Minimum image width.", min=0)
    min_height: float | None = setting(None, "Minimum image height.", min=0)
    min_similarity: float | None = setting(None, "Minimum image-text similarity.")
    min_aesthetic: float | None = setting(None, "Minimum aesthetic score.")

    def __post_init__(self) -> None:
        check_settings(self)
        if self.ratio_min >= self.ratio_max:
            raise BenchError(f"the ratio bounds must satisfy min < max, got {self.ratio_min} and {self.ratio_max}")


def normalise_key(column: str | pl.Expr) -> pl.Expr:
    """What normalised duplicates share: lower case, punctuation and symbols removed, spaces collapsed.

    Expects text already through squash() (NFKC, single spaces).
    """
    expr = pl.col(column) if isinstance(column, str) else column
    # One pass: a run of punctuation/symbols with the spaces around it becomes one space.
    return expr.str.to_lowercase().str.replace_all(r" *[\p{P}\p{S}][\p{P}\p{S} ]*", " ").str.strip_chars(" ")


@functools.cache
def _nfkc_pattern() -> str:
    """A regex class of every character NFKC may change: compatibility forms, and marks that compose.

    Scanning the code points takes ~0.3 s, so the class is cached per Unicode version.
    """
    cache = paths.cache_dir("unicode") / f"nfkc-changeable-{unicodedata.unidata_version}.txt"
    if cache.exists():
        return cache.read_text(encoding="utf-8")
    chars = []
    for code in (*range(0x30000), *range(0xE0000, 0xE1000)):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        if unicodedata.normalize("NFKC", char) != char or unicodedata.category(char).startswith("M"):
            chars.append(char)
    chars.extend(chr(c) for c in range(0x1100, 0x1200))  # conjoining Hangul jamo compose into syllables
    pattern = _char_class(chars)
    paths.write_text(cache, pattern)
    return pattern


def _char_class(chars) -> str:
    """A regex character class matching any of `chars`."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars))) + "]"


def _rewrite_rows(series: pl.Series, pattern: str, rewrite) -> pl.Series:
    """Apply `rewrite` (Series -> Series) to the rows matching `pattern` only; most rows need nothing."""
    hits = series.str.contains(pattern).fill_null(False)
    if not hits.any():
        return series
    idx = hits.arg_true()
    return series.clone().scatter(idx, rewrite(series.gather(idx)))  # scatter works in place


def _python_rows(fn):
    """Lift a str -> str function to a Series -> Series rewrite."""
    return lambda sub: pl.Series([fn(t) for t in sub.to_list()], dtype=pl.String)


def squash(series: pl.Series) -> pl.Series:
    """NFKC and collapsed, stripped whitespace (Language.normalise without the script step).

    One regex scan finds the few rows that need either; only those are rewritten.
    """

    def fix(sub: pl.Series) -> pl.Series:
        sub = pl.Series([unicodedata.normalize("NFKC", t) for t in sub.to_list()], dtype=pl.String)
        return sub.str.replace_all(r"\s+", " ").str.strip_chars()

    return _rewrite_rows(series, _nfkc_pattern()[:-1] + r"[^\S ]]|  |^ | $", fix)


@functools.cache
def _traditional_pattern() -> str:
    """A regex class of every character that traditional -> simplified conversion can change."""
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    chars: set[str] = set()
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            key, _, values = line.partition("\t")
            if key and key != values.split(" ")[0]:
                chars.update(key)
    return _char_class(chars)


def normalise_series(series: pl.Series, lang: Language, squashed: pl.Series | None = None) -> pl.Series:
    """Language.normalise over a column, vectorised: NFKC, whitespace, and for Chinese simplified script.

    `squashed` marks rows already through squash() (native captions in pre_filter), which skip that step.
    """
    if squashed is None or not squashed.all():
        todo = pl.Series([True] * len(series)) if squashed is None else ~squashed
        idx = todo.arg_true()
        series = series.clone().scatter(idx, squash(series.gather(idx)))
    if lang.code == "zh":
        # opencc is pure Python: convert only the rows that hold a character it could change.
        series = _rewrite_rows(series, _traditional_pattern(), _python_rows(lang.normalise))
    return series


class SeenSet:
    """A set of 64-bit hashes kept as a few sorted numpy arrays (merged like a binary counter): flat memory."""

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels)

    def _contains(self, values: np.ndarray) -> np.ndarray:
        found = np.zeros(len(values), dtype=bool)
        for level in self._levels:
            idx = np.searchsorted(level, values).clip(max=len(level) - 1)
            found |= level[idx] == values
        return found

    def first_seen(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of the entries that occur here first (not seen before, first in this batch); remembers them."""
        # One stable sort: equal hashes become neighbours with the earliest position first, and the
        # candidates come out sorted, which keeps searchsorted cache-friendly and the merge linear.
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        starts = np.ones(len(ordered), dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        candidates, positions = ordered[starts], order[starts]
        fresh = ~self._contains(candidates) if self._levels else np.ones(len(candidates), dtype=bool)
        mask = np.zeros(len(hashes), dtype=bool)
        mask[positions[fresh]] = True
        self._push(candidates[fresh])
        return mask

    def _push(self, values: np.ndarray) -> None:
        if not len(values):
            return
        self._levels.append(values)
        while len(self._levels) > 1 and len(self._levels[-2]) <= 2 * len(self._levels[-1]):
            top = self._levels.pop()
            # Two sorted runs: timsort ('stable') merges them in linear time; they are disjoint, so no unique().
            self._levels[-1] = np.sort(np.concatenate((self._levels[-1], top)), kind="stable")


@dataclass
class Dedup:
    """The memory of a build's duplicate filters: exact and normalised source texts seen so far."""

    exact: SeenSet
    normalised: SeenSet

    @classmethod
    def empty(cls) -> Dedup:
        return cls(SeenSet(), SeenSet())


class _Drops:
    """Filters applied in order over one frame: each counts the live rows it drops; one filter() at the end."""

    def __init__(self, frame: pl.DataFrame, names: tuple[str, ...]) -> None:
        self.frame = frame
        self.alive = pl.Series([True] * frame.height, dtype=pl.Boolean)
        self.counts = dict.fromkeys(names, 0)

    def drop(self, name: str, mask: pl.Series | np.ndarray) -> None:
        mask = pl.Series(mask) if isinstance(mask, np.ndarray) else mask.fill_null(False)
        hit = mask & self.alive
        self.counts[name] = self.counts.get(name, 0) + int(hit.sum())
        self.alive = self.alive & ~hit

    def result(self) -> tuple[pl.DataFrame, dict[str, int]]:
        return self.frame.filter(self.alive), self.counts


def key_column(frame: pl.DataFrame) -> pl.Series:
    """The caption that identifies a row: the native text for native pairs, else the English caption."""
    return frame["text"].fill_null(frame["text_en"])


def row_filters(frame: pl.DataFrame, settings: FilterSettings, lang: str | None = None) -> _Drops:
    """The source-side filters that look at one row alone (everything but the duplicate filters).

    The frame comes back squashed, with `_mt` (row needs translation); `alive` marks the survivors.
    """
    frame = frame.with_columns(squash(frame["text_en"].fill_null("")).alias("text_en"),
                               squash(frame["text"]).alias("text"),
                               frame["text"].is_null().alias("_mt"))
    drops = _Drops(frame, PRE_FILTERS)
    if lang is not None and "source_lang" in frame.columns:
        # Multilingual sources label each row's language; rows of other languages are not this corpus.
        drops.drop("other_language", frame["source_lang"].is_not_null() & (frame["source_lang"] != lang))
    if settings.min_width is not None:
        drops.drop("min_size", frame["width"] < settings.min_width)
    if settings.min_height is not None:
        drops.drop("min_size", frame["height"] < settings.min_height)
    if settings.min_similarity is not None:
        drops.drop("min_similarity", frame["similarity"] < settings.min_similarity)
    if settings.min_aesthetic is not None:
        drops.drop("min_aesthetic", frame["aesthetic"] < settings.min_aesthetic)
    key = key_column(frame)
    drops.drop("empty", key.str.len_bytes() == 0)
    drops.drop("too_long", (frame["text_en"].str.len_chars() > settings.max_chars)
               | (frame["text"].str.len_chars() > settings.max_chars))
    return drops


def dedup_hashes(keys: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The 64-bit hashes the duplicate filters compare: of the exact key and of its normalised form."""
    norm = pl.select(normalise_key(pl.lit(keys))).to_series()
    return keys.hash(seed=17).to_numpy(), norm.hash(seed=17).to_numpy()


def pre_filter(frame: pl.DataFrame, settings: FilterSettings, dedup: Dedup, lang: str | None = None
               ) -> tuple[pl.DataFrame, dict[str, int]]:
    """Source-side filters; updates `dedup` with the rows that survive. Adds `_mt` (row needs translation)."""
    drops = row_filters(frame, settings, lang)
    frame = drops.frame
    key = key_column(frame)
    # Duplicates are judged among live rows only, in order; dropped rows are never remembered.
    live = drops.alive.arg_true()
    live_key = key.gather(live)
    exact = dedup.exact.first_seen(live_key.hash(seed=17).to_numpy())
    drops.drop("exact_duplicate", _scatter_mask(frame.height, live, ~exact))
    live2 = live.filter(pl.Series(exact))
    norm = pl.select(normalise_key(pl.lit(live_key.filter(pl.Series(exact))))).to_series()
    first = dedup.normalised.first_seen(norm.hash(seed=17).to_numpy())
    drops.drop("normalised_duplicate", _scatter_mask(frame.height, live2, ~first))
    return drops.result()


def _scatter_mask(height: int, idx: pl.Series, values: np.ndarray) -> np.ndarray:
    """A full-height boolean mask, true at idx where values is true."""
    mask = np.zeros(height, dtype=bool)
    mask[idx.to_numpy()[values]] = True
    return mask


def repeated_ngram_mask(texts: pl.Series, unspaced: bool, max_n: int = 4, repeats: int = 4) -> np.ndarray:
    """True where some n-gram (n <= max_n) occurs `repeats` times in a row (degenerate MT output)."""
    tokens = texts.fill_null("").str.split("" if unspaced else " ")
    flat = pl.DataFrame({"row": pl.int_range(len(texts), eager=True), "tok": tokens}).explode("tok")
    rows = flat["row"].to_numpy()
    ids = flat["tok"].hash(seed=3).to_numpy()
    bad = np.zeros(len(texts), dtype=bool)
    for n in range(1, max_n + 1):
        if len(ids) <= n:
            break
        # A unit of n tokens repeated r times in a row = a run of (r-1)*n positions where tok[i] == tok[i+n].
        same = (ids[n:] == ids[:-n]) & (rows[n:] == rows[:-n])
        edges = np.diff(np.concatenate(([0], same.astype(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        long = starts[(ends - starts) >= (repeats - 1) * n]
        bad[rows[long]] = True
    return bad


def post_filter(frame: pl.DataFrame, lang: Language, settings: FilterSettings) -> tuple[pl.DataFrame, dict[str, int]]:
    """Output-side filters and score columns (len_ratio, lang_score); returns the kept rows and counts.

    Checks for machine-translation failures (source copied, degenerate repetition) look only at rows the
    translator wrote (`_mt`); native captions are written by people.
    """
    machine = frame["_mt"] if "_mt" in frame.columns else pl.Series([True] * frame.height)
    before = frame["text"]
    text = normalise_series(before, lang, squashed=~machine)
    script_changed = int((text != before).fill_null(False).sum())
    expected = EXPECTED_CHAR_RATIO.get(lang.script, 1.0)
    en_len = frame["text_en"].str.len_chars()
    ratio = (text.str.len_chars() / en_len / expected).cast(pl.Float32)
    frame = frame.with_columns(text.alias("text"), pl.when(en_len > 0).then(ratio).alias("len_ratio"))
    drops = _Drops(frame, POST_FILTERS)
    drops.drop("untranslated", text.is_null())
    drops.drop("empty_output", text.str.len_bytes() == 0)
    mt = machine & drops.alive
    if mt.any():
        idx = mt.arg_true()
        mt_text, mt_en = text.gather(idx), frame["text_en"].gather(idx)
        if lang.code != "en":
            copied = (mt_en.str.len_bytes() > 0) & (
                pl.select(normalise_key(pl.lit(mt_text)) == normalise_key(pl.lit(mt_en))).to_series())
            drops.drop("copied_source", _scatter_mask(frame.height, idx, copied.to_numpy()))
        # Characters for every script (a character carries about half a word: twice as long units), words
        # too where the script has spaces: degenerate output repeats inside words as well ("해해해해").
        bad = repeated_ngram_mask(mt_text, True, settings.ngram_max * 2, settings.ngram_repeats)
        if lang.script not in UNSPACED_SCRIPTS:
            bad |= repeated_ngram_mask(mt_text, False, settings.ngram_max, settings.ngram_repeats)
        drops.drop("repeated_ngram", _scatter_mask(frame.height, idx, bad))
    drops.drop("length_ratio", (frame["len_ratio"] < settings.ratio_min) | (frame["len_ratio"] > settings.ratio_max))
    scores = pl.Series("lang_score", [None] * frame.height, dtype=pl.Float32)
    if settings.language_id and drops.alive.any():
        from bench.core import langid

        idx = drops.alive.arg_true()
        found, conf = langid.detect_for(text.gather(idx).to_list(), lang.code)
        scores = scores.scatter(idx, pl.Series(conf, dtype=pl.Float32))
        wrong = pl.Series(found, dtype=pl.String).ne_missing(lang.code).to_numpy()
        drops.drop("language_id", _scatter_mask(frame.height, idx, wrong))
    drops.frame = frame.with_columns(scores)
    kept, counts = drops.result()
    counts["script_normalised"] = script_changed
    return kept, counts
