"""Score a run folder: reads the run (and nothing else but reference statistics, judges and the prompt
set's concept table), writes scores/<metric>.parquet (one row per image) and summary.json, and copies
the summary to reports/results/<run-id>.json.

Features are computed once per run and extractor (bench.instruments.features); each metric's result is cached in
scores/ under a key of everything that decides it, so re-evaluating a finished run only re-reads files.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import paths, provenance
from bench.core.config import check_settings, setting, stable_hash, to_jsonable
from bench.core.errors import BenchError
from bench.core.runtime import resolve_device
from bench.evaluation.scoring import choose_metrics, score_metric, shared_weight_warnings
from bench.generation.runs import Run, read_run
from bench.instruments.judges import TIER_DEFAULTS

log = logging.getLogger(__name__)

SUMMARY_FORMAT = 1
CMMD_JUDGE = TIER_DEFAULTS["real"]["cmmd_judge"]  # google-research/cmmd's CLIP ViT-L/14-336, its preprocessing


# Judges and extractor a prompt set is best scored with (e.g. the toy world's own CLIP), used when the
# evaluation config names none: the set's set.toml [evaluate] table, or register_eval_defaults() in code
# (which wins over the file).
EVAL_DEFAULTS: dict[str, dict[str, str]] = {}


def register_eval_defaults(prompt_set: str, **names: str) -> None:
    """Default judge / judge_en / extractor for runs of `prompt_set` (the config still wins)."""
    unknown = set(names) - {"judge", "judge_en", "cmmd_judge", "extractor", "vqa_judge"}
    if unknown:
        raise ValueError(f"unknown default(s) {sorted(unknown)}; use judge, judge_en, cmmd_judge, extractor, vqa_judge")
    EVAL_DEFAULTS.setdefault(prompt_set, {}).update(names)


def set_eval_defaults(prompt_set: str) -> dict[str, str]:
    """The judges and extractor a prompt set's set.toml names under [evaluate] ({} when the set is not here)."""
    from bench.prompts.load import load_set_info, set_folder

    try:
        if not (set_folder(prompt_set) / "set.toml").is_file():
            return {}
    except BenchError:  # a name that cannot be a set folder: the run came from elsewhere
        return {}
    return dict(load_set_info(prompt_set).evaluate)


@dataclass(frozen=True)
class EvalConfig:
    """What to compute for a run; None picks the default for the run's tier and language."""

    metrics: tuple[str, ...] | None = setting(None, "Metrics to compute (default: every one that applies; "
                                              "set metrics need --refstats).")
    judge: str | None = setting(None, "Multilingual judge (default: the language's; bench judge-check --list).")
    judge_en: str | None = setting(None, "English judge (default: the tier's, bench.instruments.judges.TIER_DEFAULTS).")
    extractor: str | None = setting(None, "FID/KID network (default: the tier's, bench.instruments.judges.TIER_DEFAULTS).")
    vqa_judge: str | None = setting(None, "VQA judge for vqascore, culture-vqa and concept-present: a name (bench "
                                    "judge-check --list), or a Qwen2-VL / Qwen2.5-VL hub id or folder. Those metrics "
                                    "run by default only when this or the prompt set names one; --metrics vqascore "
                                    "alone uses the tier's (qwen2.5-vl-7b, tiny-qwen2.5-vl).")
    reward_judges: tuple[str, ...] | None = setting(None, "Reward judges instead of the tier's, as ROLE=JUDGE "
                                                    "(roles pickscore, imagereward, hpsv2; JUDGE a name, hub id or "
                                                    "folder), comma-separated.")
    mode: str = setting("clean", "clean-fid mode.", choices=("clean", "legacy_tensorflow", "legacy_pytorch"))
    refstats: str | None = setting(None, "Reference statistics name for FID, KID and CMMD (bench refstats list).")
    refstats_any_size: bool = setting(False, "Accept reference statistics built at another size than the run's "
                                      "(recorded).")
    device: str = setting("auto", "Where judges and extractors run (auto: cuda when available, else cpu).")
    copy_to_reports: bool = setting(False, "Also publish to reports/results (the leaderboard's input) when "
                                    "comparable with what is there.", flag="--publish")

    def __post_init__(self) -> None:
        check_settings(self)


