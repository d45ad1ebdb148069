"""Which engine builds a corpus: this process and its torchrun ranks (bench.corpus.build) or a Ray cluster
(bench.corpus.ray_engine). Both write the same shards and rows; config.engine chooses."""

from __future__ import annotations

from typing import Any


def build_corpus(config: Any, progress: bool = False) -> Any:
    """Build (or resume) a corpus with the engine its config names."""
    if config.engine == "ray":
        from bench.corpus.ray_engine import build_with_ray

        return build_with_ray(config, progress)
    from bench.corpus.build import build_corpus as build_local

    return build_local(config, progress)
