"""`python -m bench.demo` (`make demo`): the offline default run, on the shipped sample and tiny models."""

from __future__ import annotations

import logging
import os


def corpus_demo(lang: str = "ko") -> list[tuple[str, dict]]:
    """Build the sample's native-parallel corpus (hand translations) and a tiny-translator corpus."""
    from bench.corpus.build import CorpusConfig, build_corpus

    results = []
    for name, source, translator in (
        (f"demo-sample-{lang}", "sample", "none"),  # the hand translations: meaningful numbers
        (f"demo-tiny-{lang}", "sample-en", "tiny"),  # random-weight M2M100: real code path, garbage output
    ):
        config = CorpusConfig(lang=lang, sources=(source,), translator=translator, name=name, shard_size=100)
        result = build_corpus(config, progress=True)
        results.append((str(result.folder), result.manifest))
    return results


def main() -> None:
    """Run the demo and say where everything went."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for folder, manifest in corpus_demo():
        rows = manifest["rows"]
        dropped = ", ".join(f"{f['name']} {f['dropped']}" for f in manifest["filters"] if f["dropped"]) or "none"
        print(f"corpus {folder}: {rows['kept']} of {rows['read']} captions kept "
              f"(translator {manifest['translator']['name']}; dropped: {dropped})")
        print(f"  eyeball it: {folder}/sample.md")
    print("tiny-translator output is random-weight garbage, so the filters drop it: that is the honest number.")


if __name__ == "__main__":
    main()
