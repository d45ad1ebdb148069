"""Progress for long stages: a rich bar on a terminal, a log line at a steady interval in a log file.

Rates are averages over the whole task (items done / seconds since it started), not the last instant, so
a slow first batch or one stall does not swing the ETA. BENCH_PROGRESS_SECONDS sets the log interval (30).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

log = logging.getLogger("bench.core.progress")


def _interactive() -> bool:
    """True when progress can be drawn in place (stderr is a terminal)."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _interval() -> float:
    try:
        return max(1.0, float(os.environ.get("BENCH_PROGRESS_SECONDS", "30")))
    except ValueError:
        return 30.0


def _fmt_seconds(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _Task:
    def __init__(self, description: str, total: float | None, completed: float, fields: dict) -> None:
        self.description, self.total, self.completed, self.fields = description, total, completed, fields
        self.start_completed = completed
        self.started = time.perf_counter()
        self.last_logged = self.started


class LogProgress:
    """The rich Progress calls the stages use (add_task, update, advance), as log lines every few seconds."""

    def __init__(self, unit: str, enabled: bool = True, precision: int = 0, interval: float | None = None) -> None:
        self.unit, self.enabled, self.precision = unit, enabled, precision
        self.interval = _interval() if interval is None else interval
        self.tasks: list[_Task] = []

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            for task in self.tasks:
                self._log(task, final=True)

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields: Any) -> int:
        self.tasks.append(_Task(description, total, completed, fields))
        return len(self.tasks) - 1

    def update(self, task_id: int, completed: float | None = None, advance: float | None = None,
               total: float | None = None, **fields: Any) -> None:
        task = self.tasks[task_id]
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        if advance:
            task.completed += advance
        task.fields.update(fields)
        now = time.perf_counter()
        if now - task.last_logged >= self.interval:
            task.last_logged = now
            self._log(task)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def line(self, task: _Task) -> str:
        """'<description> 120/600 steps, 2.1 steps/s average, 0:00:57 elapsed, eta 0:03:48, loss 0.01'."""
        elapsed = time.perf_counter() - task.started
        done = task.completed - task.start_completed
        rate = done / elapsed if elapsed > 0 and done > 0 else None
        count = f"{task.completed:,.0f}/{task.total:,.0f}" if task.total else f"{task.completed:,.0f}"
        parts = [f"{task.description} {count} {self.unit}",
                 f"{rate:,.{self.precision}f} {self.unit}/s average" if rate else f"- {self.unit}/s",
                 f"{_fmt_seconds(elapsed)} elapsed"]
        if rate and task.total:
            parts.append(f"eta {_fmt_seconds(max(0.0, task.total - task.completed) / rate)}")
        parts += [f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in task.fields.items()]
        return ", ".join(parts)

    def _log(self, task: _Task, final: bool = False) -> None:
        if self.enabled:
            log.info("%s%s", self.line(task), " (done)" if final else "")


def rate_bar(unit: str, enabled: bool = True, precision: int = 0, fields: str = ""):
    """A progress display whose rate reads '<n> <unit>/s' (the task's average); use it as a context manager.

    On a terminal: a rich bar; otherwise (a log file, CI) a LogProgress line at a steady interval.
    `fields` is an extra rich column template, e.g. 'loss {task.fields[loss]:.4g}'.
    """
    if not _interactive():
        return LogProgress(unit, enabled=enabled, precision=precision)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        """Items per second averaged over the whole task (rich's own speed is the last few seconds')."""

        def render(self, task) -> Text:
            speed = task.completed / task.elapsed if task.completed and task.elapsed else None
            return Text(f"{speed:,.{precision}f} {unit}/s" if speed else f"- {unit}/s")

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn()]
    if fields:
        columns.append(TextColumn(fields))
    return Progress(*columns, disable=not enabled)


def track(items: Iterable, description: str, unit: str, total: int | None = None, enabled: bool = True,
          weight=None) -> Iterator:
    """Yield `items` while showing progress; `weight(item)` counts an item as several units (a batch's size)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with rate_bar(unit, enabled=enabled) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task, weight(item) if weight else 1)
