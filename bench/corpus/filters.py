"""Caption filters, vectorised over polars frames: each drops rows and reports how many it dropped.

Filters before translation (source scores, empty, too long, exact and normalised duplicates) decide on the
source text alone, so every process of a multi-process build takes the same decisions for every chunk.
Filters after translation look at the output: script normalisation (a transform, counted as changed), empty
output, source copied untranslated, a repeated n-gram, length-ratio outliers, and the language identifier.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from bench.languages import Language

PRE_FILTERS = ("min_size", "min_similarity", "min_aesthetic", "empty", "too_long",
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

    max_chars: int = 400  # longer source captions are dropped (CLIP reads 77 tokens)
    ngram_max: int = 4  # word n-grams up to this length are checked (characters: twice as long)
    ngram_repeats: int = 4  # an n-gram repeated this many times in a row marks degenerate output
    ratio_min: float = 0.25  # bounds on (target chars / English chars) / expected ratio for the script
    ratio_max: float = 4.0
    language_id: bool = True
    min_width: float | None = None  # source-score filters, applied when the source has the column
    min_height: float | None = None
    min_similarity: float | None = None
    min_aesthetic: float | None = None


def normalise_key(column: str | pl.Expr) -> pl.Expr:
    """The text a normalised duplicate shares: NFKC, lower case, punctuation and symbols removed, spaces collapsed."""
    expr = pl.col(column) if isinstance(column, str) else column
    return (expr.str.normalize("NFKC").str.to_lowercase()
            .str.replace_all(r"[\p{P}\p{S}]+", " ").str.replace_all(r"\s+", " ").str.strip_chars())


def squash_whitespace(column: str) -> pl.Expr:
    """NFKC and collapsed whitespace, as Language.normalise does, vectorised."""
    return pl.col(column).str.normalize("NFKC").str.replace_all(r"\s+", " ").str.strip_chars()


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
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def normalise_text(frame: pl.DataFrame, column: str, lang: Language) -> tuple[pl.DataFrame, int]:
    """Apply the language's normaliser to `column`; return the frame and how many rows changed."""
    before = frame[column]
    out = frame.with_columns(squash_whitespace(column).alias(column))
    if lang.code == "zh":
        # opencc is pure Python: convert only the rows that hold a character it could change.
        has_trad = out[column].str.contains(_traditional_pattern()).fill_null(False)
        if has_trad.any():
            idx = has_trad.arg_true()
            converted = [lang.normalise(t) for t in out[column].gather(idx).to_list()]
            values = out[column].scatter(idx, pl.Series(converted, dtype=pl.String))
            out = out.with_columns(values.alias(column))
    changed = int((out[column] != before).fill_null(False).sum())
    return out, changed


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
        mask = np.zeros(len(hashes), dtype=bool)
        if not len(hashes):
            return mask
        unique, first = np.unique(hashes, return_index=True)
        fresh = ~self._contains(unique) if self._levels else np.ones(len(unique), dtype=bool)
        mask[first[fresh]] = True
        self._push(unique[fresh])
        return mask

    def _push(self, values: np.ndarray) -> None:
        if not len(values):
            return
        self._levels.append(values)
        while len(self._levels) > 1 and len(self._levels[-2]) <= 2 * len(self._levels[-1]):
            top = self._levels.pop()
            self._levels[-1] = np.union1d(self._levels[-1], top)


@dataclass
class Dedup:
    """The memory of a build's duplicate filters: exact and normalised source texts seen so far."""

    exact: SeenSet
    normalised: SeenSet

    @classmethod
    def empty(cls) -> Dedup:
        return cls(SeenSet(), SeenSet())


def _drop(frame: pl.DataFrame, mask: pl.Series | np.ndarray, name: str, counts: dict[str, int]) -> pl.DataFrame:
    """Drop rows where mask is true and count them under `name`."""
    mask = pl.Series(mask) if isinstance(mask, np.ndarray) else mask.fill_null(False)
    counts[name] = counts.get(name, 0) + int(mask.sum())
    return frame.filter(~mask)


def key_column(frame: pl.DataFrame) -> pl.Expr:
    """The caption that identifies a row: the native text for native pairs, else the English caption."""
    return pl.when(pl.col("text").is_not_null()).then(pl.col("text")).otherwise(pl.col("text_en"))


