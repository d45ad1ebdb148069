"""Name -> factory lookup shared by every stage, with did-you-mean errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from bench.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories; `kind` and `hint` shape the error messages."""

    def __init__(self, kind: str, hint: str = "") -> None:
        self.kind = kind
        self.hint = hint
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T | None = None) -> Callable[[T], T] | T:
        """Register `entry` under `name`; usable as a decorator when `entry` is omitted."""

        def add(item: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = item
            return item

        return add if entry is None else add(entry)

    def get(self, name: str) -> T:
        """Return the entry for `name` or raise a BenchError that lists the valid names."""
        try:
            return self._entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, self._entries, self.hint) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs sorted by name."""
        return sorted(self._entries.items())
