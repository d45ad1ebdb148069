"""A real `bench serve` process on 127.0.0.1 for the load and browser tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ADMIN = "admin-token-for-tests-0123456789"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, timeout_s: float = 60) -> subprocess.Popen:
    """Start bench serve in its own process (BENCH_HOME from the environment) and wait until it answers."""
    env = dict(os.environ, BENCH_ADMIN_TOKEN=ADMIN, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bench serve exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("bench serve did not answer in time")


def task_on_page(html: str) -> int | None:
    """The task id of an annotator's voting page."""
    m = re.search(r'name="task" value="(\d+)"', html)
    return int(m.group(1)) if m else None
