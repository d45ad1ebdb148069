"""Errors a user can fix; the CLI turns them into one line and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BenchError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class NotAvailableOffline(BenchError):
    """Weights or data that are neither cached nor a local folder, while the hub is unreachable."""


def closest(value: str, choices: Iterable[str]) -> str | None:
    """Return the closest choice to `value`, or None when nothing is close."""

    def score(choice: str) -> float:
        ratio = difflib.SequenceMatcher(None, value.lower(), choice.lower()).ratio()
        # Ties are common between short codes ('kr' is as near 'ru' as 'ko'); a shared first letter decides.
        return ratio + (0.01 if choice[:1].lower() == value[:1].lower() else 0.0)

    scored = [(score(choice), choice) for choice in choices]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= 0.5 else None


def unknown_name(kind: str, value: str, choices: Iterable[str], hint: str = "") -> BenchError:
    """Build the standard error: unknown <kind> 'x'; did you mean 'y'? (hint)."""
    choices = sorted(choices)
    message = f"unknown {kind} '{value}'"
    suggestion = closest(value, choices)
    if suggestion:
        message += f"; did you mean '{suggestion}'?"
    message += f" ({hint})" if hint else f" (known: {', '.join(choices)})"
    return BenchError(message)


class NameClash(BenchError, ValueError):
    """Two registrations of one name (built-in and plug-in, two plug-ins, or one plug-in twice)."""
