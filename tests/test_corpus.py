"""Corpus pieces: filters on crafted inputs (against plain reference code), sources, language ID, translators."""

from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest

from bench.core import langid
from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.languages import get_language
from bench.corpus.filters import (
    Dedup,
    FilterSettings,
    SeenSet,
    post_filter,
    pre_filter,
    repeated_ngram_mask,
)
from bench.corpus.sources import conform, open_source


def _frame(text_en, text=None, **extra):
    data = {"id": [f"r{i}" for i in range(len(text_en))], "text_en": text_en}
    if text is not None:
        data["text"] = text
    return conform(pl.DataFrame({**data, **extra}, strict=False), "test")


# ---------------------------------------------------------------- source-side filters

def test_pre_filter_counts_empty_long_and_duplicates_across_chunks():
    settings = FilterSettings(max_chars=40)
    dedup = Dedup.empty()
    first = _frame(["A dog runs.", "a dog runs", "A dog runs.", "   ", "x" * 41, "A red car", "Two  men walk."])
    kept, counts = pre_filter(first, settings, dedup)
    assert kept["text_en"].to_list() == ["A dog runs.", "A red car", "Two men walk."]
    assert counts["empty"] == 1 and counts["too_long"] == 1
    assert counts["exact_duplicate"] == 1  # the second "A dog runs."
    assert counts["normalised_duplicate"] == 1  # "a dog runs" differs only in case and punctuation
    # A later chunk remembers the earlier one; whitespace-only differences are exact duplicates after squashing.
    second = _frame(["two men walk", "A red  car", "A blue car"])
    kept2, counts2 = pre_filter(second, settings, dedup)
    assert kept2["text_en"].to_list() == ["A blue car"]
    assert counts2["exact_duplicate"] == 1 and counts2["normalised_duplicate"] == 1


def test_pre_filter_source_scores():
    frame = _frame(["a", "b", "c", "d"], width=[512, 100, 800, None], height=[512, 512, 90, 600],
                   similarity=[0.3, 0.3, 0.3, 0.1], aesthetic=[6.0, 6.0, 6.0, 4.0])
    settings = FilterSettings(min_width=256, min_height=256, min_similarity=0.28, min_aesthetic=5.0)
    kept, counts = pre_filter(frame, settings, Dedup.empty())
    assert kept["text_en"].to_list() == ["a"]
    assert (counts["min_size"], counts["min_similarity"], counts["min_aesthetic"]) == (2, 1, 0)


def test_native_rows_are_keyed_on_their_native_text():
    frame = _frame(["a dog", "a dog", "a cat"], text=["개 한 마리", "강아지", "개 한 마리"])
    kept, counts = pre_filter(frame, FilterSettings(), Dedup.empty())
    assert kept["text"].to_list() == ["개 한 마리", "강아지"]
    assert counts["exact_duplicate"] == 1


def test_seen_set_matches_a_python_set():
    rng = np.random.default_rng(0)
    seen, reference = SeenSet(), set()
    for size in (1, 50, 7, 300, 2, 1000, 64):
        batch = rng.integers(0, 2000, size=size).astype(np.uint64)
        mask = seen.first_seen(batch)
        expected = []
        for value in batch.tolist():
            expected.append(value not in reference)
            reference.add(value)
        assert mask.tolist() == expected
    assert len(seen) == len(reference)


# ---------------------------------------------------------------- output-side filters

def _reference_repeats(tokens, max_n, repeats):
    """Plain reference: some unit of n <= max_n tokens occurs `repeats` times back to back."""
    for n in range(1, max_n + 1):
        for start in range(len(tokens) - n * repeats + 1):
            unit = tokens[start:start + n]
            if all(tokens[start + k * n:start + (k + 1) * n] == unit for k in range(repeats)):
                return True
    return False


def test_repeated_ngram_mask_matches_reference_on_random_token_strings():
    rng = random.Random(0)
    texts = [" ".join(rng.choice("ab") for _ in range(rng.randint(0, 14))) for _ in range(400)]
    texts += ["the the the the", "cat on cat on cat on cat on", "a man and a woman and a child and a dog", ""]
    mask = repeated_ngram_mask(pl.Series(texts), unspaced=False, max_n=3, repeats=3)
    expected = [_reference_repeats(t.split(" ") if t else [""], 3, 3) for t in texts]
    assert mask.tolist() == expected
    assert sum(expected) > 50  # the random strings exercise both outcomes


