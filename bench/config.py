"""Frozen stage configs: TOML loading and a stable content hash that names output folders."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from bench.errors import BenchError, unknown_name

C = TypeVar("C")


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, paths, enums, tuples and sets into plain JSON values, deterministically."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: equal configs give equal strings."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stable_hash(value: Any, length: int = 12) -> str:
    """Hex SHA-256 prefix of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:length]


def config_hash(config: Any, exclude: tuple[str, ...] = ()) -> str:
    """Hash of a config's fields, leaving out those that do not change the result (e.g. batch size)."""
    data = to_jsonable(config)
    for name in exclude:
        data.pop(name, None)
    return stable_hash(data)


def from_dict(cls: type[C], data: dict[str, Any], source: str = "config") -> C:
    """Build a frozen dataclass from a dict, rejecting unknown keys with a did-you-mean."""
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise unknown_name(f"key in {source}", key, names)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


def load_toml(cls: type[C], path: Path, table: str | None = None) -> C:
    """Load a config dataclass from a TOML file (optionally one table of it)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: not valid TOML ({exc})") from None
    if table is not None:
        data = data.get(table, {})
    return from_dict(cls, data, source=str(path))
