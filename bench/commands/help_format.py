"""--help that never truncates: option names and types keep their full width, help text wraps, at any width.

typer draws its option and command tables with rich's default overflow, which cuts long words with an
ellipsis at 80 columns ("--gradient-checkpoi…"). The tables are patched when help is first printed, so
importing the command line stays as cheap as before (rich loads only for --help).
"""

from __future__ import annotations

from typing import Any

_MARK = "_bench_full_width"


def install() -> None:
    """Make every typer command's and group's --help draw full-width option names (idempotent)."""
    from typer import core

    for cls in (core.TyperCommand, core.TyperGroup):
        original = cls.format_help
        if getattr(original, _MARK, False):
            continue

        def format_help(self: Any, ctx: Any, formatter: Any, _original: Any = original) -> None:
            _patch_tables()
            return _original(self, ctx, formatter)

        setattr(format_help, _MARK, True)
        cls.format_help = format_help  # type: ignore[method-assign]


def _patch_tables() -> None:
    """Swap typer's Table for one whose name columns never wrap and whose last (help) column folds."""
    from typer import rich_utils

    if getattr(rich_utils.Table, _MARK, False):
        return

    from rich.columns import Columns
    from rich.text import Text

    def as_text(cell: Any) -> Any:
        # An option's help is Columns(help, [default: x]); its inner grid would cut a long word again.
        if isinstance(cell, Columns) and all(isinstance(item, Text) for item in cell.renderables):
            return Text(" ").join(item for item in cell.renderables if isinstance(item, Text))
        return cell

    class FullWidthTable(rich_utils.Table):  # type: ignore[misc, name-defined]
        def add_row(self, *renderables: Any, **kwargs: Any) -> None:
            super().add_row(*(as_text(cell) for cell in renderables), **kwargs)
            for column in self.columns[:-1]:
                column.no_wrap = True  # flags, metavars, command names: whole or not at all
            self.columns[-1].overflow = "fold"  # a word longer than the column goes on, never "…"

    setattr(FullWidthTable, _MARK, True)
    rich_utils.Table = FullWidthTable  # type: ignore[misc]