def test_post_filter_counts_on_crafted_outputs():
    english = ["A dog runs on the beach.", "A cat sleeps.", "Two men walk to work.", "A red bus.",
               "A girl reads a book in the park.", "A boy eats.", "An old house by the sea."]
    korean = ["개가 해변에서 달리고 있다.",  # kept
              "a cat sleeps",  # copied source
              "남자 남자 남자 남자 두 명",  # repeated word
              "해해해해해해해",  # repeated character inside a word
              "소녀",  # far too short for its source: length ratio
              "男の子が食べている。",  # Japanese, not Korean
              "바닷가의 오래된 집."]  # kept
    frame = _frame(english, text=korean)
    kept, counts = post_filter(frame, get_language("ko"), FilterSettings())
    assert kept["text"].to_list() == ["개가 해변에서 달리고 있다.", "바닷가의 오래된 집."]
    assert counts["copied_source"] == 1
    assert counts["repeated_ngram"] == 2
    assert counts["length_ratio"] == 1
    assert counts["language_id"] == 1
    assert kept["lang_score"].min() > 0.5
    assert kept["len_ratio"].to_list() == pytest.approx(
        [len(k) / len(e) / 0.45 for k, e in ((korean[0], english[0]), (korean[6], english[6]))], rel=1e-5)


def test_post_filter_normalises_chinese_script_and_counts_it():
    frame = _frame(["A red car on the street.", "A dog."], text=["街道上的一輛紅色汽車。", "一只狗。"])
    kept, counts = post_filter(frame, get_language("zh"), FilterSettings(language_id=False))
    assert kept["text"].to_list() == ["街道上的一辆红色汽车。", "一只狗。"]
    assert counts["script_normalised"] == 1
    assert kept["lang_score"].null_count() == 2  # language ID off: no score


def test_untranslated_rows_are_dropped_and_counted():
    frame = _frame(["A dog.", "A cat."], text=["개.", None])
    kept, counts = post_filter(frame, get_language("ko"), FilterSettings(language_id=False))
    assert kept.height == 1 and counts["untranslated"] == 1


# ---------------------------------------------------------------- language identification

def test_langid_identifies_the_hand_translations():
    rows = open_source("sample", "zh").read(1000)
    frame = next(iter(rows))
    sample = frame["text"].to_list()[:20]
    assert langid.identify_many(sample) == ["zh"] * 20
    assert langid.identify("Un gatto dorme su un davanzale assolato.") == "it"
    assert langid.identify("Кошка спит на подоконнике.") == "ru"
    assert langid.identify("") is None
    found, scores = langid.detect_for(["해변에서 달리는 개", "浜辺を走る犬"], "ko")
    assert found == ["ko", "ja"] and scores[0] > 0.9 and scores[1] < 0.1


def test_langid_rejects_unknown_languages():
    with pytest.raises(BenchError, match="unknown language 'kr'"):
        langid.identify("x", candidates=["kr", "en"])


# ---------------------------------------------------------------- sources

def test_sample_source_has_200_hand_translated_captions():
    for lang in ("zh", "ko", "ja", "ru", "it"):
        frame = pl.concat(list(open_source("sample", lang).batches(64)))
        assert frame.height == 200
        assert frame["text"].null_count() == 0 and frame["id"].n_unique() == 200
        assert set(frame["source"]) == {"hand"}
    english_only = pl.concat(list(open_source("sample-en", "ko").batches(64)))
    assert english_only["text"].null_count() == 200


def test_coco_source_and_bad_json(tmp_path):
    coco = {"images": [{"id": 9, "file_name": "a.jpg", "coco_url": "http://x/a.jpg"}],
            "annotations": [{"id": 1, "image_id": 9, "caption": "A dog."},
                            {"id": 2, "image_id": 9, "caption": "A brown dog."}]}
    path = tmp_path / "captions_val.json"
    path.write_text(json.dumps(coco))
    frame = pl.concat(list(open_source(f"coco:{path}", "ko").batches()))
    assert frame.select("id", "text_en", "image").rows() == [("coco-1", "A dog.", "http://x/a.jpg"),
                                                           ("coco-2", "A brown dog.", "http://x/a.jpg")]
    bad = tmp_path / "instances.json"
    bad.write_text(json.dumps({"annotations": [{"bbox": [0, 0, 1, 1]}]}))
    with pytest.raises(BenchError, match="not a COCO captions file"):
        open_source(f"coco:{bad}", "ko")


