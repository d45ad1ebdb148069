"""`bench languages`: the language table."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the languages command."""
    app.command("languages")(languages)


def languages() -> None:
    """Print every known language with its translator codes, script and default models."""
    from rich.console import Console
    from rich.table import Table

    from bench.core.languages import LANGUAGES

    table = Table(title="languages")
    for column in ("code", "name", "script", "NLLB-200", "M2M100", "opus-mt en->x", "opus-mt x->en",
                   "student encoder", "judge"):
        table.add_column(column)
    for _, lang in LANGUAGES.items():
        table.add_row(lang.code, lang.name, lang.script, lang.nllb, lang.m2m100,
                      _short(lang.opus_mt_from_en), _short(lang.opus_mt_to_en),
                      lang.student_encoder, lang.judge)
    Console(width=180).print(table)


def _short(hub_id: str | None) -> str:
    """Hub id without the Helsinki-NLP prefix, or '-' when there is no model."""
    return hub_id.removeprefix("Helsinki-NLP/") if hub_id else "-"