class EvalContext:
    """What metrics see: the run's rows and files, chosen judges and extractor, shared features, refstats."""

    def __init__(self, run: Run, cfg: EvalConfig) -> None:
        from bench.instruments.features import EXTRACTORS, FID_MODES
        from bench.instruments.judges import (
            JUDGES,
            default_english_judge,
            default_judge,
            tier_default,
        )

        self.run = run
        self.rows = run.rows
        self.files = run.files
        self.lang = run.lang
        self.tier = run.tier
        self.prompt_set = run.prompt_set.get("name", "")
        preset = {**set_eval_defaults(self.prompt_set), **EVAL_DEFAULTS.get(self.prompt_set, {})}
        self.judge = cfg.judge or preset.get("judge") or default_judge(self.tier, self.lang)
        self.judge_en = cfg.judge_en or preset.get("judge_en") or default_english_judge(self.tier)
        self.extractor = (cfg.extractor or preset.get("extractor")
                          or tier_default(self.tier, "extractor"))
        from bench.instruments.vqa import default_vqa_judge, resolve_vqa_judge

        # VQA judges are multi-gigabyte: their metrics are opt-in (bench.evaluation.scoring.choose_metrics)
        self.vqa_judge_named = bool(cfg.vqa_judge or preset.get("vqa_judge"))
        self.vqa_judge = resolve_vqa_judge(cfg.vqa_judge or preset.get("vqa_judge") or default_vqa_judge(self.tier))
        self._vqa: dict[tuple[str, int, str], float] = {}
        from bench.instruments.judges import resolve_reward_judges

        self.reward_judges = resolve_reward_judges(cfg.reward_judges or ())  # role -> judge (bench.metrics.reward)
        # CMMD's embedding model: the reference's CLIP for real runs, the English judge for tiny ones
        self.cmmd_judge = preset.get("cmmd_judge") or (self.judge_en if self.tier == "tiny" else CMMD_JUDGE)
        JUDGES.get(self.judge)
        JUDGES.get(self.judge_en)
        JUDGES.get(self.cmmd_judge)
        EXTRACTORS.get(self.extractor)
        if cfg.mode not in FID_MODES:
            from bench.core.errors import unknown_name

            raise unknown_name("FID mode", cfg.mode, FID_MODES)
        self.mode = cfg.mode
        self.refstats_name = cfg.refstats
        self.refstats_any_size = cfg.refstats_any_size
        self.notes: list[str] = []  # warnings found while preparing inputs (reference sizes)
        self.device = resolve_device(cfg.device)
        self._texts: dict[tuple[str, tuple[str, ...]], tuple[Any, list[bool]]] = {}
        self._refstats: dict[str, Any] = {}
        self._concepts: dict[str, Any] | None = None

    @functools.cached_property
    def features(self):
        """The run's shared features; built on first use, so a context can check needs before images exist."""
        from bench.instruments.features import RunFeatures

        return RunFeatures(self.run.path, self.files, self.mode, self.device)

    def base_row(self, i: int) -> dict[str, Any]:
        """The identifying columns of image i's score row."""
        row = self.rows[i]
        return {"prompt_id": row["prompt_id"], "sample": int(row["sample"]), "file": row["file"]}

    def judge_info(self, name: str) -> dict[str, Any]:
        """How a judge is recorded in summaries and cache keys."""
        from bench.instruments.judges import JUDGES
        from bench.models import zoo

        spec = JUDGES.get(name)
        from bench.instruments.judges import judge_fingerprint

        info: dict[str, Any] = {"name": spec.name, "model_id": spec.model_id, "kind": spec.kind, "tier": spec.tier,
                "weights": judge_fingerprint(name)}
        if zoo.is_zoo(spec.model_id):
            zoo.names()  # registers the zoo's components
            info["zoo_version"] = zoo.COMPONENTS.get(spec.model_id[len(zoo.ZOO_PREFIX):]).version
        return info

    def context_length(self, judge: str) -> int:
        """The judge's text context in tokens."""
        from bench.instruments.judges import load_judge

        return load_judge(judge, self.device).context_length

    def text_embeddings(self, judge: str, texts: list[str]):
        """Unit-norm text embeddings by `judge` and, per text, whether it was truncated."""
        from bench.instruments.judges import load_judge

        key = (judge, tuple(texts))
        if key not in self._texts:
            loaded = load_judge(judge, self.device)
            emb, _ = loaded.encode_texts(texts)
            self._texts[key] = (emb, loaded.truncated_flags(texts))
        return self._texts[key]

    def vqa_answers(self, pairs: list[tuple[int, str]]) -> list[float]:
        """P("Yes") by the VQA judge per (image index, question) pair; each pair is asked once per evaluation."""
        from bench.instruments.vqa import answer_pairs

        todo = sorted({p for p in pairs if (self.vqa_judge, *p) not in self._vqa})
        if todo:
            for pair, p in zip(todo, answer_pairs(self.vqa_judge, self.files, todo, self.device), strict=True):
                self._vqa[(self.vqa_judge, *pair)] = p
        return [self._vqa[(self.vqa_judge, *p)] for p in pairs]

    def refstats(self, kind: str):
        """Reference statistics for 'inception' (FID/KID) or 'judge' (CMMD embeddings by the CMMD judge)."""
        from bench.instruments.refstats import (
            JUDGE_MODE,
            find_refstats,
            judge_extractor,
            load_refstats,
            resolution_warning,
        )

        if kind not in self._refstats:
            if not self.refstats_name:
                raise BenchError("FID, KID and CMMD need reference statistics: pass --refstats NAME "
                                 "(bench refstats list shows them)")
            size = self.run.spec.get("size")
            if kind == "inception":
                path = find_refstats(self.refstats_name, self.mode, self.extractor, size, self.refstats_any_size)
            else:
                path = find_refstats(self.refstats_name, JUDGE_MODE, judge_extractor(self.cmmd_judge), size,
                                     self.refstats_any_size)
            ref = load_refstats(path)
            self._check_weights(kind, ref)
            note = resolution_warning(ref.meta, size)
            if note and note not in self.notes:
                self.notes.append(note + (" (--refstats-any-size)" if ref.meta.get("resolution") != "native"
                                          else ""))
            self._refstats[kind] = ref
        return self._refstats[kind]

    def _check_weights(self, kind: str, ref) -> None:
        """Statistics built with other weights under the same name are an error, not a silent mismatch."""
        from bench.instruments.features import EXTRACTORS
        from bench.instruments.judges import judge_fingerprint

        stored = ref.meta.get("weights")
        current = (EXTRACTORS.get(self.extractor).weights(self.mode) if kind == "inception"
                   else judge_fingerprint(self.cmmd_judge))
        if stored and stored != current:
            raise BenchError(f"reference statistics {ref.path.name} were built with other weights ({stored[:23]}) "
                             f"than this evaluation uses ({current[:23]}): rebuild them with bench refstats build")

    def concepts(self) -> dict:
        """The prompt set's concept table (labels for culture accuracy)."""
        if self._concepts is None:
            from bench.prompts import load_concepts

            self._concepts = load_concepts(self.prompt_set)
        return self._concepts

    def concepts_hash(self) -> str:
        """Content hash of the concept table, so edited labels invalidate cached accuracies."""
        return stable_hash(to_jsonable(list(self.concepts().values())))

    def check_needs(self, metric) -> None:
        """Fail early, before any computing, when a metric's judge, statistics or concepts are missing."""
        from bench.instruments.judges import JUDGES, require_available

        for need in metric.needs:
            if need == "judge":
                require_available(JUDGES.get(self.judge))
            elif need == "judge-en":
                require_available(JUDGES.get(self.judge_en))
            elif need == "vqa-judge":
                require_available(JUDGES.get(self.vqa_judge))
            elif need == "cmmd-judge":
                require_available(JUDGES.get(self.cmmd_judge))
            elif need == "refstats":
                self.refstats("inception")
            elif need == "refstats-judge":
                self.refstats("judge")
            elif need == "concepts":
                self.concepts()
            elif need == "inception-features":
                from bench.instruments.features import EXTRACTORS

                EXTRACTORS.get(self.extractor).available(self.mode)


