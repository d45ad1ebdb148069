"""bench leaderboard: tables per prompt set (systems x languages), best in bold, tiers apart, --check, grids."""

from __future__ import annotations

import sys

import pytest

from bench.core import paths
from bench.report.leaderboard import check_leaderboard, load_results, render, write_leaderboard


def _summary(system, lang, tier="real", clip=30.0, fid=12.0, run_id=None, prompt_set="culture"):
    return {
        "run_id": run_id or f"{system}-{prompt_set}-{lang}-abc", "system": system, "tier": tier, "lang": lang,
        "prompt_set": {"name": prompt_set, "version": "1"},
        "metrics": {
            "clip-score": {"value": clip, "ci": [clip - 0.5, clip + 0.5], "n": 40, "higher_is_better": True,
                           "display": "CLIP score", "judge": "altclip-m18"},
            "fid": {"value": fid, "ci": None, "n": 40, "higher_is_better": False, "display": "FID",
                    "extractor": "inception", "refstats": "coco"},
        },
        "judges": {"altclip-m18": {"name": "altclip-m18", "model_id": "BAAI/AltCLIP-m18"}},
        "refstats": [{"file": "coco_clean_inception_512.npz"}], "git": {"commit": "0123456789abcdef"},
    }


@pytest.fixture
def reports(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    results = tmp_path / "reports" / "results"
    results.mkdir(parents=True)
    for s in (_summary("pea-zh", "zh", clip=31.0, fid=20.0), _summary("translate-sdxl", "zh", clip=29.0, fid=15.0),
              _summary("pea-ko", "ko", clip=28.0), _summary("tiny-pea-zh", "zh", tier="tiny", clip=99.0, fid=0.1)):
        paths.write_json(results / f"{s['run_id']}.json", s)
    return tmp_path / "reports"


def test_tables_have_systems_by_languages_with_best_bold_and_arrows(reports):
    text = render(load_results())
    real, tiny = text.split("## Tiny offline models")
    assert "#### CLIP score \u2191 (altclip-m18)" in real and "#### FID \u2193 (inception vs coco)" in real
    assert "| system | ko | zh |" in real
    # pea-ko and pea-zh share one row; higher CLIP score is better; pea-ko is alone in its column: not bold
    assert "| pea-&lt;lang&gt; | 28.00 ± 0.50 (n=40) | **31.00 ± 0.50 (n=40)** |" in real
    assert "| translate-sdxl |  | 29.00 ± 0.50 (n=40) |" in real
    assert "| translate-sdxl |  | **15.00 (n=40)** |" in real  # lower FID is better
    assert "tiny-pea-zh" not in real and "99.00" not in real  # tiny results never mix into real tables
    assert "tiny-pea-&lt;lang&gt;" in tiny and "random weights only show that the pipeline runs" in tiny


def _evaluated(summary, when):
    return {**summary, "timings": {"evaluated_at": when}}


def test_one_row_per_system_set_language_and_tier_newest_or_preferred(reports, monkeypatch, capsys):
    from bench import cli

    results = reports / "results"
    old = _evaluated(_summary("pea-zh", "zh", clip=31.0), "2026-01-01T00:00:00+00:00")
    paths.write_json(results / "pea-zh-culture-zh-abc.json", old)  # the fixture's, now dated
    paths.write_json(results / "b.json", _evaluated(_summary("pea-zh", "zh", clip=33.0, run_id="pea-zh-culture-zh-zzz"),
                                                    "2026-02-01T00:00:00+00:00"))
    # a clone that evaluated the same system again under another run id: one row, the newest
    text = render(load_results())
    assert text.count("| pea-&lt;lang&gt; |") == 2  # one row per metric table (CLIP score, FID)
    assert "33.00 ± 0.50" in text and "31.00 ± 0.50" not in text
    assert "| pea-zh-culture-zh-abc.json | pea-zh | zh | 2026-01-01T00:00:00+00:00 | pea-zh-culture-zh-zzz |" in text
    # an explicit preference wins over the newer result, and --check keeps using it
    preferred = render(load_results(), prefer=("pea-zh-culture-zh-abc",))
    assert "31.00 ± 0.50" in preferred and "33.00 ± 0.50" not in preferred
    write_leaderboard(grids=False, prefer=("pea-zh-culture-zh-abc",))
    assert check_leaderboard() and not check_leaderboard(prefer=())
    # the same system in another tier or prompt set is another row
    paths.write_json(results / "c.json", _summary("pea-zh", "zh", prompt_set="general", run_id="pea-zh-general-zh-1"))
    assert "| pea-&lt;lang&gt; |" in render(load_results()).split("### Prompt set: general v1")[1]
    monkeypatch.setattr(sys, "argv", ["bench", "leaderboard", "--prefer", "no-such-run", "--no-grids"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err == (f"error: --prefer no-such-run: no result with that run id in "
                                           f"{paths.results_dir()}")


@pytest.mark.parametrize("tier, message", [(None, "has no tier"), ("medium", "has unknown tier 'medium'")])
@pytest.mark.parametrize("check", [False, True])
def test_result_without_a_known_tier_is_an_error(reports, monkeypatch, capsys, tier, message, check):
    from bench import cli

    summary = _summary("pea-ja", "ja", run_id="pea-ja-culture-ja-x")
    summary.pop("tier")
    if tier:
        summary["tier"] = tier
    paths.write_json(reports / "results" / "pea-ja-culture-ja-x.json", summary)
    monkeypatch.setattr(sys, "argv", ["bench", "leaderboard", *(["--check"] if check else ["--no-grids"])])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.startswith("error: ") and "\n" not in err
    assert f"pea-ja-culture-ja-x.json {message} (known: real, tiny)" in err


def test_check_detects_stale_leaderboard(reports, monkeypatch, capsys):
    from bench import cli

    assert not check_leaderboard()
    written = write_leaderboard(grids=False)
    assert written["results"] == 4 and (reports / "leaderboard.png").is_file()
    assert check_leaderboard()
    paths.write_json(reports / "results" / "new.json", _summary("asis-sdxl", "zh", clip=10.0))
    assert not check_leaderboard()
    monkeypatch.setattr(sys, "argv", ["bench", "leaderboard", "--check"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 1 and "stale" in capsys.readouterr().err


def test_grids_show_the_same_prompts_across_systems(bench_home, reports):
    from evalkit import make_run
    from PIL import Image

    for system in ("sys-a", "sys-b"):
        run = make_run(paths.runs_dir(), run_id=f"{system}-culture-zh-abc", model=system, n_prompts=3, samples=1)
        paths.write_json(reports / "results" / f"{run.name}.json", _summary(system, "zh", run_id=run.name))
    (paths.runs_dir() / "sys-b-culture-zh-abc" / "images" / "p002_0.png").unlink()  # only p000, p001 shared
    written = write_leaderboard()
    grids = [p for p in written["grids"] if "real-culture-zh" in p]
    assert len(grids) == 1
    with Image.open(grids[0]) as grid:
        assert grid.size == (160 + 2 * 128, 56 + 2 * 128)  # a head band with each column's prompt
