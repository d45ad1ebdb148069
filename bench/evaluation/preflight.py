"""What an evaluation checks before any image is generated: the run's plan, and each metric's judges, extractor,
reference statistics and concepts, so a missing judge fails in a second instead of after the generation.

The real run and `--dry-run` both call check_cell, so the dry run checks exactly what the real run checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.core import paths


@dataclass(frozen=True)
class Checked:
    """One checked cell: the run folder it generates into, its image count and the metrics it will compute."""

    run: Any  # Path of the run folder
    images: int
    metrics: tuple[str, ...]
    skipped: dict[str, str]


def planned_run(p: Any) -> Any:
    """The Run a generation plan will produce, with the metadata rows it will write (no image exists yet)."""
    from bench.generation.runs import Run

    rows = [{"prompt_id": q.id, "sample": s, "file": paths.run_image_name(q.id, s), "lang": p.cfg.lang,
             "text": q.text, "text_en": q.text_en, "concept": q.concept, "category": q.category,
             "confusers": list(q.confusers), "tags": list(q.tags)}
            for q in p.prompts for s in range(p.cfg.samples)]
    return Run(p.run, p.spec, rows)


def check_cell(gen_cfg: Any, cfg: Any) -> Checked:
    """Plan the generation of `gen_cfg` and check every need of the metrics `cfg` will compute on it."""
    from bench.core.runtime import check_device
    from bench.evaluation.evaluate import EvalContext
    from bench.evaluation.scoring import choose_metrics
    from bench.generation import plan

    check_device(cfg.device)
    p = plan(gen_cfg)
    ctx = EvalContext(planned_run(p), cfg)
    metrics, skipped = choose_metrics(ctx, cfg.metrics)
    for metric in metrics:
        ctx.check_needs(metric)
    return Checked(p.run, len(p.keys), tuple(m.name for m in metrics), skipped)
