"""Rich progress bars for long stages: count, items per second, elapsed and (when known) time left."""

from __future__ import annotations


def rate_bar(unit: str, enabled: bool = True, precision: int = 0):
    """A rich Progress whose rate column reads '<n> <unit>/s'; use it as a context manager."""
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
        """Items per second over the last few updates (over the whole task until there are two)."""

        def render(self, task) -> Text:
            speed = task.speed or (task.completed / task.elapsed if task.completed and task.elapsed else None)
            return Text(f"{speed:,.{precision}f} {unit}/s" if speed else f"- {unit}/s")

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), disable=not enabled)