EVAL_PACKAGES = ("pea-bench", "torch", "transformers", "diffusers", "clean-fid", "numpy", "scipy")


def evaluate_run(run: Path, cfg: EvalConfig = EvalConfig()) -> dict[str, Any]:
    """Score every image of a run folder and write scores/, summary.json and reports/results/<run-id>.json."""
    from bench.instruments.features import files_key

    started = time.perf_counter()
    info = read_run(run)
    for part in (info.path, paths.run_scores_dir(info.path), info.path / "features"):
        paths.clean_temps(part)  # what a killed evaluation left half-written
    ctx = EvalContext(info, cfg)
    metrics, skipped = choose_metrics(ctx, cfg.metrics)
    for metric in metrics:
        ctx.check_needs(metric)
    images_key = files_key(info.files)
    results, timings = {}, {}
    for metric in metrics:
        t0 = time.perf_counter()
        results[metric.name], cached = score_metric(ctx, metric, images_key)
        timings[metric.name] = {"seconds": round(time.perf_counter() - t0, 4), "cached": cached}
        log.info("%s = %s%s", metric.name, results[metric.name]["value"], " (cached)" if cached else "")
    from bench.evaluation.publish import merge_metrics, previous_metrics

    # Re-evaluating with some metrics keeps the others' stored values (same images only).
    results, timings, skipped = merge_metrics(previous_metrics(info.path, images_key, len(info.rows)),
                                              results, timings, skipped)
    warnings = shared_weight_warnings(ctx) + ctx.notes
    for name, result in results.items():
        if result.get("truncated_prompts"):
            warnings.append(f"{name}: {result['truncated_prompts']} of {result['prompts']} prompts were longer "
                            f"than the judge's {result['context_length']} tokens and were truncated")
        warnings.extend(result.get("warnings") or [])
    system = (info.spec.get("model") or {}).get("system") or {}
    if info.tier == "tiny" and (system.get("base") == "world" or ctx.prompt_set.startswith("world-")):
        warnings.append("tiny tier: trained toy models measured in their own world; never comparable with real "
                        "models")
    elif info.tier == "tiny":
        warnings.append("tiny random-weight models: the numbers show that the pipeline runs, not how well a "
                        "method works")
    used_judges = sorted({r["settings"]["judge"]["name"] for r in results.values() if "judge" in r["settings"]})
    refstats = {r["settings"]["refstats"]["file"]: r["settings"]["refstats"] for r in results.values()
                if "refstats" in r["settings"]}
    made = provenance.record(EVAL_PACKAGES)
    summary = {
        "format": SUMMARY_FORMAT,
        "run_id": info.id,
        "system": info.system,
        "tier": info.tier,
        "prompt_set": info.prompt_set,
        "lang": info.lang,
        "n_images": len(info.rows),
        "images_key": images_key,
        "n_prompts": len({r["prompt_id"] for r in info.rows}),
        "metrics": results,
        "skipped": skipped,
        "judges": {name: ctx.judge_info(name) for name in used_judges},
        "refstats": [refstats[k] for k in sorted(refstats)],
        "warnings": warnings,
        "spec": info.spec,
        "versions": made["versions"],
        "git": made["git"],
        "device": ctx.device,
        "timings": {
            "evaluated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "total_seconds": round(time.perf_counter() - started, 4),
            "metrics": timings,
            "features_computed": list(ctx.features.computed),
        },
    }
    from bench.stats.summary import add_to_summary

    add_to_summary(summary, info.path, info.rows)  # per-image scores for paired comparisons
    paths.write_json(info.path / paths.RUN_SUMMARY, summary)
    from bench.evaluation.publish import is_published, not_published_message, publish_summary

    if cfg.copy_to_reports or is_published(info.id):  # a published result follows its run's re-evaluations
        problems = publish_summary(summary)
        if problems:
            log.warning(not_published_message(info.id, problems))
    return summary


def evaluate(gen_cfg, cfg: EvalConfig = EvalConfig()) -> dict[str, Any]:
    """Generate whatever images of the run `gen_cfg` (a bench.generation.GenerateConfig) are missing, then score it."""
    from bench.generation import generate

    return evaluate_run(generate(gen_cfg), cfg)
