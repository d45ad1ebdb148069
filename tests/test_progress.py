"""Progress in a log file: a line at a steady interval with the average rate; Ctrl-C says how to resume."""

from __future__ import annotations

import logging
import sys

import pytest

from bench.core import progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_come_at_the_interval_with_average_rates(monkeypatch, caplog):
    clock = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    caplog.set_level(logging.INFO, logger="bench.core.progress")
    with progress.LogProgress("img", precision=1, interval=30) as bar:
        task = bar.add_task("generating", total=100)
        clock.now += 10
        bar.advance(task, 2)  # 10 s in: below the interval, no line yet
        assert caplog.records == []
        clock.now += 20
        bar.advance(task, 58)  # 30 s in: one line; average 60/30 = 2.0/s (the last 20 s alone: 2.9/s)
        clock.now += 5
        bar.update(task, advance=10, loss=0.123456)  # 5 s after the last line: none
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "generating 60/100 img, 2.0 img/s average, 0:00:30 elapsed, eta 0:00:20"
    assert lines[1] == ("generating 70/100 img, 2.0 img/s average, 0:00:35 elapsed, eta 0:00:15, loss 0.1235 "
                        "(done)")
    assert len(lines) == 2


def test_rate_bar_logs_without_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "_interactive", lambda: False)
    assert isinstance(progress.rate_bar("steps"), progress.LogProgress)
    monkeypatch.setattr(progress, "_interactive", lambda: True)
    assert not isinstance(progress.rate_bar("steps"), progress.LogProgress)


def test_track_counts_weighted_items(monkeypatch, caplog):
    monkeypatch.setattr(progress, "_interactive", lambda: False)
    monkeypatch.setenv("BENCH_PROGRESS_SECONDS", "1000")
    caplog.set_level(logging.INFO, logger="bench.core.progress")
    assert list(progress.track([[1, 2], [3]], "features", "img", total=3, weight=len)) == [[1, 2], [3]]
    assert caplog.records[-1].getMessage().startswith("features 3/3 img")


def test_ctrl_c_says_how_to_resume(monkeypatch, capsys):
    from bench import cli

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", interrupted)
    for argv, hint in ((["train", "--lang", "zh"], "run `bench train --lang zh --resume` to continue"),
                       (["generate", "-m", "x"], "run `bench generate -m x` again to resume (finished images")):
        monkeypatch.setattr(sys, "argv", ["bench", *argv])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        assert exit_.value.code == 130 and hint in capsys.readouterr().err
