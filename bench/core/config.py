"""Frozen stage configs: settings with one default and range each, TOML loading, and a stable content hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from bench.core.errors import BenchError, unknown_name

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


def setting(default: Any = dataclasses.MISSING, help: str = "", *, min: float | None = None,
            max: float | None = None, above: float | None = None, below: float | None = None,
            choices: tuple[str, ...] | None = None, multiple_of: int | None = None, flag: str | None = None,
            short: str | None = None, cli: bool = True, hashed: bool = True, panel: str | None = None) -> Any:
    """A config field with its one default, its help text and its valid range (checked by check_settings).

    min/max are inclusive bounds, above/below exclusive ones; floats must also be finite. `flag` renames the
    command-line option (default --field-name), `cli=False` keeps a field out of the command line (it can
    still come from a config file), `hashed=False` marks fields that do not change a stage's outputs, `panel`
    names the --help section the option is listed in.
    """
    meta = {"help": help, "min": min, "max": max, "above": above, "below": below, "choices": choices,
            "multiple_of": multiple_of, "flag": flag, "short": short, "cli": cli, "hashed": hashed, "panel": panel}
    return dataclasses.field(default=default, metadata={"setting": meta})


def setting_meta(f: dataclasses.Field) -> dict[str, Any]:
    """A field's setting metadata (defaults for a plain field)."""
    return f.metadata.get("setting", {"help": "", "cli": True, "hashed": True})


def flag_name(f: dataclasses.Field) -> str:
    """The command-line spelling of a field: --field-name unless the setting names another flag."""
    return setting_meta(f).get("flag") or "--" + f.name.replace("_", "-")


def field_types(cls: type) -> dict[str, Any]:
    """Each field's type with None stripped: int | None -> int; tuple[str, ...] -> tuple."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) in (typing.Union, types.UnionType) and args:
            hint = args[0]
        out[name] = typing.get_origin(hint) or hint
    return out


def check_settings(config: Any) -> None:
    """Raise a one-line BenchError for any field outside its type or range (NaN and infinity included)."""
    types = field_types(type(config))
    optional = {name for name, hint in typing.get_type_hints(type(config)).items()
                if type(None) in typing.get_args(hint)}
    for f in dataclasses.fields(config):
        value, meta, kind = getattr(config, f.name), setting_meta(f), types.get(f.name)
        if value is None:
            if f.name not in optional:
                raise BenchError(f"{flag_name(f)} needs a value")
            continue
        what = f"{flag_name(f)} must be"
        if kind is bool and not isinstance(value, bool):
            raise BenchError(f"{what} true or false, got {value!r}")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise BenchError(f"{what} a whole number, got {value!r}")
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BenchError(f"{what} a number, got {value!r}")
            if not math.isfinite(value):
                raise BenchError(f"{what} a finite number, got {value}")
        if kind is str and not isinstance(value, str):
            raise BenchError(f"{what} text, got {value!r}")
        if kind is tuple and (not isinstance(value, tuple) or not all(isinstance(v, str) for v in value)):
            raise BenchError(f"{what} a list of names (e.g. [\"a\", \"b\"] or \"a,b\"), got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise BenchError(f"{what} one of {', '.join(meta['choices'])}, got {value!r}")
        if kind in (int, float):
            bounds = [("min", lambda v, b: v >= b, "at least"), ("max", lambda v, b: v <= b, "at most"),
                      ("above", lambda v, b: v > b, "greater than"), ("below", lambda v, b: v < b, "less than")]
            for key, ok, words in bounds:
                if meta.get(key) is not None and not ok(value, meta[key]):
                    raise BenchError(f"{what} {words} {meta[key]}, got {value}")
            if meta.get("multiple_of") and value % meta["multiple_of"]:
                raise BenchError(f"{what} a positive multiple of {meta['multiple_of']}, got {value}")


def not_hashed(cls: type) -> tuple[str, ...]:
    """Names of the fields marked hashed=False: they change how a stage runs, never what it makes."""
    return tuple(f.name for f in dataclasses.fields(cls) if not setting_meta(f).get("hashed", True))


def _coerce(value: Any, kind: Any) -> Any:
    """TOML values into field types: lists become tuples, integers are accepted where floats are."""
    if isinstance(value, list):
        return tuple(value)
    if kind is tuple and isinstance(value, str):
        return tuple(v for v in value.replace(",", " ").split() if v)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def check_keys(cls: type, data: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """data's keys checked against cls's fields (did-you-mean on a typo) and its values coerced to their types."""
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise unknown_name(f"key in {source}", key, names)
    types = field_types(cls)
    return {k: _coerce(v, types.get(k)) for k, v in data.items()}


def from_dict(cls: type[C], data: dict[str, Any], source: str = "config") -> C:
    """Build a frozen dataclass from a dict, rejecting unknown keys with a did-you-mean."""
    return cls(**check_keys(cls, data, source))


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; a missing or broken file is a one-line error."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise BenchError(f"config file {path} is a folder; give a .toml file") from None
    except UnicodeDecodeError:
        raise BenchError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: not valid TOML ({exc})") from None
