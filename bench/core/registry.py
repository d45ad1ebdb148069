"""Name -> entry lookup shared by every stage, with did-you-mean errors and lazy "module:object" entries.

Every registry also sees the plug-ins (bench.core.plugins): a name that is not registered yet, or a listing,
loads them once first, so a plug-in's systems, judges or metrics work like the built-in ones.
Every entry remembers its origin (BUILT_IN or the plug-in that added it), so a name registered twice, in
whichever order the two registrations come, is a NameClash naming both.
"""

from __future__ import annotations

import importlib
import sys
import unicodedata
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, cast

from bench.core.errors import BenchError, NameClash, unknown_name

T = TypeVar("T")

_ALL: weakref.WeakSet[Registry[Any]] = weakref.WeakSet()
_LATER: dict[str, list[tuple[str, str, str]]] = {}  # registry key -> (name, target, origin) for a registry not created yet
BUILT_IN = "built-in"  # the origin of entries pea-bench registers itself


class BadName(BenchError, ValueError):
    """A name no command line could type back (empty, not text, with spaces or invisible characters)."""


def check_name(kind: str, name: object, origin: str) -> None:
    """Raise BadName, naming who registered it, unless a user can type `name` and see it as it is."""
    problem = None
    if not isinstance(name, str) or not name:
        problem = "must be a non-empty string"
    elif not name.isprintable() or any(ch.isspace() for ch in name):
        # isprintable() is False for Unicode's Other (Cc, Cf, Cs, Co, Cn) and separators: a zero-width
        # space would make a second 'clip-l' that lists like the first
        problem = "holds a space, control or invisible character"
    elif unicodedata.normalize("NFC", name) != name:
        problem = "is not NFC-normalised (the same letters typed would not find it)"
    if problem:
        raise BadName(f"{describe_origin(origin)} registers {kind} {name!r}: a name {problem}")


def clash(kind: str, name: str, first: str, second: str) -> NameClash:
    """The one-line error for a second registration of `name`, naming both origins."""
    if first == second:
        return NameClash(f"{describe_origin(first)} registers {kind} '{name}' twice")
    advice = ("rename the plug-in's" if BUILT_IN in (first, second)
              else "rename one of them, or load only one of the two plug-ins")
    return NameClash(f"{kind} '{name}' is registered by both {describe_origin(first)} and "
                     f"{describe_origin(second)}: {advice}")


def describe_origin(origin: str) -> str:
    """How a message names an origin: pea-bench's own entries or the plug-in (entry point or file)."""
    return "pea-bench itself (built in)" if origin == BUILT_IN else f"plug-in {origin}"


class Lazy:
    """A registry entry still to import: 'package.module:object' (dots after ':' walk attributes)."""

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        module, sep, attr = target.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"lazy entry {target!r} is not 'module:object'")
        self.target = target

    def resolve(self) -> Any:
        """Import the module and return the object."""
        module, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise BenchError(f"cannot load registered entry {self.target}: {exc}") from None
        return obj

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


