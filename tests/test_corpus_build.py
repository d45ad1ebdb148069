"""build-corpus end to end: output contract, resume after a crash, two processes, bad input at the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import polars as pl
import pytest

from bench.core import paths
from bench.core.errors import BenchError
from bench.corpus import build as build_module
from bench.corpus.build import CORPUS_COLUMNS, CorpusConfig, build_corpus, read_corpus
from bench.corpus.filters import FilterSettings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def corpora(tmp_path, monkeypatch):
    """An empty corpora folder for one test."""
    folder = tmp_path / "corpora"
    monkeypatch.setenv("BENCH_CORPORA_DIR", str(folder))
    return folder


def _messy_source(folder: Path, n: int = 230) -> Path:
    """Native-parallel JSONL with duplicates spread across shards, empties, copies and wrong-language rows."""
    sample = [json.loads(line) for line in paths.shipped_sample_captions().read_text().splitlines()]
    rows = []
    for i in range(n):
        s = sample[i % len(sample)]  # every caption again after 200 rows: duplicates in later shards
        en, ko = s["en"], s["ko"]
        if i % 17 == 5:
            ko = ko.rstrip(".") + " !"  # differs only in punctuation: a normalised duplicate when repeated
        if i % 23 == 7:
            ko = ""  # empty output
        if i % 29 == 3:
            ko = s["ja"]  # wrong language
        rows.append({"id": f"m{i:04d}", "caption": en, "ko": ko, "url": f"http://img/{i}.jpg"})
    path = folder / "messy.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _reference_dedup(source: Path) -> dict[str, int]:
    """Plain-Python reference for the empty and duplicate filters (keys are the native captions)."""
    seen, seen_norm = set(), set()
    counts = {"empty": 0, "exact_duplicate": 0, "normalised_duplicate": 0}
    for line in source.read_text(encoding="utf-8").splitlines():
        key = " ".join(unicodedata.normalize("NFKC", json.loads(line)["ko"]).split())
        norm = " ".join("".join(" " if unicodedata.category(c)[0] in "PS" else c for c in key.lower()).split())
        if not key:
            counts["empty"] += 1
        elif key in seen:
            counts["exact_duplicate"] += 1
        elif norm in seen_norm:
            seen.add(key)
            counts["normalised_duplicate"] += 1
        else:
            seen.add(key)
            seen_norm.add(norm)
    return counts


def _config(source: Path, **kw) -> CorpusConfig:
    kw = {"name": "messy", **kw}
    return CorpusConfig(lang="ko", sources=(f"jsonl:{source}",), translator="none", shard_size=40, **kw)


def test_sample_corpus_contract(corpora):
    result = build_corpus(CorpusConfig(lang="zh", sources=("sample",), translator="none", shard_size=64))
    assert result.finalized and result.name == "sample-zh-none"
    frame = read_corpus(result.name)
    assert tuple(frame.columns) == CORPUS_COLUMNS
    assert frame.height == 200 and frame["id"].to_list() == [f"sample-{i:03d}" for i in range(1, 201)]
    assert set(frame["lang"]) == {"zh"} and set(frame["source"]) == {"hand"}
    assert frame["lang_score"].min() > 0.5
    manifest = json.loads(paths.corpus_manifest_path(result.name).read_text())
    assert manifest["rows"] == {"read": 200, "kept": 200, "dropped": 0}
    assert [s["rows"] for s in manifest["shards"]] == [64, 64, 64, 8]
    assert manifest["translator"]["name"] == "none" and manifest["provenance"]["versions"]["polars"]
    assert {f["name"] for f in manifest["filters"]} >= {"exact_duplicate", "language_id", "repeated_ngram"}
    assert len(manifest["sources"][0]["sha256"]) == 64
    sample_md = paths.corpus_sample_path(result.name).read_text()
    assert sample_md.count("\n| sample-") == 20


def test_filters_are_counted_in_the_manifest(corpora, tmp_path):
    source = _messy_source(tmp_path)
    result = build_corpus(_config(source))
    counts = {f["name"]: f["dropped"] for f in result.manifest["filters"]}
    frame = read_corpus("messy")
    reference = _reference_dedup(source)
    assert {k: counts[k] for k in reference} == reference
    assert reference["normalised_duplicate"] > 0 and reference["exact_duplicate"] > 20
    assert counts["language_id"] == 8  # the Japanese rows (i % 29 == 3)
    assert result.manifest["rows"]["kept"] == frame.height == 230 - sum(counts.values())
    assert frame["id"].n_unique() == frame.height


def test_killed_build_resumes_to_the_same_corpus(corpora, tmp_path, monkeypatch):
    source = _messy_source(tmp_path)
    build_corpus(_config(source, name="whole"))
    whole = read_corpus("whole")

    calls = {"n": 0}
    real = build_module.post_filter

    def crash_on_third_shard(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "post_filter", crash_on_third_shard)
    with pytest.raises(RuntimeError, match="killed"):
        build_corpus(_config(source))
    assert not paths.corpus_manifest_path("messy").exists()
    assert sorted(p.name for p in (corpora / "messy" / "data").iterdir()) == ["part-00000.parquet",
                                                                             "part-00001.parquet"]
    monkeypatch.setattr(build_module, "post_filter", real)
    resumed = build_corpus(_config(source))
    assert (resumed.shards_skipped, resumed.shards_built, resumed.shards_total) == (2, 4, 6)
    assert read_corpus("messy").equals(whole)
    first = json.loads(paths.corpus_manifest_path("whole").read_text())
    assert resumed.manifest["filters"] == first["filters"]
    assert resumed.manifest["content_hash"] == first["content_hash"]


def test_resume_with_other_settings_is_refused(corpora, tmp_path):
    source = _messy_source(tmp_path, n=50)
    build_corpus(_config(source))
    with pytest.raises(Exception, match="started with different settings"):
        build_corpus(_config(source, filters=FilterSettings(max_chars=10)))


def test_two_processes_build_the_same_corpus_as_one(corpora, tmp_path):
    source = _messy_source(tmp_path)
    build_corpus(_config(source, name="single"))
    script = (
        "import sys; from bench.corpus.build import CorpusConfig, build_corpus;"
        f"r = build_corpus(CorpusConfig(lang='ko', sources=('jsonl:{source}',), translator='none',"
        " name='pair', shard_size=40)); print(r.shards_built, r.finalized)"
    )
    env = {**os.environ, "BENCH_CORPORA_DIR": str(corpora), "WORLD_SIZE": "2", "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", script], env={**env, "RANK": str(rank)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rank in (0, 1)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(int(out.split()[0]) for out, _ in outputs) == [3, 3]
    # Merge step: the same command in one process finds every shard done and writes the manifest.
    merged = build_corpus(CorpusConfig(lang="ko", sources=(f"jsonl:{source}",), translator="none", name="pair",
                                       shard_size=40))
    assert merged.shards_built == 0 and merged.finalized
    assert read_corpus("pair").equals(read_corpus("single"))
    single = json.loads(paths.corpus_manifest_path("single").read_text())
    assert merged.manifest["filters"] == single["filters"]
    assert merged.manifest["content_hash"] == single["content_hash"]


def test_tiny_translator_build(corpora):
    config = CorpusConfig(lang="ko", sources=("sample-en",), translator="tiny", limit=24, shard_size=12,
                          batch_size=12)
    with pytest.raises(BenchError, match=r"0 of 24 captions kept \(dropped by filter: .*repeated_ngram"):
        build_corpus(config)
    # The manifest is written before the refusal, so what the filters dropped can be read.
    manifest = json.loads((corpora / config.corpus_name() / "manifest.json").read_text())
    assert manifest["rows"]["read"] == 24
    assert manifest["translator"]["model_id"] == "zoo:tiny-translator"
    assert manifest["translator"]["revision"].startswith("sha256:")
    # Random weights emit degenerate text: the filters drop it, and say so.
    assert manifest["rows"]["kept"] == 0
    assert sum(f["dropped"] for f in manifest["filters"]) == 24 - manifest["rows"]["kept"]


def _cli(monkeypatch, capsys, *args):
    from bench import cli

    monkeypatch.setattr(sys, "argv", ["bench", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code, capsys.readouterr()


def test_cli_builds_the_sample(corpora, monkeypatch, capsys):
    code, out = _cli(monkeypatch, capsys, "build-corpus", "--lang", "it", "--source", "sample",
                     "--translator", "none", "--name", "it-hand")
    assert code == 0
    assert "200 of 200 captions kept" in out.out
    assert (corpora / "it-hand" / "manifest.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "kor", "--source", "sample"], "unknown language 'kor'; did you mean 'ko'?"),
        (["--lang", "ko", "--source", "coco:/nonexistent/captions.json"], "does not exist"),
        (["--lang", "ko", "--source", "json:x.json"], "unknown source kind 'json'; did you mean"),
        (["--lang", "ko", "--source", "coco:{bad_json}"], "not a COCO captions file"),
        (["--lang", "ko", "--source", "laion:{no_caption}"], "no caption column"),
        (["--lang", "ko", "--source", "sample-en", "--translator", "nllb"],
         "not cached: connect once or pass a local folder"),
        (["--lang", "ko", "--source", "sample-en", "--translator", "none"], "translator 'none' needs native"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(corpora, tmp_path, monkeypatch, capsys, args, message):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text(json.dumps({"images": []}))
    no_caption = tmp_path / "meta.parquet"
    pl.DataFrame({"url": ["u"], "width": [1]}).write_parquet(no_caption)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    args = [a.format(bad_json=bad_json, no_caption=no_caption) for a in args]
    code, out = _cli(monkeypatch, capsys, "build-corpus", *args, "--name", "never")
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], out.err
    assert "Traceback" not in out.err
    assert not (corpora / "never").exists()


def test_laion_multi_translated_to_english_layout(corpora, tmp_path):
    meta = tmp_path / "laion2B-multi-joined-translated-to-en.parquet"
    pl.DataFrame({
        "URL": ["u1", "u2", "u3", "u4"],
        "TEXT": ["해변을 달리는 개", "浜辺を走る犬", "공원에서 책을 읽는 여자", "해변을 달리는 개"],
        "ENG TEXT": ["a dog running on the beach", "a dog running on the beach", "a woman reading in a park",
                     "a dog running on the beach"],
        "LANGUAGE": ["ko", "ja", "ko", "ko"],
        "WIDTH": [512, 512, 128, 512], "HEIGHT": [512, 512, 512, 512],
    }).write_parquet(meta)
    result = build_corpus(CorpusConfig(lang="ko", sources=(f"laion:{meta}",), translator="none",
                                       filters=FilterSettings(min_width=256, min_height=256)))
    counts = {f["name"]: f["dropped"] for f in result.manifest["filters"]}
    assert (counts["other_language"], counts["min_size"], counts["exact_duplicate"]) == (1, 1, 1)
    frame = read_corpus(result.name)
    assert frame.select("id", "text_en", "text", "image").rows() == [
        (f"{meta.stem}-0", "a dog running on the beach", "해변을 달리는 개", "u1")]