def pre_filter(frame: pl.DataFrame, settings: FilterSettings, dedup: Dedup) -> tuple[pl.DataFrame, dict[str, int]]:
    """Source-side filters; updates `dedup` with the rows that survive."""
    counts = dict.fromkeys(PRE_FILTERS, 0)
    if settings.min_width is not None or settings.min_height is not None:
        small = pl.lit(False)
        if settings.min_width is not None:
            small = small | (pl.col("width") < settings.min_width)
        if settings.min_height is not None:
            small = small | (pl.col("height") < settings.min_height)
        frame = _drop(frame, frame.select(small.fill_null(False)).to_series(), "min_size", counts)
    for name, column, threshold in (("min_similarity", "similarity", settings.min_similarity),
                                    ("min_aesthetic", "aesthetic", settings.min_aesthetic)):
        if threshold is not None:
            frame = _drop(frame, frame[column] < threshold, name, counts)
    frame = frame.with_columns(
        squash_whitespace("text_en").fill_null("").alias("text_en"),
        squash_whitespace("text").alias("text"),
    )
    key = frame.select(key_column(frame).alias("k"))["k"].fill_null("")
    frame = _drop(frame, key.str.len_chars() == 0, "empty", counts)
    too_long = (frame["text_en"].str.len_chars() > settings.max_chars) | (
        frame["text"].str.len_chars() > settings.max_chars).fill_null(False)
    frame = _drop(frame, too_long, "too_long", counts)
    key = frame.select(key_column(frame).alias("k"))["k"]
    exact = dedup.exact.first_seen(key.hash(seed=17).to_numpy())
    frame, key = frame.filter(pl.Series(exact)), key.filter(pl.Series(exact))
    counts["exact_duplicate"] += int((~exact).sum())
    norm = frame.select(normalise_key(key).alias("n"))["n"]
    first = dedup.normalised.first_seen(norm.hash(seed=17).to_numpy())
    frame = _drop(frame, ~first, "normalised_duplicate", counts)
    return frame, counts


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
    """Output-side filters and score columns (len_ratio, lang_score); returns the kept rows and counts."""
    counts = dict.fromkeys(POST_FILTERS, 0)
    frame = _drop(frame, frame["text"].is_null(), "untranslated", counts)
    frame, changed = normalise_text(frame, "text", lang)
    counts["script_normalised"] = changed
    frame = _drop(frame, frame["text"].str.len_chars() == 0, "empty_output", counts)
    if lang.code != "en":
        copied = (frame["text_en"].str.len_chars() > 0) & (
            frame.select(normalise_key("text") == normalise_key("text_en")).to_series())
        frame = _drop(frame, copied, "copied_source", counts)
    # Characters for every script (a character carries about half a word: twice as long units), words too
    # where the script has spaces: degenerate output repeats inside words as well ("해해해해").
    bad = repeated_ngram_mask(frame["text"], True, settings.ngram_max * 2, settings.ngram_repeats)
    if lang.script not in UNSPACED_SCRIPTS:
        bad |= repeated_ngram_mask(frame["text"], False, settings.ngram_max, settings.ngram_repeats)
    frame = _drop(frame, bad, "repeated_ngram", counts)
    expected = EXPECTED_CHAR_RATIO.get(lang.script, 1.0)
    ratio = pl.when(pl.col("text_en").str.len_chars() > 0).then(
        pl.col("text").str.len_chars() / pl.col("text_en").str.len_chars() / expected)
    frame = frame.with_columns(ratio.cast(pl.Float32).alias("len_ratio"))
    outlier = (frame["len_ratio"] < settings.ratio_min) | (frame["len_ratio"] > settings.ratio_max)
    frame = _drop(frame, outlier, "length_ratio", counts)
    if settings.language_id and frame.height:
        from bench.corpus import langid

        found, scores = langid.detect_for(frame["text"].to_list(), lang.code)
        frame = frame.with_columns(pl.Series("lang_score", scores, dtype=pl.Float32))
        frame = _drop(frame, pl.Series(found, dtype=pl.String).ne_missing(lang.code), "language_id", counts)
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float32).alias("lang_score"))
    return frame, counts
