"""The world benchmark as jobs: the long training first, every run after what it reads, PEA's after its adapter."""

from __future__ import annotations

from bench.core.workers import check_order
from bench.world import demo


def test_jobs_start_long_and_wait_for_what_they_read():
    jobs = demo.benchmark_jobs(demo.WorldDemoConfig())
    check_order(jobs)
    names = [job.name for job in jobs]
    assert names[:3] == ["train-zh", "refstats", "train-ko"]
    runs = {job.name: job for job in jobs if job.name.startswith("run:")}
    assert len(runs) == len(demo.run_order(demo.WorldDemoConfig())) == 2 * (1 + 3 * 2)
    assert runs["run:world-general:world-pea-ko:ko"].needs == ("refstats", "train-ko")
    assert runs["run:world-culture:asis-world:zh"].needs == ("refstats",)
    first_pea = min(i for i, n in enumerate(names) if ":world-pea-" in n)
    assert all(":world-pea-" in n for n in names[first_pea:])  # the others fill the workers while PEA trains


def test_quick_has_no_reference_wait_without_fid():
    cfg = demo.WorldDemoConfig(langs=("zh",), fid=False, culture=False, systems=("asis", "pea"))
    jobs = demo.benchmark_jobs(cfg)
    assert [(j.name, j.needs) for j in jobs] == [
        ("train-zh", ()), ("run:world-general:world-en:en", ()), ("run:world-general:asis-world:zh", ()),
        ("run:world-general:world-pea-zh:zh", ("train-zh",))]


def test_results_keep_the_canonical_order():
    order = demo.run_order(demo.WorldDemoConfig(langs=("zh",), culture=False))
    assert order == [("world-general", "world-en", "en"), ("world-general", "asis-world", "zh"),
                     ("world-general", "translate-world", "zh"), ("world-general", "world-pea-zh", "zh")]
    assert demo.system_key("world-pea-zh") == "world-pea-<lang>" and demo.system_key("asis-world") == "asis-world"