def test_table_sources(tmp_path):
    pl.DataFrame({"URL": ["u1", "u2"], "TEXT": ["a dog", "a cat"], "WIDTH": [10, 20], "HEIGHT": [30, 40],
                  "similarity": [0.3, 0.2]}).write_parquet(tmp_path / "laion.parquet")
    frame = pl.concat(list(open_source(f"laion:{tmp_path / 'laion.parquet'}", "ko").batches()))
    assert frame.select("id", "text_en", "image", "width", "similarity").rows() == [
        ("laion-0", "a dog", "u1", 10.0, 0.3), ("laion-1", "a cat", "u2", 20.0, 0.2)]
    pl.DataFrame({"url": ["u"], "alt": ["x"]}).write_parquet(tmp_path / "nocap.parquet")
    with pytest.raises(BenchError, match="no caption column"):
        open_source(f"laion:{tmp_path / 'nocap.parquet'}", "ko")
    (tmp_path / "c.tsv").write_text("id\tcaption\tko\nk1\ta dog\t개\nk2\ta cat\t\n")
    frame = pl.concat(list(open_source(f"tsv:{tmp_path / 'c.tsv'}", "ko").batches()))
    assert frame.select("id", "text_en", "text").rows() == [("k1", "a dog", "개"), ("k2", "a cat", None)]
    (tmp_path / "c.jsonl").write_text('{"caption": "a dog", "image": "1.jpg"}\n{"caption": "a cat"}\n')
    frame = pl.concat(list(open_source(f"jsonl:{tmp_path / 'c.jsonl'}", "ko").batches(1)))
    assert frame.select("id", "text_en", "image").rows() == [("c-0", "a dog", "1.jpg"), ("c-1", "a cat", None)]


def test_native_parallel_sources(tmp_path):
    xm = tmp_path / "captions.jsonl"
    xm.write_text(json.dumps({"image/key": "abc", "en": {"caption": ["a dog", "a brown dog"]},
                              "ko": {"caption": ["개", "갈색 개", "뛰는 개"]}}, ensure_ascii=False) + "\n")
    frame = pl.concat(list(open_source(f"xm3600:{xm}", "ko").batches()))
    assert frame.select("id", "text_en", "text").rows() == [
        ("xm3600-abc-0", "a dog", "개"), ("xm3600-abc-1", "a brown dog", "갈색 개"),
        ("xm3600-abc-2", "a dog", "뛰는 개")]
    cn = tmp_path / "cococn"
    cn.mkdir()
    (cn / "imageid.human-written-caption.txt").write_text("COCO_val2014_000000000042#0\t一只狗在跑\n")
    (cn / "coco-cn_train.txt").write_text("COCO_val2014_000000000042\n")
    frame = pl.concat(list(open_source(f"coco-cn:{cn}", "zh").batches()))
    assert frame.select("id", "text", "image").rows() == [
        ("coco-cn-human-written-COCO_val2014_000000000042-0", "一只狗在跑", "COCO_val2014_000000000042.jpg")]
    with pytest.raises(BenchError, match="Chinese captions only"):
        open_source(f"coco-cn:{cn}", "ko")


def test_bad_source_specs(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        open_source(f"coco:{tmp_path / 'missing.json'}", "ko")
    with pytest.raises(BenchError, match="did you mean 'coco'"):
        open_source("cocoo:x.json", "ko")
    with pytest.raises(BenchError, match="KIND:PATH"):
        open_source("captions.json", "ko")
    with pytest.raises(NotAvailableOffline, match="not cached: connect once or pass a local folder"):
        open_source("hf:someone/not-a-dataset", "ko")


# ---------------------------------------------------------------- translators

def test_tiny_translator_runs_the_real_generate_path():
    import torch

    from bench.models.translators import load_translator

    tr = load_translator("tiny", "en", "ko")
    texts = ["A dog runs on the beach.", "Two children play football on a grassy field in the sun.", "A cat."]
    out = tr.translate(texts, batch_size=2)
    assert out == tr.translate(texts, batch_size=3)  # deterministic, batch composition does not matter
    assert out == tr.translate(texts, batch_size=2, sort_by_length=False)
    # The same thing by hand with transformers: target-language token forced first, special tokens dropped.
    tok, model = tr.tokenizer, tr.model
    tok.src_lang = "en"
    batch = tok(texts[:1], return_tensors="pt")
    with torch.inference_mode():
        ids = model.generate(**batch, forced_bos_token_id=tok.get_lang_id("ko"), num_beams=2,
                             max_new_tokens=24, do_sample=False, early_stopping=True)
    assert ids[0, 1].item() == tok.get_lang_id("ko")
    expected = tok.decode([t for t in ids[0].tolist() if t not in tr._drop_ids], skip_special_tokens=True)
    assert out[0] == expected.strip()
    assert tr.revision.startswith("sha256:") and tr.settings["num_beams"] == 2
    back = load_translator("tiny", "ko", "en")  # any direction
    assert len(back.translate(["개가 달린다"])) == 1


def test_translators_fail_fast_offline_and_on_bad_pairs(monkeypatch):
    import time

    from bench.models.translators import load_translator

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(NotAvailableOffline, match="not cached: connect once or pass a local folder"):
        load_translator("nllb", "en", "ko")
    assert time.monotonic() - start < 15
    with pytest.raises(BenchError, match="opus-mt has no ko -> ja"):
        load_translator("opus-mt", "ko", "ja")
    with pytest.raises(BenchError, match="did you mean 'nllb'"):
        load_translator("nlb", "en", "ko")
    with pytest.raises(BenchError, match="cannot translate en -> ko"):
        load_translator("none", "en", "ko").translate(["a dog"])
    assert load_translator("none", "ko", "ko").translate(["개"]) == ["개"]


def test_hf_sources_saved_folder_and_data_files(tmp_path):
    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"caption": ["a dog", "a cat", "a car"], "url": ["u1", "u2", "u3"]})}).save_to_disk(tmp_path / "saved")
    frame = pl.concat(list(open_source(f"hf:{tmp_path / 'saved'}", "ko").batches(2)))
    assert frame.select("id", "text_en", "image").rows() == [("saved-0", "a dog", "u1"), ("saved-1", "a cat", "u2"),
                                                           ("saved-2", "a car", "u3")]
    folder = tmp_path / "parquet_dataset"
    folder.mkdir()
    pl.DataFrame({"TEXT": ["a boat"], "key": ["k9"]}).write_parquet(folder / "train.parquet")
    frame = pl.concat(list(open_source(f"hf:{folder}", "ko").batches()))
    assert frame.select("id", "text_en").rows() == [("k9", "a boat")]
    with pytest.raises(BenchError, match="no split 'test'"):
        open_source(f"hf:{tmp_path / 'saved'}@test", "ko")


