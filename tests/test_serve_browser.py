"""A person's session in a real browser (Playwright driving Debian's Chromium): profile, 12 votes by keys and
clicks, one undo, a reload that keeps the progress; screenshots of the voting page and the results browser."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.human_helpers import make_study
from tests.serve_helpers import ADMIN, free_port, start_server

CHROMIUM = os.environ.get("BENCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _votes(page) -> int:
    return int(re.search(r"Votes: (\d+)", page.inner_text("#progress")).group(1))


def test_annotator_session_in_chromium(bench_home, tmp_path):
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        pytest.fail("Chromium is missing: run make install as root, or apt-get install --no-install-recommends chromium")
    from playwright.sync_api import sync_playwright

    from bench.human.db import opened
    from bench.human.studies import invite

    study = make_study(n_prompts=6, samples=2, check_every=5)
    with opened() as conn:
        token = invite(conn, study, 1)[0]
    shots = Path(os.environ.get("BENCH_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    requested: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{base}/a/{token}")
            page.fill("input[name=lang0]", "zh")
            page.select_option("select[name=level0]", "native")
            page.fill("input[name=lang1]", "en")
            page.select_option("select[name=level1]", "fluent")
            page.fill("input[name=region]", "Taipei")
            page.click("button[type=submit]")
            page.wait_for_selector("#vote")
            assert _votes(page) == 0
            for k in range(12):
                task = page.input_value("input[name=task]")
                with page.expect_navigation():
                    if k % 2 == 0:
                        page.keyboard.press(str(k % 4 + 1))  # keys 1..4
                    else:
                        page.click(f"button[value={('left', 'right', 'tie', 'both_bad')[k % 4]}]")
                assert _votes(page) == k + 1
                assert page.input_value("input[name=task]") != task
            page.screenshot(path=str(shots / "serve-vote.png"), full_page=True)
            with page.expect_navigation():
                page.keyboard.press("u")
            assert _votes(page) == 11
            undone_task = page.input_value("input[name=task]")
            page.reload()
            assert _votes(page) == 11 and page.input_value("input[name=task]") == undone_task
            # The results browser, as the admin sees it.
            page.goto(f"{base}/login?token={ADMIN}")
            page.goto(f"{base}/results/prompt?set=culture&lang=zh&id=p002")
            assert page.locator(".system").count() == 4
            assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            page.screenshot(path=str(shots / "serve-results.png"), full_page=True)
            browser.close()
    finally:
        server.kill()
        server.wait(timeout=30)
    assert all(u.startswith(base) for u in requested), [u for u in requested if not u.startswith(base)][:3]
    from bench.human.votes import vote_records

    with opened() as conn:
        records = vote_records(conn, study)
    assert len(records) == 11
    assert records[0]["annotator_languages"] == [{"lang": "zh", "level": "native"}, {"lang": "en", "level": "fluent"}]
    assert records[0]["annotator_level"] == "native" and records[0]["annotator_region"] == "Taipei"
    assert sorted({r["answer"] for r in records}) == ["both_bad", "left", "right", "tie"]
