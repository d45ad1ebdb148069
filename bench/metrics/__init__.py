"""Metrics: one file each, each declaring its name, direction and needs; looked up in METRICS by name.

A metric is a small object with `name`, `higher_is_better`, `needs` (what evaluation must make ready:
"judge", "judge-en", "inception-features", "refstats", "concepts", "vqa-judge") and `compute(ctx) -> MetricResult`,
where ctx is bench.evaluation.evaluate.EvalContext. Plug a new one in from a plug-in's register() (bench.core.plugins) with
METRICS.register_lazy(name, "module:INSTANCE") or by importing a module that uses `@register_metric`.

May import: bench.instruments, bench.generation (run folders), bench.core.
Add here: a metric is one new file in this folder, registered in METRICS.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bench.core.registry import Registry

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

NEEDS = ("judge", "judge-en", "cmmd-judge", "inception-features", "refstats", "refstats-judge", "concepts",
         "vqa-judge")
N_BOOTSTRAP = 1000
BOOTSTRAP_SEED = 0


@dataclass
class MetricResult:
    """A metric's value over the run, its 95% CI (None where none is defined), n, and one row per image."""

    value: float | None
    n: int
    ci: tuple[float, float] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Metric(abc.ABC):
    """Base class: subclasses set the class attributes and implement compute (and applicable when partial)."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    needs: ClassVar[tuple[str, ...]] = ()
    display: ClassVar[str] = ""  # a short column title for reports
    version: ClassVar[int] = 1  # bump when the computation changes, so cached scores are recomputed

    def applicable(self, ctx) -> str | None:
        """None when the metric can score this run, else why not (e.g. a prompt set without concepts)."""
        return None

    def describe(self) -> str:
        """What the metric measures, in one line (bench evaluate --list-metrics)."""
        return ((type(self).__doc__ or "").strip().splitlines() or [""])[0]

    def by_default(self, ctx) -> str | None:
        """None when the metric is computed without being named (and applies), else why it is left out."""
        return None

    def settings(self, ctx) -> dict[str, Any]:
        """Everything besides the images that decides the value (judges, extractor, statistics)."""
        return {}

    @abc.abstractmethod
    def compute(self, ctx) -> MetricResult:
        """Score the run."""

    @property
    def direction(self) -> str:
        """An arrow for reports: up when higher is better."""
        return "\u2191" if self.higher_is_better else "\u2193"


METRICS: Registry[Metric] = Registry("metric", hint="bench evaluate --list-metrics shows them")

# Modules whose import registers metrics; add yours here.
_METRIC_MODULES = [
    "bench.metrics.clip_score",
    "bench.metrics.fid",
    "bench.metrics.cmmd",
    "bench.metrics.culture_accuracy",
    "bench.metrics.consistency",
    "bench.metrics.vqascore",
    "bench.metrics.culture_vqa",
    "bench.metrics.concept_present",
    "bench.metrics.pickscore",
    "bench.metrics.imagereward",
    "bench.metrics.hpsv2",
]
_loaded = False


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: register one instance of the metric under its name."""
    METRICS.register(cls.name, cls())
    return cls


def load_metrics() -> Registry[Metric]:
    """Import the metric modules once and return the registry."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _METRIC_MODULES:
            importlib.import_module(module)
    return METRICS


METRICS.builtins = load_metrics  # a plug-in's metric named like a built-in one clashes even before they load


def get_metric(name: str) -> Metric:
    """A metric by name, with did-you-mean on a typo."""
    return load_metrics().get(name)


def bootstrap_ci(values: ArrayLike, groups: Sequence[str], n_boot: int = N_BOOTSTRAP,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """95% percentile CI of the mean, resampling whole groups (prompts: samples of one prompt are correlated).

    None (shown as "n/a") for fewer than two values or two groups, never a zero-width interval.
    """
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return None
    keys, index = np.unique(np.asarray(groups), return_inverse=True)
    if len(keys) < 2:  # one prompt: resampling prompts cannot vary, so there is no interval ("n/a")
        return None
    sums = np.bincount(index, weights=values, minlength=len(keys))
    counts = np.bincount(index, minlength=len(keys)).astype(np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(keys), size=(n_boot, len(keys)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean as a float, None for no values."""
    import numpy as np

    return float(np.mean(np.asarray(values, dtype=np.float64))) if len(values) else None