class Registry(Generic[T]):
    """A named collection of entries; `kind` and `hint` shape the error messages."""

    def __init__(self, kind: str, hint: str = "", key: str | None = None) -> None:
        self.kind = kind
        self.hint = hint
        self.key = key or kind  # how register_later() names it
        # Imports the modules whose import registers the built-in entries, for registries that load them on
        # first use: run before a plug-in's first entry, so a clash is found whichever is used first.
        self.builtins: Callable[[], object] | None = None
        self._entries: dict[str, T | Lazy] = {}
        self._origin: dict[str, str] = {}  # name -> BUILT_IN or the plug-in whose register() added it
        _ALL.add(self)
        for name, target, origin in _LATER.pop(self.key, []):
            self._add(name, Lazy(target), origin)

    def register(self, name: str, entry: T | None = None) -> Any:
        """Register `entry` under `name`; usable as a decorator when `entry` is omitted."""

        def add(item: T) -> T:
            self._add(name, item)
            return item

        return add if entry is None else add(entry)

    def register_lazy(self, name: str, target: str) -> None:
        """Register 'module:object', imported on first get(): listing names imports nothing."""
        self._add(name, Lazy(target))

    def _add(self, name: str, item: T | Lazy, origin: str | None = None) -> None:
        origin = origin or current_origin()
        check_name(self.kind, name, origin)
        if origin != BUILT_IN and self.builtins is not None:
            load_builtins, self.builtins = self.builtins, None
            load_builtins()
        if name in self._entries:
            raise clash(self.kind, name, self._origin.get(name, BUILT_IN), origin)
        self._entries[name] = item
        self._origin[name] = origin

    def origin(self, name: str) -> str | None:
        """BUILT_IN or the plug-in that registered `name`; None when it is not registered."""
        return self._origin.get(name) if name in self._entries else None

    def unregister(self, name: str) -> None:
        """Remove `name` (a no-op when absent)."""
        self._entries.pop(name, None)
        self._origin.pop(name, None)

    def forget_plugins(self, keep: set[str]) -> None:
        """Remove the entries of plug-ins not in `keep` (the loader's reset() unloads plug-ins with this)."""
        for name, origin in list(self._origin.items()):
            if origin != BUILT_IN and origin not in keep:
                self.unregister(name)

    def get(self, name: str) -> T:
        """Return the entry for `name` or raise a BenchError that lists the valid names."""
        if name not in self._entries:
            _load_plugins()
        try:
            entry = self._entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, self._entries, self.hint) from None
        if isinstance(entry, Lazy):
            entry = self._entries[name] = entry.resolve()
        return cast(T, entry)

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            _load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(self) -> list[str]:
        """All registered names (plug-ins included), sorted; imports no lazy entry."""
        _load_plugins()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs sorted by name (lazy entries are imported)."""
        return [(name, self.get(name)) for name in self.names()]

    def snapshot(self) -> tuple[dict[str, T | Lazy], dict[str, str]]:
        """A copy of the entries, for restore()."""
        return dict(self._entries), dict(self._origin)

    def restore(self, saved: tuple[dict[str, T | Lazy], dict[str, str]]) -> None:
        """Put back what snapshot() returned (tests undo their registrations with it)."""
        self._entries, self._origin = dict(saved[0]), dict(saved[1])


def all_registries() -> list[Registry[Any]]:
    """Every registry created so far."""
    return list(_ALL)


def forget_plugins() -> None:
    """Drop every entry whose plug-in is no longer loaded (after bench.core.plugins.reset)."""
    from bench.core import plugins

    keep = plugins.keys()
    for registry in all_registries():
        registry.forget_plugins(keep)


def register_later(key: str, name: str, target: str) -> None:
    """register_lazy into the registry named `key`, now if it exists, else when its module creates it.

    A plug-in uses this for registries whose module is heavy to import (the corpus sources need polars).
    """
    Lazy(target)  # a malformed target fails here, in the plug-in's register(), not when the registry appears
    for registry in _ALL:
        if registry.key == key:
            registry.register_lazy(name, target)
            return
    origin = current_origin()
    check_name(key, name, origin)
    for queued, _, first in _LATER.get(key, []):
        if queued == name:  # two queued entries: the registry would only find out when it is created
            raise clash(f"{key} entry", name, first, origin)
    _LATER.setdefault(key, []).append((name, target, origin))


def forget_origin(origin: str) -> None:
    """Drop every entry one plug-in added (its register() failed half-way), queued ones included."""
    for registry in all_registries():
        registry.forget_plugins({o for o in registry._origin.values() if o != origin})
    for key, queued in list(_LATER.items()):
        _LATER[key] = [q for q in queued if q[2] != origin]


def current_origin() -> str:
    """BUILT_IN, or the plug-in being loaded when the registration comes from its own code.

    A plug-in's register() often imports a module of pea-bench for the first time, and that module's
    top-level registrations are built-in ones: the nearest module-level frame (or the loader's, when there is
    none in between) decides. Modules of the bench package register at import time only as built-ins (the toy
    world registers inside its register()).
    """
    from bench.core import plugins

    current = plugins.current()
    if current is None:
        return BUILT_IN
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not plugins.LOADER_CODE:
        if frame.f_code.co_name == "<module>":
            return BUILT_IN if str(frame.f_globals.get("__name__", "")).split(".")[0] == "bench" else current
        frame = frame.f_back
    return current


def _load_plugins() -> None:
    from bench.core import plugins

    plugins.load()


def _register_forget_hook() -> None:
    """bench.core.plugins undoes a failed plug-in through this hook (plugins never imports this module)."""
    from bench.core import plugins

    plugins.FORGET_HOOKS.append(forget_origin)


_register_forget_hook()
