"""`bench prompts list|show|validate`: the prompt sets shipped as data under prompts/."""

from __future__ import annotations

import json

import typer

from bench.core.errors import BenchError


def register(app: typer.Typer) -> None:
    """Add the prompts command group."""
    sub = typer.Typer(help="Prompt sets: list them, show one, validate them.", no_args_is_help=True)
    sub.command("list")(list_sets)
    sub.command("show")(show)
    sub.command("validate")(validate)
    sub.command("build-xm3600")(build_xm3600)
    sub.command("build-coco-cn")(build_coco_cn)
    sub.command("context")(context)
    app.add_typer(sub, name="prompts")


def list_sets(
    include: list[str] = typer.Option([], "--include", help="Plug-in .py file or folder to load first (repeatable)."),
) -> None:
    """List the prompt sets with their version, languages, prompt counts and concept tables."""
    from rich.console import Console
    from rich.table import Table

    from bench.core import paths, plugins

    plugins.include_all(include)
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
    lang: str = typer.Option(None, "--lang", "-l", help="Language code (default: the set's first language)."),
    limit: int = typer.Option(20, "--limit", "-n", help="Rows to print (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """Show the prompts of one set in one language."""
    from bench.core.config import to_jsonable
    from bench.prompts.load import load_prompt_set, load_set_info

    lang = lang or load_set_info(name).languages[0]
    if limit < 0:
        raise BenchError(f"--limit must be >= 0, got {limit}")
    prompt_set = load_prompt_set(name, lang)
    rows = prompt_set.prompts if limit == 0 else prompt_set.prompts[:limit]
    if as_json:
        for prompt in rows:
            typer.echo(json.dumps(to_jsonable(prompt), ensure_ascii=False, sort_keys=True))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # Escaped: rich would read "[it]" as a markup tag and drop it.
    title = escape(f"{name} v{prompt_set.version} [{lang}]: {len(prompt_set)} prompts, "
                   f"hash {prompt_set.content_hash}, licence {prompt_set.licence}")
    table = Table(title=title)
    for column in ("id", "category", "text", "text_en", "confusers"):
        table.add_column(column, overflow="fold")
    for p in rows:
        table.add_row(*(escape(cell) for cell in (p.id, p.category or "-", p.text, p.text_en,
                                                   ", ".join(p.confusers) or "-")))
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
        per_lang = {lang: ", ".join(f"{k} {v}" for k, v in sorted(c.items())) for lang, c in report.categories.items()}
        if len(set(per_lang.values())) == 1:
            typer.echo(f"  categories: {next(iter(per_lang.values()))}")
        else:
            for lang, line in per_lang.items():
                typer.echo(f"  categories [{lang}]: {line}")
        if show_ambiguous:
            for line in report.ambiguous:
                typer.echo(f"  close call: {line}")
        for line in report.problems:
            typer.echo(line, err=True)
        problems += len(report.problems)
    if problems:
        raise BenchError(f"{problems} problem(s) in prompt sets (listed above)")


def build_xm3600(
    source: str = typer.Option("floschne/xm3600", help="Hub id, or a local folder with data/<lang>-*.parquet."),
    lang: list[str] = typer.Option(["zh", "ko", "ja", "ru", "it"], "--lang", "-l", help="Languages (en is always added)."),
    n: int = typer.Option(200, "--n", help="Images to keep (0 = all shared images)."),
    seed: int = typer.Option(0, help="Selection seed (images are ranked by a hash of seed and image id)."),
    name: str = typer.Option("xm3600-mg", help="Name of the prompt set to write."),
) -> None:
    """Build an MG-18-style general set from Crossmodal-3600, with its images as FID references."""
    from bench.prompts.load import reference_images_dir
    from bench.prompts.public_sets import XM3600Config
    from bench.prompts.public_sets import build_xm3600 as build

    if n < 0:
        raise BenchError(f"--n must be >= 0, got {n}")
    out = build(XM3600Config(source=source, languages=tuple(lang), n_images=n, seed=seed, name=name))
    typer.echo(f"wrote {out} (reference images in {reference_images_dir(name)})")


def build_coco_cn(
    source: str = typer.Option(..., help="Local folder of the COCO-CN release."),
    coco_captions: list[str] = typer.Option(..., "--coco-captions", help="COCO captions_*2014.json (repeatable)."),
    coco_images: str = typer.Option(None, help="Folder with COCO train2014/ and val2014/ images."),
    split: str = typer.Option("test", help="train, val or test."),
    kind: str = typer.Option("human-written", help="human-written or manually-translated."),
    n: int = typer.Option(0, "--n", help="Images to keep (0 = all)."),
    seed: int = typer.Option(0, help="Selection seed."),
    name: str = typer.Option("coco-cn", help="Name of the prompt set to write."),
) -> None:
    """Build a zh/en prompt set from COCO-CN, with the COCO images as FID references."""
    from bench.prompts.public_sets import CocoCNConfig
    from bench.prompts.public_sets import build_coco_cn as build

    if split not in ("train", "val", "test"):
        raise BenchError(f"--split must be train, val or test, got {split!r}")
    out = build(CocoCNConfig(source=source, coco_captions=tuple(coco_captions), coco_images=coco_images,
                             split=split, kind=kind, n_images=n, seed=seed, name=name))
    typer.echo(f"wrote {out}")


def context(
    write: bool = typer.Option(True, "--write/--no-write", help="Also write reports/context-lengths.md."),
) -> None:
    """Count the prompts of every set and language longer than each judge's and text encoder's context."""
    from bench.core import paths
    from bench.prompts.context_report import context_counts, render

    text = render(context_counts())
    typer.echo(text, nl=False)
    if write:
        out = paths.reports_dir() / "context-lengths.md"
        paths.write_text(out, text)
        typer.echo(f"wrote {out}")
