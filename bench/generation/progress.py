"""The progress bar of image generation: count, images/s and ETA."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def image_progress(label: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield advance(n); shows a bar with images/s and time left when enabled."""
    if not enabled or total == 0:
        yield lambda n: None
        return
    from bench.core.progress import rate_bar

    with rate_bar("img", precision=2) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
