"""Command-line options derived from config dataclasses, and `--config FILE.toml` with command-line flags winning.

A command names the dataclasses its options come from; each field becomes one option with the field's own
default and help, so a default lives in exactly one place. The command receives only the values the user chose
(in the file or on the command line) and builds its config from them; the dataclass supplies the rest.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.core.config import check_keys, field_types, flag_name, read_toml, setting_meta
from bench.core.errors import unknown_name

CONFIG_PARAM = "config_file"
CONTEXT_PARAM = "_bench_ctx"


@dataclasses.dataclass(frozen=True)
class Group:
    """The options of one dataclass: the command receives the chosen values as a dict named `into`."""

    cls: type
    into: str
    exclude: tuple[str, ...] = ()
    prefix: str = ""  # help text prefix, e.g. "Generation: "
    table: str | None = None  # the TOML table of this stage ([train], [generate], [evaluate])

    def fields(self, cli_only: bool = True) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(self.cls) if f.name not in self.exclude
                and (not cli_only or setting_meta(f).get("cli", True))]


def field_default(f: dataclasses.Field) -> Any:
    """A field's default value (None for a required field)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _option(f: dataclasses.Field, kind: Any, prefix: str) -> tuple[Any, Any]:
    """(annotation, typer.Option) for one field: its flag, default and help."""
    import typer

    meta = setting_meta(f)
    flag = flag_name(f)
    required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    default = field_default(f)
    if isinstance(default, tuple):
        default = ",".join(default)
    decls = [f"{flag}/--no-{flag[2:]}"] if kind is bool else [flag]
    if meta.get("short"):
        decls.append(meta["short"])
    text = meta.get("help", "")
    if meta.get("choices"):
        text += f" One of: {', '.join(meta['choices'])}."
    if kind is tuple:
        text += " Comma-separated."
    if required:
        text += " Required (here or in --config)."
    base = str if kind is tuple else kind
    annotation = base | None if default is None else base
    return annotation, typer.Option(default, *decls, help=(prefix + text).strip(), show_default=default is not None,
                                    rich_help_panel=meta.get("panel"))


def build(cls: type, values: dict[str, Any]) -> Any:
    """cls(**values), a missing required setting being a one-line error that names its flag."""
    from bench.core.errors import BenchError

    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and values.get(f.name) is None:
            raise BenchError(f"give {flag_name(f)} (or set {f.name} in the --config file)")
    return cls(**values)


def chosen_values(groups: tuple[Group, ...], given: dict[str, Any], path: Path | None) -> dict[str, dict]:
    """Per group, the values set in the config file, then those given on the command line over them."""
    out: dict[str, dict] = {g.into: {} for g in groups}
    if path is not None:
        data = read_toml(path)
        flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
        tables = {k for g in groups if g.table for k in [g.table]}
        for key, value in data.items():
            if isinstance(value, dict) and key not in tables:
                raise unknown_name(f"table in {path}", key, tables or {"(none: use top-level keys)"})
        known = {f.name for g in groups for f in g.fields(cli_only=False)}
        for g in groups:
            section = {**flat, **(data.get(g.table, {}) if g.table else {})}
            for key in section:
                if key not in known:
                    raise unknown_name(f"key in {path}", key, known)
            mine = {f.name for f in g.fields(cli_only=False)}
            out[g.into].update(check_keys(g.cls, {k: v for k, v in section.items() if k in mine}, source=str(path)))
    for g in groups:
        for f in g.fields():
            if f.name in given:
                out[g.into][f.name] = check_keys(g.cls, {f.name: given[f.name]})[f.name]
    return out


def options_from(*groups: Group) -> Callable:
    """Decorate a command with one option per field of each group's dataclass, plus --config FILE.toml."""

    def wrap(fn: Callable) -> Callable:
        import typer

        hints = typing.get_type_hints(fn)
        intos = {g.into for g in groups}
        params = [p.replace(annotation=hints.get(p.name, p.annotation))
                  for p in inspect.signature(fn).parameters.values() if p.name not in intos]
        taken = {p.name for p in params}
        derived: list[str] = []
        for g in groups:
            kinds = field_types(g.cls)
            for f in g.fields():
                if f.name in taken:
                    raise TypeError(f"{fn.__name__}: option {f.name} is both a parameter and a field of "
                                    f"{g.cls.__name__}")
                annotation, option = _option(f, kinds[f.name], g.prefix)
                params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                                annotation=annotation))
                taken.add(f.name)
                derived.append(f.name)
        params.append(inspect.Parameter(
            CONFIG_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
            default=typer.Option(None, "--config", help="TOML file of settings (field names as keys, top level "
                                 "or in a table per stage); command-line flags win over it.")))
        # typer passes its Context to a parameter annotated so: it tells flags given from defaults.
        params.append(inspect.Parameter(CONTEXT_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            ctx = kwargs.pop(CONTEXT_PARAM, None)
            given = {}
            for name in derived:
                value = kwargs.pop(name)
                source = ctx.get_parameter_source(name) if ctx is not None else None
                if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
                    given[name] = value
            path = kwargs.pop(CONFIG_PARAM, None)
            return fn(**kwargs, **chosen_values(groups, given, path))

        del command.__wrapped__  # typer must read the new signature, not the wrapped function's
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        command.__bench_groups__ = groups  # type: ignore[attr-defined]
        return command

    return wrap
