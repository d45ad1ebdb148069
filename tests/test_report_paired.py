"""Leaderboard sections from paired comparisons: the headline gap table per prompt set, strategy-vs-strategy
gaps, per-category tables, n as prompts x samples, grid column heads, the gaps plot, and --check."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core import paths
from bench.report.leaderboard import check_leaderboard, load_results, render, write_leaderboard
from bench.report.paired import oracle_gaps, strategy_gaps
from bench.stats.paired import PerImage, paired_difference

PROMPTS, SAMPLES = 30, 2
CATS = ("food", "arts", "nature")


def _summary(system, lang, kind, mean, noise_seed, prompt_set="toyset"):
    """A summary with per-image scores: a prompt effect shared by every system plus the system's level."""
    rng = np.random.default_rng(noise_seed)
    effect = np.repeat(np.random.default_rng(0).normal(0, 0.05, PROMPTS), SAMPLES)
    values = np.clip(mean + effect + rng.normal(0, 0.05, PROMPTS * SAMPLES), 0, 1).round(6).tolist()
    ids = [f"p{p:02d}" for p in range(PROMPTS) for _ in range(SAMPLES)]
    samples = [s for _ in range(PROMPTS) for s in range(SAMPLES)]
    cats = [CATS[p % 3] for p in range(PROMPTS) for _ in range(SAMPLES)]
    per_cat = {c: {"value": float(np.mean([v for v, k in zip(values, cats, strict=True) if k == c])),
                   "ci": [0.1, 0.2], "n": 20} for c in CATS}
    run_id = f"{system}-{prompt_set}-{lang}-x"
    return {
        "run_id": run_id, "system": system, "tier": "tiny", "lang": lang, "n_prompts": PROMPTS,
        "n_images": PROMPTS * SAMPLES, "prompt_set": {"name": prompt_set, "version": "1"},
        "spec": {"lang": lang, "model": {"system": {"kind": kind, "base": "toy"}}},
        "metrics": {"acc": {"value": float(np.mean(values)), "ci": [0.0, 1.0], "n": PROMPTS * SAMPLES,
                            "higher_is_better": True, "display": "accuracy", "per_category": per_cat}},
        "images": {"prompt_id": ids, "sample": samples, "seed": list(range(PROMPTS * SAMPLES)), "category": cats},
        "scores": {"acc": values},
        "judges": {}, "refstats": [], "git": {"commit": "0123456789"},
    }


SYSTEMS = [("toy-en", "en", "english", 0.9, 1), ("pea-zh", "zh", "pea", 0.85, 2), ("asis-toy", "zh", "asis", 0.2, 3),
           ("translate-toy", "zh", "translate", 0.9, 4), ("pea-ko", "ko", "pea", 0.7, 5), ("asis-toy", "ko", "asis", 0.3, 6)]


@pytest.fixture
def reports(tmp_path, monkeypatch):
    import bench.report.paired as rp

    monkeypatch.setattr(rp, "MAIN_METRICS", ("acc",))
    monkeypatch.setattr(rp, "CATEGORY_METRICS", ("acc",))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    results = tmp_path / "reports" / "results"
    results.mkdir(parents=True)
    for args in SYSTEMS:
        s = _summary(*args)
        paths.write_json(results / f"{s['run_id']}.json", s)
    return tmp_path / "reports"


def _pi(summary):
    keys = list(zip(summary["images"]["prompt_id"], summary["images"]["sample"], strict=True))
    return PerImage(dict(zip(keys, summary["scores"]["acc"], strict=True)),
                    dict(zip(keys, summary["images"]["seed"], strict=True)))


