"""50 simulated annotators voting at once on a real server: no vote lost, none counted twice, also across a
SIGKILL of the server mid-load."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from tests.human_helpers import annotator, make_study
from tests.serve_helpers import free_port, start_server, task_on_page

N_ANNOTATORS = 50
VOTES_EACH = 4


def _voter(base: str, token: str, n: int, acked: list, errors: list, stop: threading.Event) -> None:
    """Vote up to n times (or until stop); record each acknowledged (token, task)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for k in range(n):
            if stop.is_set():
                return
            try:
                task = task_on_page(client.get(f"/a/{token}").text)
                r = client.post(f"/a/{token}/vote", data={"task": str(task), "answer": ("left", "right", "tie")[k % 3]},
                                headers={"Accept": "application/json"})
            except httpx.HTTPError as exc:  # the server was killed under us: stop, nothing acknowledged
                errors.append(repr(exc))
                return
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text}")
                return
            acked.append((token, task))


def _run_crowd(base, tokens, n, stop=None, timeout=90):
    acked, errors = [], []
    stop = stop or threading.Event()
    threads = [threading.Thread(target=_voter, args=(base, t, n, acked, errors, stop)) for t in tokens]
    for t in threads:
        t.start()
    return threads, acked, errors, stop


def _db_votes():
    from bench.human.db import opened

    with opened() as conn:
        return [tuple(r) for r in conn.execute("SELECT a.token_sha256, v.task_id FROM votes v "
                                                "JOIN annotators a ON a.id = v.annotator_id")]


def test_fifty_concurrent_annotators_and_a_killed_server(bench_home):
    from bench.human.db import opened
    from bench.human.studies import token_hash

    study = make_study(n_prompts=6, samples=2, check_every=0)
    with opened() as conn:
        tokens = [annotator(conn, study)[0] for _ in range(N_ANNOTATORS)]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        started = time.monotonic()
        threads, acked, errors, _ = _run_crowd(base, tokens, VOTES_EACH)
        for t in threads:
            t.join(timeout=120)
        seconds = time.monotonic() - started
        assert not errors, errors[:3]
        assert len(acked) == N_ANNOTATORS * VOTES_EACH
        stored = _db_votes()
        # Every acknowledged vote is stored exactly once, and nothing else is.
        assert sorted(stored) == sorted((token_hash(t), task) for t, task in acked)
        print(f"load: {len(acked)} votes from {N_ANNOTATORS} annotators in {seconds:.1f} s")
        assert seconds < 120

        # Second wave: kill the server with SIGKILL while everyone is voting.
        threads, acked2, errors2, stop = _run_crowd(base, tokens, 1000)
        deadline = time.monotonic() + 60
        while len(acked2) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert len(acked2) >= 60
        server = start_server(port)
        stored = set(_db_votes())
        missing = {(token_hash(t), task) for t, task in acked + acked2} - stored
        assert not missing, f"{len(missing)} acknowledged votes lost"
        # At most one unacknowledged vote per annotator can have landed just before the kill.
        assert len(stored) - len(acked) - len(acked2) <= N_ANNOTATORS
        assert len(stored) == len({task for _, task in stored})  # no task counted twice
        # The restarted server takes votes again.
        threads, acked3, errors3, _ = _run_crowd(base, tokens[:5], 2)
        for t in threads:
            t.join(timeout=60)
        assert not errors3 and len(acked3) == 10
    finally:
        server.kill()
        server.wait(timeout=30)
