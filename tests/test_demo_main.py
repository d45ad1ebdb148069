"""`python -m bench.demo` runs the demo stages plug-ins registered (the module runs as __main__, the
plug-ins register into bench.demo) and prints the paired lines of the runs they evaluated."""

from __future__ import annotations

import runpy
import sys
from types import SimpleNamespace


def test_python_m_bench_demo_runs_the_registered_stages(monkeypatch, capsys):
    import bench.corpus.build
    import bench.demo
    import bench.report.leaderboard
    import bench.report.paired

    manifest = {"rows": {"kept": 1, "read": 1}, "filters": [], "translator": {"name": "none"}}
    monkeypatch.setattr(bench.corpus.build, "build_corpus",
                        lambda config, progress=True: SimpleNamespace(folder=config.name, manifest=manifest))
    monkeypatch.setattr(bench.report.leaderboard, "write_leaderboard", lambda: {"leaderboard": "lb.md", "results": 0})
    seen = []
    monkeypatch.setattr(bench.report.paired, "demo_lines", lambda runs: seen.append(runs) or ["paired lines"])
    saved = bench.demo.DEMOS.snapshot()
    bench.demo.DEMOS.names()  # loads the plug-ins (the toy world's stage)
    bench.demo.DEMOS.unregister("world")
    bench.demo.DEMOS.register("world", lambda quick: {"lines": [f"world stage ran, quick={quick}"], "runs": ["r1"]})
    monkeypatch.setattr(sys, "argv", ["bench.demo", "--quick"])
    try:
        runpy.run_module("bench.demo", run_name="__main__")
    finally:
        bench.demo.DEMOS.restore(saved)
    out = capsys.readouterr().out
    assert "world stage ran, quick=True" in out and "paired lines" in out and seen == [["r1"]]
