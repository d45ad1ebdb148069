"""`python -m bench.demo` (`make demo`): the whole pipeline on the embedded offline default.

Three parts, each the toolkit's own stage code:
1. corpora from the shipped sample (hand translations, and the tiny random translator's honest failure);
2. every plug-in's demo stage in DEMOS: the toy world's (registered by its plug-in, bench/world) runs
   corpus -> PEA distillation -> generation -> evaluation of the English oracle, as-is,
   translate-then-generate and PEA, where the numbers mean something on a CPU;
3. reports/leaderboard.md, grids and plot regenerated from reports/results/.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable

from bench.core.registry import Registry

# name -> stage(quick: bool) -> {"lines": summary lines, "runs": run ids it evaluated}; plug-ins add theirs
# (the toy world's is "world").
DEMOS: Registry[Callable[[bool], dict]] = Registry("demo stage")


def corpus_demo(lang: str = "ko") -> list[tuple[str, dict]]:
    """Build the sample's native-parallel corpus (hand translations) and a tiny-translator corpus."""
    from bench.core import paths
    from bench.core.errors import BenchError
    from bench.corpus.build import CorpusConfig, build_corpus

    results = []
    for name, source, translator in (
        (f"demo-sample-{lang}", "sample", "none"),  # the hand translations: meaningful numbers
        (f"demo-tiny-{lang}", "sample-en", "tiny"),  # random-weight M2M100: real code path, garbage output
    ):
        config = CorpusConfig(lang=lang, sources=(source,), translator=translator, name=name, shard_size=100)
        try:
            result = build_corpus(config, progress=True)
            results.append((str(result.folder), result.manifest))
        except BenchError:
            # A corpus that keeps no row is an error for `bench build-corpus`; here it is the point (the
            # random translator's output is all dropped), and its manifest, written first, says by which filter.
            folder = paths.corpus_dir(name)
            manifest = folder / "manifest.json"
            if translator != "tiny" or not manifest.is_file():
                raise
            results.append((str(folder), paths.read_json(manifest)))
    return results


def _corpus_lines(built: list[tuple[str, dict]]) -> list[str]:
    """One line per corpus: rows kept and what the filters dropped."""
    lines = []
    for folder, manifest in built:
        rows = manifest["rows"]
        dropped = ", ".join(f"{f['name']} {f['dropped']}" for f in manifest["filters"] if f["dropped"]) or "none"
        lines.append(f"corpus {folder}: {rows['kept']} of {rows['read']} captions kept "
                     f"(translator {manifest['translator']['name']}; dropped: {dropped}); see its sample.md")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Run the demo and say, in a few lines, what it found and where everything went."""
    parser = argparse.ArgumentParser(prog="python -m bench.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one language, fewer prompts and steps (~2 min)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="debug messages, third-party loading bars and warnings")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    from bench.core.quiet import quiet_third_party

    quiet_third_party(args.verbose)  # as `bench` does: the libraries' bars and notices only with --verbose

    from bench.core import paths
    from bench.report import paired
    from bench.report.leaderboard import write_leaderboard

    started = time.perf_counter()
    built = corpus_demo()
    corpus_s = time.perf_counter() - started
    # `python -m bench.demo` runs this file as __main__; plug-ins register into the module bench.demo's DEMOS
    from bench.demo import DEMOS as demos

    stages = [demos.get(name)(args.quick) for name in demos.names()]
    written = write_leaderboard()
    total_s = time.perf_counter() - started

    print("\n".join(_corpus_lines(built)))
    print("tiny-translator output is random-weight garbage, so the filters drop it: that is the honest number.")
    for stage in stages:
        print("\n".join(stage["lines"]))
    print("\n".join(paired.demo_lines([run for stage in stages for run in stage["runs"]])))
    print(f"sample corpora {corpus_s:.0f} s; whole demo {total_s:.0f} s")
    print(f"leaderboard: {written['leaderboard']} ({written['results']} results; grids in "
          f"{paths.reports_dir() / 'grids'}); runs, checkpoints and caches under {paths.bench_home()}")
    print("results browser on these toy-world runs: .venv/bin/bench serve, then open the /login link it prints")


if __name__ == "__main__":
    main()
