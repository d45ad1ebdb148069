"""Hints name the flag that fixes the problem."""

from __future__ import annotations

import pytest

from bench.core.errors import BenchError


def test_a_parallel_source_without_a_cached_translator_suggests_translator_none(bench_home, tmp_path, monkeypatch):
    from bench.corpus.build import CorpusConfig, build_corpus
    from bench.models import weights

    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    if weights.available_offline("facebook/nllb-200-distilled-600M", probe="config.json"):
        pytest.skip("NLLB is cached here, so the default translator loads")  # CI has no hub cache
    with pytest.raises(BenchError, match=r"world:20 already has ko captions: pass --translator none"):
        build_corpus(CorpusConfig(lang="ko", sources=("world:20",), name="hint"))


def test_an_untrained_pea_system_names_the_train_command_and_name(bench_home):
    from bench.models.pipelines import get_system

    problem = get_system("world-pea-ko").missing()
    assert "bench train --lang ko --base world" in problem and "--name world-pea-ko" in problem
