"""What `bench build-corpus --lang L` means without --source: Conceptual Captions, translated, named cc3m-L."""

from __future__ import annotations

from bench.core.errors import NotAvailableOffline

# Conceptual Captions (CC3M, Google): 3.3M English alt-text captions with image URLs (columns image_url,
# caption), served as parquet by the hub and streamed through `datasets`; the default English side.
DEFAULT_SOURCE = "hf:google-research-datasets/conceptual_captions@train"
DEFAULT_SOURCE_LABEL = "cc3m"


def default_corpus_name(lang: str) -> str:
    """The corpus `bench build-corpus --lang L` writes and `bench train --lang L` reads."""
    return f"{DEFAULT_SOURCE_LABEL}-{lang}"


def require_default_source(lang: str) -> None:
    """Fail in one line when the default caption source cannot be read here (the hub is off, nothing cached)."""
    from bench.corpus.sources import open_source

    try:
        open_source(DEFAULT_SOURCE, lang)
    except NotAvailableOffline:
        raise NotAvailableOffline(
            f"the default source {DEFAULT_SOURCE} (Conceptual Captions, English) needs the hub, which is not "
            f"reachable or switched off (HF_HUB_OFFLINE=1) here; use --source sample (the shipped hand "
            f"translations, --translator none) or local files: --source coco:captions_train2014.json, "
            f"jsonl:FILE, parquet:DIR, laion:DIR or hf:LOCAL_DATASET_FOLDER"
        ) from None
