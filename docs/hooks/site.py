"""mkdocs hooks: the command reference generated from the Typer app at every build (so it cannot drift from
the CLI), and the pictures under reports/ served with the pages that show them."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = "commands.md"
EXAMPLE = re.compile(r"^  (bench \S.*)$", re.M)
PREFACE = """Generated from the `bench` command line (`bench.cli:app`) when the site is built, with Typer's own
documentation generator (`python -m typer bench.cli utils docs --name bench`); `bench COMMAND --help`
prints the same at the terminal.

"""


def command_reference() -> str:
    """The Markdown Typer writes for the app, under this page's title."""
    out = subprocess.run([sys.executable, "-m", "typer", "bench.cli", "utils", "docs", "--name", "bench",
                          "--title", "Command reference"], cwd=ROOT, capture_output=True, text=True, check=True)
    title, _, body = out.stdout.partition("\n")
    # The help's examples are two-space indented text: indent them as a code block, unescaped there.
    body = EXAMPLE.sub(lambda m: "    " + html.unescape(m.group(1)), body)
    return f"{title}\n\n{PREFACE}{body.lstrip()}"


def on_files(files, config):
    """Add the generated command reference and every PNG under reports/ (as reports/<name> in the site)."""
    files.append(File.generated(config, COMMANDS, content=command_reference()))
    for png in sorted((ROOT / "reports").rglob("*.png")):
        files.append(File.generated(config, png.relative_to(ROOT).as_posix(), abs_src_path=str(png)))
    return files


def on_page_markdown(markdown, page, config, files):
    """Pages link pictures as ../reports/... (right on GitHub); in the site they sit at reports/..."""
    return markdown.replace("](../reports/", "](reports/")
