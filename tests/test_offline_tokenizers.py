"""Real CLIP and Chinese-CLIP tokenizers built offline from wheel files, and the pinned counts of shipped
prompts longer than each judge's and text encoder's context."""

from __future__ import annotations

import pytest

from bench.models.offline_tokenizers import chinese_clip_tokenizer, clip_tokenizer
from bench.prompts.context_report import CONTEXTS, context_counts, render


@pytest.fixture(autouse=True)
def _shipped_prompts(monkeypatch):
    monkeypatch.delenv("BENCH_PROMPTS_DIR", raising=False)


def test_clip_tokenizer_gives_clips_known_ids():
    tok = clip_tokenizer()
    assert len(tok) == 49408
    assert tok("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_chinese_clip_tokenizer_gives_its_known_ids():
    tok = chinese_clip_tokenizer()
    assert len(tok) == 21128
    assert tok("一只猫坐在沙发上")["input_ids"] == [101, 671, 1372, 4344, 1777, 1762, 3763, 1355, 677, 102]


# Prompts per (set, lang) and those longer than a context, measured with the tokenizers above (2026-11-30).
# Every context not listed for a (set, lang) has 0; altclip-77 is n/a (no wheel ships XLM-R's tokenizer).
PROMPTS = {"culture": {"zh": 120, "ko": 120, "ja": 131, "ru": 114, "it": 112},
           "general": dict.fromkeys(("en", "zh", "ko", "ja", "ru", "it"), 210),
           "world-culture": dict.fromkeys(("en", "zh", "ko", "ja", "ru", "it"), 20),
           "world-general": dict.fromkeys(("en", "zh", "ko", "ja", "ru", "it"), 96)}
EXCEEDING = {("general", "ko", "chinese-clip-52"): 2, ("general", "ru", "chinese-clip-52"): 2}


def test_prompts_longer_than_each_context_are_pinned():
    counts = context_counts()
    assert {s: {lang: row["prompts"] for lang, row in langs.items()} for s, langs in counts.items()} == PROMPTS
    for set_name, langs in counts.items():
        for lang, row in langs.items():
            for context in CONTEXTS:
                expected = None if not context.tokenizer else EXCEEDING.get((set_name, lang, context.name), 0)
                assert row[context.name] == expected, (set_name, lang, context.name)
    text = render(counts)
    assert "| general | ko | 210 | 0 | 0 | 2 | 0 | n/a |" in text


def test_a_long_prompt_is_counted_against_each_context():
    from bench.prompts.context_report import Context, count_exceeding

    words = " ".join(["cat"] * 75)  # 75 words + start/end = 77 tokens: fits; one more does not
    clip = Context("c", "clip", 77, "text", "")
    assert count_exceeding([words, words + " cat"], clip) == 1
    chinese = Context("z", "chinese-clip", 52, "text", "")
    assert count_exceeding(["猫" * 50, "猫" * 51], chinese) == 1
