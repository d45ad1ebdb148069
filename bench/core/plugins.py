"""Plug-ins: modules with a `register()` function that add entries to the registries.

Found (in this order, each loaded once) through
  1. the entry-point group `pea_bench.plugins` of installed packages (the toy world is one: pyproject.toml);
  2. BENCH_PLUGINS, paths separated by os.pathsep;
  3. `bench --include PATH` (or include(PATH) from Python).
A path is a .py file or a folder. The folder (or the file's folder) goes on sys.path, so a plug-in's modules
import each other by name and lazy entries may name them ("my_metrics:METRIC"); of a folder's top-level
*.py files, those defining a top-level register() are imported (the others are its helpers).
A plug-in registers with the registries' own calls (register_system, register_metric, register_judge,
register_prompt_set, ...); lazy entries ("module:object") keep listing cheap.
"""

from __future__ import annotations

import ast
import importlib
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

from bench.core.errors import BenchError, NameClash

log = logging.getLogger(__name__)

GROUP = "pea_bench.plugins"
ENV = "BENCH_PLUGINS"

_state: dict[str, object] = {"loaded": False, "loading": False, "current": None}
_done: dict[str, ModuleType] = {}  # key (entry-point value or resolved file) -> module, in load order


def load() -> None:
    """Load the installed and BENCH_PLUGINS plug-ins once (re-entrant calls during loading return at once)."""
    if _state["loaded"] or _state["loading"]:
        return
    _state["loading"] = True
    try:
        for key, loader in _entry_points():
            _run(key, loader, strict=False)
        for raw in os.environ.get(ENV, "").split(os.pathsep):
            if raw.strip():
                include(raw.strip())
    finally:
        _state["loading"] = False
        _state["loaded"] = True


def include(path: str | os.PathLike[str]) -> list[str]:
    """Load the plug-in file or folder at `path` (after the installed ones); return the modules' names."""
    load()
    target = Path(path).expanduser()
    if target.is_dir():
        files = sorted(f for f in target.glob("*.py") if _defines_register(f))
        if not files:
            raise BenchError(f"plug-in folder {target} holds no .py file with a register() function")
    elif target.is_file() and target.suffix == ".py":
        files = [target]
    else:
        raise BenchError(f"--include {path}: not a .py file or a folder of them")
    names = []
    for file in files:
        key = str(file.resolve())
        _run(key, lambda file=file: _import_file(file), strict=True)
        names.append(_done[key].__name__)
    return names


def include_all(targets) -> None:
    """include() each path of a repeatable --include option."""
    for target in targets or ():
        include(target)


def current() -> str | None:
    """The plug-in whose register() is running (registries record it as the entry's origin)."""
    return _state.get("current")  # type: ignore[return-value]


def loaded() -> list[str]:
    """Names of the plug-in modules loaded so far, in load order."""
    return [module.__name__ for module in _done.values()]


def state() -> tuple[dict[str, object], dict[str, ModuleType]]:
    """A copy of the loader's state, for reset()."""
    return dict(_state), dict(_done)


def reset(saved: tuple[dict[str, object], dict[str, ModuleType]]) -> None:
    """Put back what state() returned (bench.core.registry.forget_plugins then drops the others' entries)."""
    _state.clear()
    _state.update(saved[0])
    _done.clear()
    _done.update(saved[1])


def keys() -> set[str]:
    """Keys (entry-point values, resolved files) of the plug-ins loaded now."""
    return set(_done)


def _entry_points():
    """(value, loader) of every installed plug-in, each value once (a checkout may be listed twice)."""
    from importlib.metadata import entry_points

    seen = set()
    for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
        if ep.value not in seen:
            seen.add(ep.value)
            yield ep.value, ep.load


def _run(key: str, loader, strict: bool) -> None:
    """Import one plug-in and call its register(); broken installed plug-ins are logged, not fatal.

    A name clash is fatal for every plug-in (which of the two entries a command would use is a guess), and a
    plug-in that fails half-way leaves none of its entries behind.
    """
    if key in _done:
        return
    previous, _state["current"] = _state.get("current"), key  # set while importing too: top-level registrations
    try:
        module = loader()
        register = getattr(module, "register", None)
        if not callable(register):
            raise BenchError(f"plug-in {key} has no register() function")
        _done[key] = module
        register()
    except NameClash:
        _forget(key)
        raise
    except BenchError:
        _forget(key)
        if strict:
            raise
        log.warning("plug-in %s not loaded", key, exc_info=True)
    except (Exception, SystemExit) as exc:  # a plug-in's own bug (sys.exit() included): say whose it is
        _forget(key)
        if strict:
            raise BenchError(f"plug-in {key} failed: {type(exc).__name__}: {exc}") from exc
        log.warning("plug-in %s not loaded: %s", key, exc)
    finally:
        _state["current"] = previous


# Called with a failed plug-in's key; bench.core.registry adds the function that drops its entries.
FORGET_HOOKS: list = []

LOADER_CODE = _run.__code__  # where a registration's origin search stops (bench.core.registry)


def _forget(key: str) -> None:
    """Undo a plug-in that failed: its entries go, and it is not listed as loaded."""
    for forget in FORGET_HOOKS:  # bench.core.registry's forget_origin: its entries go
        forget(key)
    _done.pop(key, None)


def _defines_register(file: Path) -> bool:
    """True when a .py file has a top-level `def register` (read with ast: nothing is imported)."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise BenchError(f"plug-in file {file} cannot be read: {exc}") from None
    return any(isinstance(node, ast.FunctionDef) and node.name == "register" for node in tree.body)


def _import_file(file: Path) -> ModuleType:
    """Import a .py file by its own name with its folder on sys.path (appended: installed modules win)."""
    file = file.resolve()
    if str(file.parent) not in sys.path:
        sys.path.append(str(file.parent))
    existing = sys.modules.get(file.stem)
    if existing is not None:
        found = getattr(existing, "__file__", None)
        if found is None or Path(found).resolve() != file:
            raise BenchError(f"plug-in {file}: the module name '{file.stem}' is taken by {found or 'a built-in'}; "
                             "rename the file")
        return existing
    return importlib.import_module(file.stem)