def test_native_captions_skip_the_machine_translation_checks():
    frame = _frame(["A dog.", "A dog."], text=["a dog.", "a dog."]).with_columns(
        pl.Series("_mt", [False, True]))
    kept, counts = post_filter(frame, get_language("it"), FilterSettings(language_id=False))
    assert kept["_mt"].to_list() == [False] and counts["copied_source"] == 1


def _tiny_nllb_folder(folder):
    """A random-weight NLLB-style folder (M2M100 architecture, NllbTokenizer over characters)."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4}
    for char in sorted(set("a dog runs on the beach 개가 해변을 달린다") - {" "}):
        vocab.setdefault(char, len(vocab))
        vocab.setdefault("▁" + char, len(vocab))
    tokenizer = NllbTokenizer(vocab=vocab, merges=[])
    config = M2M100Config(vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
                          eos_token_id=2, decoder_start_token_id=2)
    torch.manual_seed(0)
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return tokenizer


def _tiny_marian_folder(folder):
    """A random-weight Marian folder whose vocabulary has the multi-target token >>cmn_Hans<<."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    from bench.models.zoo.tokenizers import sentencepiece_model

    lines = ["a dog runs on the beach", "一只狗在海滩上奔跑", "two cats sleep", "两只猫在睡觉"]
    model = sentencepiece_model(lines, vocab_size=len(set("".join(lines))) + 40)
    folder.mkdir()
    for name in ("source.spm", "target.spm"):
        (folder / name).write_bytes(model)
    pieces = spm.SentencePieceProcessor(model_proto=model)
    vocab = {"</s>": 0, "<unk>": 1, ">>cmn_Hans<<": 2}
    for i in range(pieces.get_piece_size()):
        vocab.setdefault(pieces.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = MarianTokenizer(source_spm=str(folder / "source.spm"), target_spm=str(folder / "target.spm"),
                                vocab=str(folder / "vocab.json"))
    config = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=vocab["<pad>"],
                          eos_token_id=0, decoder_start_token_id=vocab["<pad>"])
    torch.manual_seed(0)
    MarianMTModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def test_nllb_and_opus_mt_families_load_local_folders(tmp_path):
    from bench.models.translators import load_translator

    tokenizer = _tiny_nllb_folder(tmp_path / "nllb")
    nllb = load_translator("nllb", "en", "ko", model=str(tmp_path / "nllb"), max_new_tokens=8)
    assert nllb.tokenizer.src_lang == "eng_Latn"
    assert nllb._generate_kwargs["forced_bos_token_id"] == tokenizer.convert_tokens_to_ids("kor_Hang")
    out = nllb.translate(["a dog runs on the beach"])
    assert len(out) == 1 and "kor_Hang" not in out[0]
    assert nllb.revision.startswith("sha256:") and nllb.model_id == str(tmp_path / "nllb")
    back = load_translator("nllb", "ko", "en", model=str(tmp_path / "nllb"), max_new_tokens=8)
    assert back.tokenizer.src_lang == "kor_Hang"
    assert back._generate_kwargs["forced_bos_token_id"] == tokenizer.convert_tokens_to_ids("eng_Latn")

    _tiny_marian_folder(tmp_path / "marian")
    marian = load_translator("opus-mt", "en", "zh", model=str(tmp_path / "marian"), max_new_tokens=8)
    assert marian.settings["target_prefix"] == ">>cmn_Hans<<"
    assert len(marian.translate(["a dog runs", "two cats sleep"])) == 2