def test_headline_gaps_are_paired_differences_with_holm_marks(reports):
    entries = load_results()
    by = {(e.system, e.lang): e.summary for e in entries}
    gaps = oracle_gaps(entries, "acc")
    assert set(gaps) == {("pea-<lang>", "zh"), ("pea-<lang>", "ko"), ("asis-toy", "zh"), ("asis-toy", "ko"),
                         ("translate-toy", "zh")}
    direct = paired_difference(_pi(by[("asis-toy", "zh")]), _pi(by[("toy-en", "en")]))
    got = gaps[("asis-toy", "zh")]
    assert got["diff"] == pytest.approx(direct["diff"]) and got["ci"] == pytest.approx(direct["ci"])
    assert got["diff"] == pytest.approx(-0.7, abs=0.03) and got["reject"]
    assert not gaps[("translate-toy", "zh")]["reject"]  # same level as the oracle
    text = render(entries)
    head = text.index("#### Headline: gap to the English oracle (toy-en), accuracy \u2191")
    assert head < text.index("#### accuracy \u2191")  # the headline opens the set, before per-metric tables
    assert "| strategy | ko | zh |" in text and "n: 30 prompts \u00d7 2 samples" in text
    lo, hi = got["ci"]
    assert f"| asis-toy | {gaps[('asis-toy', 'ko')]['diff']:.4f}" in text
    assert f"{got['diff']:.4f} [{lo:.4f}, {hi:.4f}] \u2021 |" in text


def test_strategy_gaps_and_tables(reports):
    entries = load_results()
    between = strategy_gaps(entries, "acc")
    pea_asis = between[("pea-<lang>", "asis-toy", "zh")]
    assert pea_asis["diff"] == pytest.approx(0.65, abs=0.03) and pea_asis["ci"][0] > 0 and pea_asis["reject"]
    assert ("pea-<lang>", "translate-toy", "zh") in between and ("asis-toy", "pea-<lang>", "zh") not in between
    text = render(entries)
    assert "| pea-&lt;lang&gt; − asis-toy |" in text and "(4 comparisons)" in text
    assert "#### accuracy \u2191 per category" in text and "| system (lang) | arts | food | nature |" in text
    assert "(n=30\u00d72)" in text  # metric cells say prompts x samples


def test_check_regenerates_the_headline_and_writes_the_gaps_plot(reports):
    written = write_leaderboard(grids=False)
    assert check_leaderboard() and written["gaps_plot"].endswith("gaps.png")
    assert (reports / "gaps.png").stat().st_size > 1000
    summary = paths.read_json(reports / "results" / "pea-zh-toyset-zh-x.json")
    summary["scores"]["acc"][0] = 0.0  # one image rescored: the headline changes, so --check fails
    paths.write_json(reports / "results" / "pea-zh-toyset-zh-x.json", summary)
    assert not check_leaderboard()


def test_grid_section_lists_each_columns_prompt(reports, monkeypatch):
    import bench.report.grids as rg

    monkeypatch.setattr(rg, "prompt_texts", lambda s, lang, ids: {i: (f"native {i}", f"english {i}") for i in ids})
    text = render(load_results())
    assert "Grid `grids/tiny-toyset-zh.png` (zh): rows asis-toy, pea-zh, translate-toy; columns:" in text
    assert "| 1 | p00 | native p00 | english p00 |" in text


def test_demo_lines_print_gaps_and_consistency_order(bench_home, reports, monkeypatch):
    from bench.report.paired import demo_lines

    ids = []
    for k, args in enumerate(SYSTEMS):
        s = _summary(*args)
        if args[2] != "english":  # consistency with the oracle: translate > pea > asis, as in the toy world
            s["metrics"]["consistency"] = {"value": {"translate": 1.0, "pea": 0.9, "asis": 0.4}[args[2]] - k / 100}
        paths.write_json(paths.runs_dir() / s["run_id"] / "summary.json", s)
        ids.append(s["run_id"])
    lines = demo_lines(ids + ["no-such-run"])
    gaps = oracle_gaps(load_results(), "acc")
    r = gaps[("pea-<lang>", "zh")]
    assert lines[0] == "toyset v1: paired gaps on acc, mean [95% CI] (Holm-adjusted sign-flip p)"
    assert any(line.startswith("  pea-<lang> - toy-en ") and line.endswith(
        f"zh {r['diff']:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}] (p {r['p_holm']:.3g})") for line in lines)
    assert any(line.startswith("  pea-<lang> - asis-toy") for line in lines)
    assert lines[-1] == ("  consistency with the oracle (image cosine): translate-toy zh 0.9700, pea-zh zh 0.8900, "
                         "pea-ko ko 0.8600, asis-toy zh 0.3800, asis-toy ko 0.3500")
