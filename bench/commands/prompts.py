"""`bench prompts list|show|validate`: the prompt sets shipped as data under prompts/."""

from __future__ import annotations

import json

import typer

from bench.errors import BenchError


def register(app: typer.Typer) -> None:
    """Add the prompts command group."""
    sub = typer.Typer(help="Prompt sets: list them, show one, validate them.", no_args_is_help=True)
    sub.command("list")(list_sets)
    sub.command("show")(show)
    sub.command("validate")(validate)
    app.add_typer(sub, name="prompts")


def list_sets() -> None:
    """List the prompt sets with their version, languages, prompt counts and concept tables."""
    from rich.console import Console
    from rich.table import Table

    from bench import paths
    from bench.prompts.load import has_concepts, list_prompt_sets, load_set_info, set_folder
    from bench.prompts.schema import read_jsonl

    table = Table(title=f"prompt sets in {paths.prompts_dir()}")
    for column in ("set", "version", "languages", "prompts per language", "concepts", "licence"):
        table.add_column(column)
    for name in list_prompt_sets():
        info = load_set_info(name)
        folder = set_folder(name)
        counts = []
        for lang in info.languages:
            path = folder / f"{lang}.jsonl"
            counts.append(f"{lang}:{sum(1 for _ in read_jsonl(path))}" if path.is_file() else f"{lang}:-")
        concepts = str(sum(1 for _ in read_jsonl(folder / "concepts.jsonl"))) if has_concepts(name) else "-"
        table.add_row(name, info.version, ",".join(info.languages), " ".join(counts), concepts, info.licence)
    Console(width=160).print(table)


def show(
    name: str = typer.Argument(..., help="Prompt set name (bench prompts list shows them)."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language code."),
    limit: int = typer.Option(20, "--limit", "-n", help="Rows to print (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """Show the prompts of one set in one language."""
    from bench.config import to_jsonable
    from bench.prompts.load import load_prompt_set

    if limit < 0:
        raise BenchError(f"--limit must be >= 0, got {limit}")
    prompt_set = load_prompt_set(name, lang)
    rows = prompt_set.prompts if limit == 0 else prompt_set.prompts[:limit]
    if as_json:
        for prompt in rows:
            typer.echo(json.dumps(to_jsonable(prompt), ensure_ascii=False, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    title = (f"{name} v{prompt_set.version} [{lang}]: {len(prompt_set)} prompts, "
             f"hash {prompt_set.content_hash}, licence {prompt_set.licence}")
    table = Table(title=title)
    for column in ("id", "category", "text", "text_en", "confusers"):
        table.add_column(column, overflow="fold")
    for p in rows:
        table.add_row(p.id, p.category or "-", p.text, p.text_en, ", ".join(p.confusers) or "-")
    Console(width=180).print(table)


def validate(
    names: list[str] = typer.Argument(None, help="Sets to check (default: all)."),
    langid: bool = typer.Option(True, "--langid/--no-langid", help="Check each text's language with lingua."),
    show_ambiguous: bool = typer.Option(False, "--show-ambiguous", help="List close language calls that passed."),
) -> None:
    """Validate prompt sets; prints one line per problem and exits 2 when there is any."""
    from bench.prompts.validate import validate_all

    reports = validate_all(names or None, langid=langid)
    problems = 0
    for report in reports:
        counts = " ".join(f"{lang}:{n}" for lang, n in report.counts.items())
        concepts = f", {report.concepts} concepts" if report.concepts else ""
        status = "ok" if report.ok else f"{len(report.problems)} problems"
        typer.echo(f"{report.name} v{report.version}: {counts}{concepts}; "
                   f"{len(report.ambiguous)} close language calls; {status}")
        categories = next(iter(report.categories.values()), None)
        if categories:
            typer.echo("  categories: " + ", ".join(f"{k} {v}" for k, v in sorted(categories.items())))
        if show_ambiguous:
            for line in report.ambiguous:
                typer.echo(f"  close call: {line}")
        for line in report.problems:
            typer.echo(line, err=True)
        problems += len(report.problems)
    if problems:
        raise BenchError(f"{problems} problem(s) in prompt sets (listed above)")
