"""pea-bench: take an English text-to-image model to other languages with a PEA adapter, and measure it.

The Python API mirrors the command line. Each function takes the stage's frozen config, or that config's
fields as keywords, and returns the stage's result; `bench <command>` builds the same config and calls the
same function:

    import bench
    corpus = bench.build_corpus(lang="ko", sources=("sample",), translator="none", name="sample-ko")
    checkpoint = bench.train(lang="ko", base="tiny-sd", corpus="sample-ko", steps=20)
    run = bench.generate(model="world-pea-zh", prompts="world-general", lang="zh", limit=8)
    summary = bench.evaluate(run=run)
    table = bench.compare(run_a, run_b)
    written = bench.leaderboard()
    pipe = bench.load_pipeline("pea-zh")

Nothing heavy is imported until a function runs: `import bench` loads no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"

__all__ = ["build_corpus", "compare", "evaluate", "generate", "leaderboard", "load_pipeline", "train"]


def _config(cls: type, config: Any, fields: dict[str, Any]) -> Any:
    """`config` itself, or `cls(**fields)`; both at once is a mistake."""
    if config is not None and fields:
        raise TypeError(f"give a {cls.__name__} or its fields as keywords, not both")
    if config is None:
        return cls(**fields)
    if not isinstance(config, cls):
        raise TypeError(f"expected a {cls.__name__}, got {type(config).__name__}")
    return config


def build_corpus(config: Any = None, /, *, progress: bool = False, **fields: Any) -> Any:
    """`bench build-corpus`: a CorpusConfig (or its fields) -> BuildResult (folder, manifest, shard counts)."""
    from bench.corpus.build import CorpusConfig
    from bench.corpus.engines import build_corpus as run

    return run(_config(CorpusConfig, config, fields), progress=progress)


def train(config: Any = None, /, **fields: Any) -> Path:
    """`bench train`: a TrainConfig (or its fields) -> the checkpoint folder."""
    from bench.training.config import TrainConfig
    from bench.training.distill import train as run

    return run(_config(TrainConfig, config, fields))


def generate(config: Any = None, /, *, progress: bool = True, **fields: Any) -> Path:
    """`bench generate`: a GenerateConfig (or its fields) -> the run folder, every image in it."""
    from bench.generation.config import GenerateConfig
    from bench.generation.harness import generate as run

    return run(_config(GenerateConfig, config, fields), progress=progress)


def evaluate(config: Any = None, /, *, run: str | Path | None = None, generation: Any = None,
             **fields: Any) -> dict[str, Any]:
    """`bench evaluate`: score a run folder (run=), or first generate one (generation= a GenerateConfig or
    its fields), with an EvalConfig (or its fields) -> the summary (also written to the run's summary.json)."""
    from bench.evaluation.evaluate import EvalConfig, evaluate_run
    from bench.generation.config import GenerateConfig

    cfg = _config(EvalConfig, config, fields)
    if run is None:
        if generation is None:
            raise TypeError("give run= (a run folder) or generation= (what to generate first)")
        gen = generation if isinstance(generation, GenerateConfig) else GenerateConfig(**generation)
        run = generate(gen)
    return evaluate_run(Path(run), cfg)


def compare(run_a: str | Path, run_b: str | Path, metrics: tuple[str, ...] | None = None, *,
            consistency: bool = True, device: str = "cpu") -> dict[str, Any]:
    """`bench compare`: paired differences A - B per metric (CI, p-value, Holm) of two evaluated runs."""
    from bench.stats.compare import compare_runs

    return compare_runs(run_a, run_b, metrics, consistency=consistency, device=device)


def leaderboard(grids: bool = True, plot: bool = True, prefer: tuple[str, ...] = ()) -> dict[str, Any]:
    """`bench leaderboard`: reports/leaderboard.md (+ grids, plot) from reports/results -> what was written."""
    from bench.report.leaderboard import write_leaderboard

    return write_leaderboard(grids=grids, plot=plot, prefer=prefer)


def load_pipeline(name: str, **kwargs: Any) -> Any:
    """A diffusers pipeline for a registered system that takes native-language prompts."""
    from bench.models.loading import load_pipeline as run

    return run(name, **kwargs)
