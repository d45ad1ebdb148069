"""bench leaderboard: tables per prompt set (systems x languages), best in bold, tiers apart, --check, grids."""

from __future__ import annotations

import sys

import pytest

from bench import paths
from bench.report import check_leaderboard, load_results, render, write_leaderboard


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
    assert "| pea-<lang> | 28.00 ± 0.50 (n=40) | **31.00 ± 0.50 (n=40)** |" in real
    assert "| translate-sdxl |  | 29.00 ± 0.50 (n=40) |" in real
    assert "| translate-sdxl |  | **15.00 (n=40)** |" in real  # lower FID is better
    assert "tiny-pea-zh" not in real and "99.00" not in real  # tiny results never mix into real tables
    assert "tiny-pea-<lang>" in tiny and "random weights only show that the pipeline runs" in tiny


def test_same_system_twice_gets_run_ids(reports):
    paths.write_json(reports / "results" / "b.json", _summary("pea-zh", "zh", run_id="pea-zh-culture-zh-zzz"))
    text = render(load_results())
    assert "| pea-zh (pea-zh-culture-zh-abc) |" in text and "| pea-zh (pea-zh-culture-zh-zzz) |" in text


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
        assert grid.size == (160 + 2 * 128, 2 * 128)
