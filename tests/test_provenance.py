"""One provenance record (versions, git commit, dirty flag, time) for manifests, checkpoints and summaries."""

from __future__ import annotations

import subprocess
from importlib import metadata

from bench.core import paths, provenance


def test_record_names_versions_commit_and_dirty_flag():
    made = provenance.record(("torch", "no-such-package-here"))
    assert made["versions"] == {"torch": metadata.version("torch"), "no-such-package-here": None}
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO_ROOT, capture_output=True, text=True)
    if head.returncode == 0:
        assert made["git"]["commit"] == head.stdout.strip() and isinstance(made["git"]["dirty"], bool)
    else:  # an unpacked release without .git
        assert made["git"] == {"commit": None, "dirty": None}
    assert made["written"].endswith("+00:00")


def test_every_artifact_writer_uses_it():
    import inspect

    from bench.corpus import build
    from bench.evaluation import evaluate
    from bench.training import checkpoint

    for module in (evaluate, build, checkpoint):
        assert "provenance.record(" in inspect.getsource(module), module.__name__
