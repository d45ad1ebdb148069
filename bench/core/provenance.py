"""What made an artifact: package versions, the git commit and whether the tree had local changes.

One record for corpus manifests, checkpoints and evaluation summaries, so they all say it the same way.
"""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Iterable
from typing import Any

from bench.core import paths

CORE_PACKAGES = ("pea-bench", "torch", "diffusers", "transformers")


def versions(packages: Iterable[str] = CORE_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None for one that is not installed."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for package in packages:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    return out


def git_state() -> dict[str, Any]:
    """{"commit": HEAD or None, "dirty": whether tracked files under bench/ differ from it (None without git)}."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=10,
                              check=False).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "bench")) if commit else None
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": dirty}


def record(packages: Iterable[str] = CORE_PACKAGES) -> dict[str, Any]:
    """{"versions", "git": {"commit", "dirty"}, "written": UTC time} for an artifact being written now."""
    return {"versions": versions(packages), "git": git_state(),
            "written": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
