"""The leaderboard's image grids: which prompts their columns show, and the column heads drawn over them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def grid_prompts(entries: list, n: int) -> list[str]:
    """The first `n` prompt ids (sample 0) every result of one language scored: the columns of its grid."""
    shared = None
    for e in entries:
        images = e.summary.get("images") or {}
        ids = {p for p, s in zip(images.get("prompt_id", []), images.get("sample", []), strict=True) if s == 0}
        shared = ids if shared is None else shared & ids
    return sorted(shared or ())[:n]


def prompt_texts(set_name: str, lang: str, ids: list[str]) -> dict[str, tuple[str, str]]:
    """id -> (native text, English gloss) from the prompt set, {} when the set is not in this repository."""
    from bench.core.errors import BenchError

    try:
        from bench.prompts import load_prompt_set

        prompts = load_prompt_set(set_name, lang)
    except (BenchError, OSError):
        return {}
    by_id = {p.id: p for p in prompts.prompts}
    return {i: (by_id[i].text, by_id[i].text_en) for i in ids if i in by_id}


def grid_section(entries: list, tier: str, n: int) -> list[str]:
    """Per language: the grid image's file and what each column asked, in the language and in English."""
    from bench.core import paths

    by_lang: dict[str, list] = defaultdict(list)
    for e in entries:
        by_lang[e.lang].append(e)
    out: list[str] = []
    for lang, group in sorted(by_lang.items()):
        set_name = (group[0].summary.get("prompt_set") or {}).get("name", "?")
        ids = grid_prompts(group, n)
        if not ids:
            continue
        texts = prompt_texts(set_name, lang, ids)
        file = paths.grid_path(tier, set_name, lang).relative_to(paths.reports_dir()).as_posix()
        out += [f"Grid `{file}` ({lang}): rows " + ", ".join(sorted(e.system for e in group)) + "; columns:", "",
                "| column | prompt id | prompt | English |", "|---|---|---|---|"]
        for k, pid in enumerate(ids, 1):
            native, english = texts.get(pid, ("?", "?"))
            out.append(f"| {k} | {pid} | {native} | {english if lang != 'en' else ''} |")
        out.append("")
    if not out:
        return []
    return ["<details><summary>Image grids: what each column asked</summary>", "", *out, "</details>", ""]


# Fonts with CJK, Hangul and Cyrillic glyphs, tried in order (Debian: fonts-noto-cjk); else PIL's default.
FONTS = ("NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "NotoSansCJKsc-Regular.otf", "DejaVuSans.ttf")
_font_cache: dict[int, Any] = {}


def head_font(size: int = 11):
    """A font that draws the prompt languages, cached per size."""
    from PIL import ImageFont

    if size not in _font_cache:
        for name in FONTS:
            try:
                _font_cache[size] = ImageFont.truetype(name, size)
                break
            except OSError:
                continue
        else:
            _font_cache[size] = ImageFont.load_default()
    return _font_cache[size]


def _wrap(draw, text: str, font, width: int, lines: int) -> list[str]:
    """Greedy character wrap (CJK has no spaces) into at most `lines` lines of `width` pixels."""
    out, line = [], ""
    for ch in text:
        if draw.textlength(line + ch, font=font) > width:
            out.append(line)
            line = ch.lstrip()
            if len(out) == lines:
                out[-1] = out[-1][:-1] + "\u2026"
                return out
        else:
            line += ch
    return out + ([line] if line else [])


def draw_head(draw, xy: tuple[int, int], width: int, native: str, english: str) -> None:
    """A grid column's head: the native prompt (two lines) over its English gloss (two lines, grey)."""
    font = head_font()
    x, y = xy
    for line in _wrap(draw, native, font, width, 2):
        draw.text((x, y), line, fill="black", font=font)
        y += 13
    for line in _wrap(draw, english, font, width, 2):
        draw.text((x, y), line, fill=(90, 90, 90), font=font)
        y += 13
