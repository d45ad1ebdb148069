"""What `bench train --lang L` means without --base and --corpus: SDXL, and the default corpus cc3m-L."""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.corpus.defaults import default_corpus_name

DEFAULT_BASE = "sdxl"  # the paper's main base model


def train_corpus(lang: str, corpus: str | None) -> str:
    """--corpus for `bench train --lang L`: the given one, or the default corpus, which must exist."""
    if corpus:
        return corpus
    from bench.core import paths

    name = default_corpus_name(lang)
    if not (paths.corpora_dir() / name).is_dir():
        # The default corpus and base need the hub; the toy world (a shipped plug-in) trains offline in minutes.
        raise BenchError(f"corpus {name} (the default for --lang {lang}) does not exist in {paths.corpora_dir()}; "
                         f"build it with `bench build-corpus --lang {lang}` (needs the hub) or pass --corpus NAME; "
                         f"offline, the toy world works: `bench build-corpus --lang {lang} --source world:2000 "
                         f"--translator none --no-language-id --name world-{lang}`, then `bench train --lang {lang} "
                         f"--base world --encoder world --corpus world-{lang}`")
    return name
