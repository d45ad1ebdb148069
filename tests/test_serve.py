"""The web application through its HTTP interface (Starlette's test client): flow, validation, security."""

from __future__ import annotations

import re

import pytest

from tests.human_helpers import make_study

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture
def client(bench_home, tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from bench.serve.server import create_app

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    study = make_study()
    with TestClient(create_app(ADMIN), follow_redirects=False) as c:
        c.study = study
        yield c


def _invite(client, n=1):
    r = client.post(f"/admin/studies/{client.study}/invite", data={"n": str(n), "admin_token": ADMIN})
    assert r.status_code == 200, r.text
    return [link.rsplit("/a/", 1)[1] for link in r.json()["links"]]


def _profile(client, token, level="native"):
    r = client.post(f"/a/{token}/profile", data={"lang0": "zh", "level0": level, "region": "Taipei"})
    assert r.status_code == 303


def _task(client, token):
    page = client.get(f"/a/{token}").text
    task = re.search(r'name="task" value="(\d+)"', page)
    images = re.findall(rf'/a/{token}/img/(\d+)', page)
    votes = int(re.search(r"Votes: <b>(\d+)</b>", page).group(1))
    return (int(task.group(1)) if task else None), images, votes, page


def test_annotator_flow_profile_vote_undo_progress(client):
    token = _invite(client)[0]
    page = client.get(f"/a/{token}")
    assert page.status_code == 200 and 'name="region"' in page.text  # the profile comes first
    assert client.post(f"/a/{token}/vote", data={"task": "1", "answer": "left"}).status_code == 409
    _profile(client, token)
    task, images, votes, page = _task(client, token)
    assert votes == 0 and len(images) == 2 and "一张" in page  # the native prompt is shown
    assert client.get(f"/a/{token}/img/{images[0]}").headers["content-type"] == "image/png"
    seen = set()
    for k in range(5):
        task, _, votes, _ = _task(client, token)
        assert votes == k and task not in seen
        seen.add(task)
        r = client.post(f"/a/{token}/vote", data={"task": str(task), "answer": ("left", "right", "tie", "both_bad")[k % 4]})
        assert r.status_code == 303
    # A replayed vote is refused, not counted twice.
    assert client.post(f"/a/{token}/vote", data={"task": str(task), "answer": "left"}).status_code == 409
    assert client.post(f"/a/{token}/undo", data={}).status_code == 303
    again, _, votes, _ = _task(client, token)
    assert votes == 4 and again == task  # the undone task comes back
    records = client.get(f"/admin/studies/{client.study}/export.jsonl", headers={"Authorization": f"Bearer {ADMIN}"})
    assert records.status_code == 200 and len(records.text.splitlines()) == 4


def test_bad_input_gets_short_4xx(client):
    token = _invite(client)[0]
    r = client.post(f"/a/{token}/profile", data={"lang0": "korean", "level0": "native", "region": "x"})
    assert r.status_code == 400 and "ISO 639" in r.text
    r = client.post(f"/a/{token}/profile", data={"lang0": "ko", "level0": "expert", "region": "x"})
    assert r.status_code == 400 and "level" in r.text
    r = client.post(f"/a/{token}/profile", data={"lang0": "ko", "level0": "native", "region": ""})
    assert r.status_code == 400 and "region" in r.text
    _profile(client, token)
    task, _, _, _ = _task(client, token)
    assert client.post(f"/a/{token}/vote", data={"task": str(task), "answer": "maybe"}).status_code == 400
    assert client.post(f"/a/{token}/vote", data={"task": "abc", "answer": "left"}).status_code == 400
    assert client.post(f"/a/{token}/vote", json={"task": task, "answer": "left"}).status_code == 415
    big = client.post(f"/a/{token}/vote", data={"task": str(task), "answer": "left", "pad": "x" * 20000})
    assert big.status_code == 413
    assert len(r.text) < 200


def test_tokens_are_scoped_and_checked(client):
    first, second = _invite(client, 2)
    _profile(client, first)
    _profile(client, second)
    task, images, _, _ = _task(client, first)
    # Another annotator can neither vote on this task nor fetch its images; a made-up link is unknown.
    assert client.post(f"/a/{second}/vote", data={"task": str(task), "answer": "left"}).status_code == 404
    assert client.get(f"/a/{second}/img/{images[0]}").status_code == 404
    fake = "x" * 32
    assert client.get(f"/a/{fake}").status_code == 404
    assert client.post(f"/a/{fake}/vote", data={"task": str(task), "answer": "left"}).status_code == 404
    # Admin actions: no token, a wrong token, or the cookie alone on a POST are refused.
    url = f"/admin/studies/{client.study}/invite"
    assert client.post(url, data={"n": "1"}).status_code == 403
    assert client.post(url, data={"n": "1", "admin_token": "wrong-token-0123456789"}).status_code == 403
    client.cookies.set("bench_admin", ADMIN)
    assert client.post(url, data={"n": "1"}).status_code == 403
    client.cookies.clear()
    assert client.get("/results").status_code == 403
    assert client.get(f"/admin/studies/{client.study}/export.jsonl").status_code == 403
    # Image URLs take ids, never paths.
    assert client.get(f"/a/{first}/img/..%2F..%2Fspec.json").status_code == 404
    assert client.get("/results/img/..%2F..%2Fetc/passwd/0", cookies={"bench_admin": ADMIN}).status_code in (403, 404)
    new = {"prompts": "culture", "lang": "zh", "systems": "sys-a,sys-b", "name": "s2"}
    assert client.post("/admin/studies", data=new).status_code == 403
    assert client.post("/admin/studies", data=new | {"admin_token": ADMIN}).json() == {"study": "s2"}
    r = client.post("/admin/studies", data=new | {"admin_token": ADMIN})
    assert r.status_code == 400 and "exists already" in r.text
    r = client.post("/admin/studies", data=new | {"admin_token": ADMIN, "name": "../x"})
    assert r.status_code == 400 and "cannot name a file" in r.text
    r = client.get("/results", cookies={"bench_admin": ADMIN})
    assert r.status_code == 200
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_results_browser_pages(client):
    assert client.get(f"/login?token={ADMIN}").status_code == 303
    assert client.get("/login?token=nope-nope-nope-nope").status_code == 403
    client.cookies.set("bench_admin", ADMIN)
    board = client.get("/results")
    assert board.status_code == 200 and "culture-zh" in board.text  # the study is listed
    runs = client.get("/results/runs").text
    assert all(s in runs for s in ("sys-a", "sys-b", "sys-c", "sys-en"))
    prompts = client.get("/results/prompts?set=culture&lang=zh&category=food").text
    assert "p000" in prompts and "id=p001" not in prompts  # p001 is clothing (qipao)
    detail = client.get("/results/prompt?set=culture&lang=zh&id=p001")
    assert detail.status_code == 200 and "a photo of" in detail.text and "一张" in detail.text
    imgs = re.findall(r'src="(/results/img/[^"]+)"', detail.text)
    assert len(imgs) == 4 * 2  # every system (the English oracle too), both samples
    assert client.get(imgs[0]).headers["content-type"] == "image/png"
    assert client.get("/results/prompt?set=culture&lang=zh&id=nope").status_code == 404
    assert client.get("/results/prompts?sort=bogus").status_code == 400
    assert not re.search(r'(src|href)="(https?:)?//', detail.text + board.text)  # nothing from elsewhere


def test_where_the_metrics_disagree(bench_home):
    import polars as pl

    from bench.core import paths
    from bench.serve.results import disagreement

    make_study()
    # Two metrics per image: on p000 they order the systems alike, on p001 in reverse (b is "lower is better").
    strength = {"sys-a": 3.0, "sys-b": 2.0, "sys-c": 1.0}
    for system, s in strength.items():
        run = paths.run_dir(f"{system}-culture-zh-x")
        rows_a, rows_b = [], []
        for p, sign in (("p000", 1), ("p001", -1)):
            for sample in (0, 1):
                rows_a.append({"prompt_id": p, "sample": sample, "value": s})
                rows_b.append({"prompt_id": p, "sample": sample, "value": -sign * s})
        (run / "scores").mkdir()
        pl.DataFrame(rows_a).write_parquet(paths.run_scores_path(run, "m-up"))
        pl.DataFrame(rows_b).write_parquet(paths.run_scores_path(run, "m-down"))
        paths.write_json(run / paths.RUN_SUMMARY, {"metrics": {"m-up": {"value": s, "higher_is_better": True},
                                                               "m-down": {"value": -s, "higher_is_better": False}}})
    scores = disagreement("culture", "zh")
    assert scores == {"p000": pytest.approx(0.0), "p001": pytest.approx(1.0)}
