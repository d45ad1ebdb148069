"""Tiny random-weight components built deterministically from configs, saved as real model folders.

Every tiny component is written with save_pretrained under zoo_dir()/<name>-v<version> on first use, so the
same from_pretrained(folder) code that loads real hub models loads them. Numbers they produce are honest but
meaningless.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.registry import Registry

log = logging.getLogger(__name__)

ZOO_PREFIX = "zoo:"


@dataclass(frozen=True)
class Component:
    """A tiny component: its builder and a version bumped whenever the builder's output changes."""

    name: str
    version: int
    build: Callable[[Path], None]


COMPONENTS: Registry[Component] = Registry("zoo component")

# Modules whose import registers components; each owner adds theirs here.
_COMPONENT_MODULES = ("bench.models.zoo.diffusion", "bench.models.zoo.judges", "bench.models.zoo.students",
                      "bench.models.zoo.translator", "bench.models.zoo.systems", "bench.models.zoo.vqa",
                      "bench.models.zoo.rewards")
_loaded = False


def component(name: str, version: int = 1) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    """Register `build(folder)` as the builder of tiny component `name`."""

    def add(build: Callable[[Path], None]) -> Callable[[Path], None]:
        COMPONENTS.register(name, Component(name, version, build))
        return build

    return add


def _load_components() -> None:
    """Import the component modules once (they are cheap to import; heavy imports live in builders)."""
    global _loaded
    if not _loaded:
        for module in _COMPONENT_MODULES:
            importlib.import_module(module)
        _loaded = True


COMPONENTS.builtins = _load_components  # a plug-in's component named like a built-in one clashes at once


def names() -> list[str]:
    """Names of every tiny component."""
    _load_components()
    return COMPONENTS.names()


def ensure(name: str) -> Path:
    """Return the folder of tiny component `name`, building it first if needed (safe across processes)."""
    _load_components()
    comp = COMPONENTS.get(name)
    folder = paths.zoo_component_dir(name, comp.version)
    if (folder / ".complete").exists():
        return folder
    # Another process building the same component is waited for: its result is ours too.
    with paths.locked(paths.zoo_component_lock(name), what=f"zoo component {name}", wait_s=600):
        if (folder / ".complete").exists():
            return folder
        log.info("building tiny component %s in %s", name, folder)
        paths.clean_temps(paths.zoo_dir(), f".{name}.*.tmp")  # a killed build of this component
        tmp = paths.temp_folder(paths.zoo_dir(), f".{name}.")
        try:
            comp.build(tmp)
            paths.write_text(tmp / ".complete", str(comp.version))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def is_zoo(model_id: str) -> bool:
    """True when `model_id` names a tiny zoo component ('zoo:<name>')."""
    return model_id.startswith(ZOO_PREFIX)


def resolve(model_id: str) -> str:
    """Map 'zoo:<name>' to its built folder; hub ids and local folders pass through unchanged."""
    if is_zoo(model_id):
        return str(ensure(model_id[len(ZOO_PREFIX):]))
    return model_id
