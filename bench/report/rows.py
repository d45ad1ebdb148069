"""One evaluated result as the leaderboard sees it, and how its numbers and row labels are written."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One evaluated run, as the leaderboard sees it."""

    file: str
    summary: dict[str, Any]

    @property
    def tier(self) -> str:
        return self.summary.get("tier", "?")

    @property
    def prompt_set(self) -> str:
        ps = self.summary.get("prompt_set") or {}
        name = ps.get("name", "?")
        return f"{name} v{ps['version']}" if ps.get("version") else name

    @property
    def system(self) -> str:
        return self.summary.get("system", "?")

    @property
    def lang(self) -> str:
        return self.summary.get("lang", "?")


def decimals(value: float) -> int:
    """Decimals that show about four significant digits for numbers of this size."""
    size = abs(value)
    return 1 if size >= 100 else 2 if size >= 1 else 4


def fmt(value: float | None, like: float | None = None) -> str:
    """A number with the decimals suited to `like` (default: itself); tiny values in scientific notation."""
    if value is None:
        return "-"
    reference = value if like is None else like
    if reference != 0 and abs(reference) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.{decimals(reference)}f}"


def cell(result: dict) -> str:
    """value ± half-width of the 95% CI, and n; shown in the metric's display unit (KID x1000); a † when
    the summary warns about the value (too few images, truncated prompts)."""
    value = result.get("value")
    scale = result.get("display_scale", 1)
    if value is not None:
        value *= scale
    text = fmt(value)
    ci = result.get("ci")
    if ci and value is not None:
        text += f" ± {fmt((ci[1] - ci[0]) * scale / 2, like=value)}"
    mark = " \u2020" if result.get("warnings") or result.get("truncated_prompts") else ""
    n, prompts = result.get("n"), result.get("n_prompts")
    if n and prompts:  # images = prompts x samples per prompt
        return f"{text}{mark} (n={prompts}\u00d7{n / prompts:.3g})"
    return f"{text}{mark} (n={n if n is not None else '?'})"


def md_text(text: str) -> str:
    """A name as markdown table text: '<lang>' would be read as an HTML tag and '|' would end the cell."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def system_family(entry: Entry) -> str:
    """The system name with its language suffix as '<lang>' (pea-zh -> pea-<lang>), so one row spans languages."""
    suffix = f"-{entry.lang}"
    if entry.lang == "en" or not entry.system.endswith(suffix):  # the English oracle keeps its own name
        return entry.system
    return entry.system[: -len(suffix)] + "-<lang>"


def row_labels(entries: list[Entry]) -> dict[str, str]:
    """Row label per result file: the system family, plus the run id where one family has several runs."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries:
        counts[(system_family(e), e.lang)] += 1
    return {e.file: system_family(e) if counts[(system_family(e), e.lang)] == 1
            else f"{e.system} ({e.summary.get('run_id')})" for e in entries}
