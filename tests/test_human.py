"""Human evaluation without HTTP: schema, pair choice, checks, Bradley-Terry, agreement, export, CLI."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter

import numpy as np
import pytest

from bench.core import paths
from bench.core.errors import BenchError
from bench.human import bt, db, tasks
from tests.human_helpers import SYSTEMS, annotator, make_study


def test_bradley_terry_matches_a_reference_and_counts_ties_half():
    # Two systems: 2 wins and 2 ties for a = 3 "wins" to 1, so the MLE odds are exactly 3.
    theta = bt.fit(bt.win_matrix(2, [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0.5, 0.5]))
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-3)
    # Four systems with known strengths: Hunter's MM algorithm as the reference, and the truth recovered.
    rng = np.random.default_rng(1)
    true = np.array([1.0, 0.3, -0.2, -1.1])
    i = rng.integers(0, 4, 4000)
    j = (i + rng.integers(1, 4, 4000)) % 4
    outcome = (rng.random(4000) < 1 / (1 + np.exp(-(true[i] - true[j])))).astype(float)
    w = bt.win_matrix(4, i, j, outcome)
    pi = np.ones(4)
    for _ in range(3000):
        pi = w.sum(1) / ((w + w.T) / (pi[:, None] + pi[None, :])).sum(1)
        pi /= np.exp(np.log(pi).mean())
    theta = bt.fit(w)
    assert theta == pytest.approx(np.log(pi), abs=1e-4)
    assert theta == pytest.approx(true - true.mean(), abs=0.12)
    ranked = bt.rank(list("abcd"), i, j, outcome, n_boot=300)
    assert [r["system"] for r in ranked] == list("abcd")
    # Bootstrap widths agree with the asymptotic ones (inverse Fisher information, sum-zero constraint).
    p = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
    info = (w + w.T) * p * p.T
    info = np.diag(info.sum(1)) - info
    se = np.sqrt(np.diag(np.linalg.pinv(info)))
    for r in ranked:
        k = "abcd".index(r["system"])
        width = (r["ci"][1] - r["ci"][0]) / (2 * 1.96 * bt.ELO_SCALE)
        assert width == pytest.approx(se[k], rel=0.25)
        assert r["ci"][0] < r["score"] < r["ci"][1]
    assert bt.rank(list("ab"), [], [], [])[0]["ci"] is None


def test_schema_is_versioned_and_migrates_old_files(tmp_path):
    file = tmp_path / "h.sqlite3"
    sqlite3.connect(file).close()  # an empty file at version 0
    with db.opened(file) as conn:
        assert db.schema_version(conn) == len(db.MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"studies", "annotators", "tasks", "votes", "images", "prompts"} <= tables
    with db.opened(file) as conn:  # reopening changes nothing
        assert db.migrate(conn) == len(db.MIGRATIONS)


def test_pairs_cover_evenly_never_repeat_and_randomise_sides(bench_home):
    study = make_study(n_prompts=6, samples=2, check_every=0)
    with db.opened() as conn:
        people = [annotator(conn, study)[1] for _ in range(6)]
        for _ in range(5):
            for p in people:
                t = tasks.current_task(conn, p)
                tasks.vote(conn, p, t["id"], "left")
        counts = Counter((r["sys_lo"], r["sys_hi"]) for r in conn.execute("SELECT * FROM tasks"))
        assert sorted(counts.values()) == [5] * 6  # 30 tasks over 6 system pairs: exactly even
        # One person goes through everything: every (prompt, sample, pair) once, then nothing is left.
        p = people[0]
        while (t := tasks.current_task(conn, p)) is not None:
            tasks.vote(conn, p, t["id"], "tie")
        keys = [r["pair_key"] for r in conn.execute("SELECT pair_key FROM tasks WHERE annotator_id = ?", (p["id"],))]
        assert len(keys) == len(set(keys)) == 12 * 6
        assert tasks.progress(conn, p) == {"votes": 72, "pairs_left": 0}
        lefts = Counter(r["system"] for r in conn.execute(
            "SELECT i.system FROM tasks t JOIN images i ON i.id = t.left_image"))
        assert set(lefts) == set(SYSTEMS) and min(lefts.values()) > 0.15 * sum(lefts.values())


def test_least_certain_pair_comes_after_coverage(bench_home):
    study = make_study(n_prompts=6, samples=2, check_every=0)
    with db.opened() as conn:
        p = annotator(conn, study)[1]
        for _ in range(30):  # sys-a always beats everyone, sys-b and sys-c are even, sys-en always loses
            t = tasks.current_task(conn, p)
            left = conn.execute("SELECT system FROM images WHERE id = ?", (t["left_image"],)).fetchone()[0]
            right = conn.execute("SELECT system FROM images WHERE id = ?", (t["right_image"],)).fetchone()[0]
            order = {"sys-a": 0, "sys-b": 1, "sys-c": 1, "sys-en": 2}
            answer = "tie" if order[left] == order[right] else "left" if order[left] < order[right] else "right"
            tasks.vote(conn, p, t["id"], answer)
        nxt = tasks.current_task(conn, p)
        assert (nxt["sys_lo"], nxt["sys_hi"]) == ("sys-b", "sys-c")  # the one close call
        for _ in range(30):  # sys-b and sys-c always tie: they stay the close call, but cannot take every vote
            t = tasks.current_task(conn, p)
            tasks.vote(conn, p, t["id"], "tie" if (t["sys_lo"], t["sys_hi"]) == ("sys-b", "sys-c") else "left")
        counts = Counter((r["sys_lo"], r["sys_hi"]) for r in conn.execute("SELECT * FROM tasks WHERE annotator_id = ?",
                                                                          (p["id"],)))
        assert counts[("sys-b", "sys-c")] == max(counts.values()) <= tasks.IMBALANCE * min(counts.values()) + 1


def test_attention_checks_flag_and_exclude(bench_home, tmp_path, monkeypatch):
    from bench.human.rank import rank_study

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    study = make_study(n_prompts=6, samples=2, check_every=3)
    with db.opened() as conn:
        good = annotator(conn, study, level="native")[1]
        bad = annotator(conn, study, level="learning")[1]
        for person, honest in ((good, True), (bad, False)):
            for _ in range(12):
                t = tasks.current_task(conn, person)
                if t["kind"] == "check":
                    right = t["expected"]
                    assert conn.execute("SELECT prompt_id FROM images WHERE id = ?", (
                        t["left_image"] if right == "left" else t["right_image"],)).fetchone()[0] == t["prompt_id"]
                    answer = right if honest else {"left": "right", "right": "left"}[right]
                else:
                    answer = "left"
                tasks.vote(conn, person, t["id"], answer)
        result = rank_study(conn, study, n_boot=20)
        assert result["annotators"]["flagged"] == 1 and result["annotators"]["excluded"] == 1
        assert result["attention_checks"]["answered"] == 8
        assert result["rankings"]["all"]["annotators"] == 1 and result["rankings"]["others"]["votes"] == 0
        assert result["rankings"]["native"]["votes"] == 8  # 12 tasks, 4 of them checks
        both = rank_study(conn, study, include_flagged=True, n_boot=20)
        assert both["rankings"]["all"]["votes"] == 16 and both["rankings"]["others"]["votes"] == 8


def _scores(run_id: str, values: dict, higher: bool = True) -> None:
    """A crafted per-image metric for a run: scores/toy.parquet and summary.json."""
    import polars as pl

    run = paths.run_dir(run_id)
    rows = [{"prompt_id": p, "sample": s, "value": v} for (p, s), v in values.items()]
    (run / "scores").mkdir(exist_ok=True)
    pl.DataFrame(rows).write_parquet(paths.run_scores_path(run, "toy"))
    paths.write_json(run / paths.RUN_SUMMARY, {"run_id": run_id, "metrics": {
        "toy": {"value": float(np.mean(list(values.values()))), "higher_is_better": higher, "display": "toy"}}})


def test_agreement_of_a_metric_with_people(bench_home, tmp_path, monkeypatch):
    from bench.human.rank import rank_study
    from bench.human.studies import study_systems

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    study = make_study(n_prompts=6, samples=2, check_every=0)
    strength = {"sys-a": 3.0, "sys-b": 2.0, "sys-c": 1.0, "sys-en": 0.0}
    items = [(f"p{p:03d}", s) for p in range(6) for s in range(2)]
    with db.opened() as conn:
        for system, run in study_systems(conn, study).items():
            _scores(run, {item: strength[system] + 0.1 * k for k, item in enumerate(items)})
        p = annotator(conn, study)[1]
        rng = np.random.default_rng(0)
        agree = 0
        for _ in range(60):
            t = tasks.current_task(conn, p)
            left = conn.execute("SELECT system FROM images WHERE id = ?", (t["left_image"],)).fetchone()[0]
            right = conn.execute("SELECT system FROM images WHERE id = ?", (t["right_image"],)).fetchone()[0]
            follow = rng.random() < 0.9  # people agree with the metric 90% of the time
            agree += follow
            better = "left" if strength[left] > strength[right] else "right"
            tasks.vote(conn, p, t["id"], better if follow else {"left": "right", "right": "left"}[better])
        result = rank_study(conn, study, n_boot=200)
    toy = result["agreement"]["toy"]
    assert toy["n"] == 60 and toy["agreement"] == pytest.approx(agree / 60)
    assert toy["ci"][0] < agree / 60 < toy["ci"][1] and toy["ci"][1] - toy["ci"][0] < 0.3
    assert toy["kendall_tau"] == pytest.approx(1.0)  # the crowd's order is the metric's
    assert [r["system"] for r in result["rankings"]["all"]["systems"]] == ["sys-a", "sys-b", "sys-c", "sys-en"]


def test_export_has_every_vote_with_arena_fields(bench_home, tmp_path):
    import polars as pl

    from bench.human.export import export_votes

    study = make_study(n_prompts=4, samples=1, check_every=3)
    with db.opened() as conn:
        p = annotator(conn, study, level="fluent")[1]
        for answer in ("left", "right", "tie", "both_bad", "left"):
            tasks.vote(conn, p, tasks.current_task(conn, p)["id"], answer)
        jsonl, parquet, n = export_votes(conn, study, tmp_path / "out")
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert n == len(rows) == 5 and pl.read_parquet(parquet).height == 5
    first = rows[0]
    for field in ("study", "annotator_id", "annotator_languages", "annotator_level", "prompt_id", "sample",
                  "left_system", "right_system", "left_sha256", "right_sha256", "answer", "ms", "time",
                  "model_a", "model_b", "winner", "judge", "tstamp", "language", "anony"):
        assert field in first, field
    assert first["annotator_level"] == "fluent" and first["model_a"] == first["left_system"]
    assert [r["winner"] for r in rows][:4] == ["model_a", "model_b", "tie", "tie (bothbad)"]
    from bench.human.studies import file_sha256

    run = paths.run_dir(f"{first['left_system']}-culture-{'en' if first['left_system'].endswith('-en') else 'zh'}-x")
    assert first["left_sha256"] in {file_sha256(f) for f in (run / "images").glob("*.png")}


def test_cli_study_to_leaderboard(bench_home, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bench.cli import app
    from bench.report import leaderboard as report

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    make_study(name="unused")
    runner = CliRunner()
    r = runner.invoke(app, ["human", "new-study", "--prompts", "culture", "--lang", "zh", "--systems",
                            ",".join(SYSTEMS), "--name", "s1"])
    assert r.exit_code == 0, r.output
    assert "attention checks from sys-en" in r.output
    r = runner.invoke(app, ["human", "invite", "--study", "s1", "-n", "3"])
    links = r.output.split()
    assert len(links) == 3 and all(link.startswith("http://127.0.0.1:8765/a/") for link in links)
    with db.opened() as conn:
        from bench.human.studies import annotator_for, set_profile

        for link in links:
            person = annotator_for(conn, link.rsplit("/", 1)[1])
            set_profile(conn, person["id"], [{"lang": "zh", "level": "native"}], "x")
            person = annotator_for(conn, link.rsplit("/", 1)[1])
            for _ in range(6):
                t = tasks.current_task(conn, person)
                tasks.vote(conn, person, t["id"], t["expected"] or "left")
    r = runner.invoke(app, ["human", "rank", "--study", "s1", "--bootstrap", "50"])
    assert r.exit_code == 0, r.output
    assert "native speakers" in r.output
    r = runner.invoke(app, ["human", "export", "--study", "s1"])
    assert r.exit_code == 0 and "18 votes" in r.output
    text = report.render(report.load_results())
    assert "Human preference: study s1 (zh)" in text and "| all annotators | " in text
    r = runner.invoke(app, ["human", "rank", "--study", "nope"])  # main() turns this into "error: ..." and exit 2
    assert isinstance(r.exception, BenchError) and "unknown study 'nope'" in str(r.exception)
