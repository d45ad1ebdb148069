"""`bench evaluate`, `bench refstats build|list`, `bench judge-check`, `bench leaderboard`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer

from bench.commands.options import Group, build, field_default, options_from
from bench.core.errors import BenchError
from bench.evaluation.evaluate import EvalConfig
from bench.generation.config import GenerateConfig


def register(app: typer.Typer) -> None:
    """Add the evaluation commands."""
    app.command("evaluate")(evaluate)
    app.command("judge-check")(judge_check)
    app.command("leaderboard")(leaderboard)
    refstats = typer.Typer(help="Named reference statistics for FID, KID and CMMD.", no_args_is_help=True)
    refstats.command("build")(refstats_build)
    refstats.command("list")(refstats_list)
    app.add_typer(refstats, name="refstats")


def _split(value: str | None) -> tuple[str, ...] | None:
    """'a,b c' -> ('a', 'b', 'c'); None or empty -> None."""
    if not value:
        return None
    return tuple(v for v in value.replace(",", " ").split() if v)


@options_from(Group(GenerateConfig, "gen", exclude=("model", "prompts", "lang"), prefix="Generation: ",
                   table="generate"),
              Group(EvalConfig, "evaluation", table="evaluate"))
def evaluate(
    model: str = typer.Option(None, "--model", "-m", help="System(s) to evaluate, comma-separated (bench models)."),
    prompts: str = typer.Option(None, "--prompts", "-p", help="Prompt set(s), comma-separated (bench prompts list)."),
    lang: str = typer.Option(None, "--lang", "-l", help="Prompt language(s), comma-separated (ISO 639-1)."),
    run: str = typer.Option(None, "--run", help="Score an existing run folder (path or run id) instead."),
    list_metrics: bool = typer.Option(False, "--list-metrics", help="List the metrics and exit."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every cell as the real evaluation would (systems, "
                                 "judges, extractor, reference statistics), print what would run, generate nothing."),
    include: list[str] = typer.Option([], "--include", help="Plug-in .py file or folder to load first (repeatable)."),
    gen: dict | None = None,
    evaluation: dict | None = None,
) -> None:
    """Generate whatever images are missing, score every image, write scores/ and summary.json.

    Lists run every applicable cell and end with one table (see also bench run SUITE.toml).

    Examples:

      bench evaluate -m world-pea-zh -p world-general -l zh --samples 1 --steps 20 --scheduler ddim --limit 8

      bench evaluate -m pea-zh,translate-sdxl -p general,culture -l zh,ko --refstats coco-512 --publish
    """
    from bench.core import plugins

    plugins.include_all(include)
    import bench

    if list_metrics:
        from bench.metrics import load_metrics

        for name, m in load_metrics().items():
            typer.echo(f"{name:22s} {m.direction} needs: {', '.join(m.needs) or '-'}  {m.describe()}")
        return
    cfg = build(EvalConfig, evaluation or {})
    publish = cfg.copy_to_reports
    given_gen = gen or {}
    if run:
        _check_run_form(model, prompts, lang, given_gen, dry_run)
    for flag, value in (("--model", model), ("--prompts", prompts), ("--lang", lang)):
        if value is not None and not _split(value):
            raise BenchError(f"{flag} {value!r} names nothing; give one or more names, comma-separated")
    gen = {f.name: field_default(f) for f in dataclasses.fields(GenerateConfig)
           if f.name not in ("model", "prompts", "lang")} | given_gen
    from bench.core.runtime import check_device

    check_device(cfg.device)  # before any generation
    if cfg.metrics:
        from bench.metrics import get_metric

        for name in cfg.metrics:
            get_metric(name)  # did-you-mean before any generation
    if model and not run and not (prompts and lang):  # `bench evaluate --model pea-zh`: from the system
        from bench.evaluation.defaults import evaluate_defaults

        prompts, lang = evaluate_defaults(_split(model), prompts, lang)
    if not run and any("," in (v or "") for v in (model, prompts, lang)):
        from bench.commands.run import dry_run_suite, print_table, report_suite_publication
        from bench.evaluation.suite import Suite, run_suite

        suite = Suite.from_lists(_split(model) or (), _split(prompts) or (), _split(lang) or (), gen, cfg, publish)
        if dry_run:
            dry_run_suite(suite)
            return
        table = run_suite(suite, echo=typer.echo)
        print_table(table)
        report_suite_publication(table, publish)
        return
    if run:
        folder = _run_folder(run)
    else:
        if not (model and prompts and lang):
            raise BenchError("give --model, --prompts and --lang (or --run FOLDER)")
        from bench.evaluation.preflight import check_cell

        gen_cfg = GenerateConfig(model=model, prompts=prompts, lang=lang, **gen)
        checked = check_cell(gen_cfg, cfg)  # judges, extractor and statistics before any image is generated
        if dry_run:
            typer.echo(f"{checked.run}  ({checked.images} images; metrics {', '.join(checked.metrics) or 'none'})")
            return
        folder = bench.generate(gen_cfg)
    summary = bench.evaluate(cfg, run=folder)
    print_summary(summary, folder)
    from bench.commands.publish import report_publication

    report_publication(summary, publish)


def _check_run_form(model: str | None, prompts: str | None, lang: str | None, gen: dict, dry_run: bool) -> None:
    """--run scores a run as it was generated: flags that would choose or change the generation are refused."""
    from bench.core.config import flag_name

    ignored = [flag for flag, value in (("--model", model), ("--prompts", prompts), ("--lang", lang)) if value]
    fields = {f.name: f for f in dataclasses.fields(GenerateConfig)}
    ignored += [flag_name(fields[name]) for name in gen if name in fields]
    if dry_run:
        ignored.append("--dry-run")
    if ignored:
        raise BenchError(f"--run scores an existing run as it was generated: leave out {', '.join(ignored)} "
                         "(or leave out --run to generate with them)")


def _run_folder(run: str) -> Path:
    """--run as a folder (anything with a slash, or an existing folder) or a run id under BENCH_HOME/runs."""
    from bench.generation.runs import find_run

    return find_run(run)


def print_summary(summary: dict, folder: Path) -> None:
    """A short table of the metric values, warnings and where the files are."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['system']} | {summary['prompt_set'].get('name')} | {summary['lang']} "
                        f"| tier {summary['tier']}")
    for column in ("metric", "value", "95% CI", "n", "cached"):
        table.add_column(column)
    for name, result in summary["metrics"].items():
        ci = result.get("ci")
        cached = summary["timings"]["metrics"][name]["cached"]
        value = result.get("value")
        scale = result.get("display_scale", 1)  # KID in the field's unit, x1000
        if value is not None and scale != 1:
            value, ci = value * scale, [c * scale for c in ci] if ci else None
        label = f"{name} x{scale}" if scale != 1 else name
        if result.get("truncated_prompts"):  # next to the score, per judge
            label += f" ({result['truncated_prompts']}/{result['prompts']} truncated at {result['context_length']})"
        table.add_row(f"{label} {'↑' if result['higher_is_better'] else '↓'}",
                      "-" if value is None else f"{value:.4f}",
                      f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "n/a", str(result["n"]), "yes" if cached else "no")
    from rich.markup import escape

    console = Console()
    console.print(table)
    # soft_wrap: a path printed at any terminal width stays one string a terminal can copy (no hard breaks);
    # escape: names and reasons may hold [brackets] that rich would read as markup.
    for name, why in summary["skipped"].items():
        console.print(f"skipped {escape(name)}: {escape(why)}", soft_wrap=True)
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    console.print(escape(f"scores: {folder / 'scores'}  summary: {folder / 'summary.json'}  "
                         f"({summary['timings']['total_seconds']:.1f} s)"), soft_wrap=True)


def refstats_build(
    name: str = typer.Option(..., "--name", help="Name to store the statistics under."),
    images: str = typer.Option(..., "--images", help="Image folder, or hf:<dataset id>[:split]."),
    extractor: str = typer.Option(None, "--extractor", help="FID/KID network (default inception; 'none' skips)."),
    mode: str = typer.Option("clean", "--mode", help="clean-fid mode."),
    judge: str = typer.Option(None, "--judge", help="Judge for CMMD embeddings (default clip-l-336; 'none' skips)."),
    size: int = typer.Option(None, "--size", help="Center-crop and resize references to this size first."),
    limit: int = typer.Option(None, "--limit", help="Use at most N images."),
    tiny: bool = typer.Option(False, "--tiny", help="Use the tiny offline extractor and judge."),
) -> None:
    """Compute reference statistics from a folder or dataset and store them by name."""
    from bench.instruments.judges import tier_default
    from bench.instruments.refstats import RefstatsConfig, build_refstats

    tier = "tiny" if tiny else "real"
    extractor = extractor or tier_default(tier, "extractor")
    judge = judge or tier_default(tier, "cmmd_judge")
    cfg = RefstatsConfig(name=name, images=images, extractor=None if extractor == "none" else extractor,
                         mode=mode, judge=None if judge == "none" else judge, size=size, limit=limit)
    for path in build_refstats(cfg):
        typer.echo(f"wrote {path}")


def refstats_list() -> None:
    """List stored reference statistics."""
    from rich.console import Console
    from rich.table import Table

    from bench.instruments.refstats import list_refstats

    rows = list_refstats()
    if not rows:
        typer.echo("no reference statistics yet (bench refstats build --name NAME --images DIR)")
        return
    table = Table(title="reference statistics")
    for column in ("name", "mode", "extractor", "resolution", "n", "source", "file"):
        table.add_column(column)
    for r in rows:
        table.add_row(*(str(r.get(c, "")) for c in ("name", "mode", "extractor", "resolution", "n", "source", "file")))
    Console(width=160).print(table)


def judge_check(
    lang: str = typer.Option(None, "--lang", help="Language of the captions."),
    judge: str = typer.Option(None, "--judge", help="Judge (default: the language's)."),
    pairs: str = typer.Option("corpus:sample", "--pairs", help="corpus:<name>, set:<prompt set>, or pairs.jsonl."),
    limit: int = typer.Option(200, "--limit", help="At most N image-caption pairs."),
    tiny: bool = typer.Option(False, "--tiny", help="Default to the tiny offline judge."),
    list_judges: bool = typer.Option(False, "--list", help="List the judges and exit."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Text-to-image retrieval accuracy of a judge on parallel captions: does it read this language?

    Reward judges (pickscore, imagereward, hpsv2) also report how often an image scores higher with its own
    caption than with another image's.
    """
    from bench.evaluation.judge_check import JudgeCheckConfig
    from bench.evaluation.judge_check import judge_check as run_check
    from bench.instruments.judges import JUDGES

    if list_judges:
        for name, spec in JUDGES.items():
            reads = "all languages" if spec.languages == ("*",) else ", ".join(spec.languages)
            typer.echo(f"{name:18s} {spec.tier:5s} {spec.kind:13s} {spec.model_id}  ({reads})")
        return
    if not lang:
        raise BenchError("give --lang (e.g. --lang ko)")
    result = run_check(JudgeCheckConfig(lang=lang, judge=judge, pairs=pairs, limit=limit,
                                        tier="tiny" if tiny else "real"))
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    typer.echo(f"judge {result['judge']} ({result['model_id']}) on {result['n']} {lang} pairs from {pairs}")
    if result.get("kind") == "vqa":
        _print_vqa_check(result, lang)
        return
    if "pairs_native" in result:  # a reward judge: matched against mismatched captions
        typer.echo(f"  matched > mismatched {lang}: {result['pairs_native']:.3f}   en: {result['pairs_english']:.3f}   "
                   f"chance: {result['pair_chance']:.3f}")
    if "r1_native" in result:
        typer.echo(f"  R@1 {lang}: {result['r1_native']:.3f}   R@1 en: {result['r1_english']:.3f}   "
                   f"chance: {result['chance_r1']:.3f}")
        typer.echo(f"  R@5 {lang}: {result['r5_native']:.3f}   R@5 en: {result['r5_english']:.3f}   "
                   f"chance: {result['chance_r5']:.3f}")
    if not result["reads_lang"]:
        typer.echo(f"  note: {result['judge']} was not trained on {lang}")
    prefer = result["prefer"]
    typer.echo(f"  prefer: {prefer['judge'] or 'none'} ({prefer['reason']})")


def _print_vqa_check(result: dict, lang: str) -> None:
    """A VQA judge's check: mean P(yes) for matched and mismatched captions, and how often the own one wins."""
    for key, asked in (("native", lang), ("english", "en")):
        typer.echo(f"  asked in {asked}: P(yes) own caption {result[f'p_matched_{key}']:.3f}, another image's "
                   f"{result[f'p_mismatched_{key}']:.3f}; own caption higher for {result[f'wins_{key}']:.3f} "
                   f"of images (chance {result['chance']:.2f})")
    if not result["reads_lang"]:
        typer.echo(f"  note: {result['judge']} was not trained on {lang}")


def leaderboard(
    check: bool = typer.Option(False, "--check", help="Exit 1 when reports/leaderboard.md is stale."),
    grids: bool = typer.Option(True, "--grids/--no-grids", help="Also write image grids."),
    prefer: str = typer.Option(None, "--prefer", help="Run id(s), comma-separated, to show instead of the newest "
                                                     "result of the same system, prompt set and language."),
    prompts: str = typer.Option(None, "--prompts", "-p", help="Only these prompt sets (comma-separated); prints."),
    lang: str = typer.Option(None, "--lang", "-l", help="Only these languages (comma-separated); prints."),
    tier: str = typer.Option(None, "--tier", help="Only this tier (real or tiny); prints."),
    fmt: str = typer.Option(None, "--format", help="Print (or --out) the tables as md, csv or json instead of "
                                                   "writing reports/leaderboard.md."),
    out: Path = typer.Option(None, "--out", help="Write the filtered/exported tables to this file; missing folders are created, a symlink or device is written through."),
) -> None:
    """Write reports/leaderboard.md from reports/results/*.json, plus image grids and a plot.

    One row per system, prompt set, language and tier: the newest result, or the one named by --prefer
    (recorded in the file, so --check uses it too); the others are listed below the tables.
    --prompts/--lang/--tier/--format/--out print or export a filtered view instead.

    Examples:

      bench leaderboard

      bench leaderboard --prompts world-general --lang zh,ko --format csv --out zh-ko.csv
    """
    import bench
    from bench.report.leaderboard import leaderboard_path, stale_reason

    for flag, value in (("--prefer", prefer), ("--prompts", prompts), ("--lang", lang), ("--tier", tier),
                        ("--format", fmt)):
        if value is not None and not _split(value):  # else an empty filter would rewrite the whole leaderboard
            raise BenchError(f"{flag} {value!r} names nothing; give a value or leave {flag} out")
    chosen = _split(prefer)
    if any((prompts, lang, tier, fmt, out)):
        from bench.report.export import export, filtered_entries

        entries = filtered_entries(_split(prompts) or (), _split(lang) or (), _split(tier) or (), chosen or ())
        text = export(entries, fmt or (out.suffix.lstrip(".") if out and out.suffix else "md"))
        if out:
            from bench.core import paths

            paths.write_text(out, text)
            typer.echo(f"wrote {out} ({len(entries)} results)")
        else:
            typer.echo(text, nl=False)
        if not entries:
            typer.echo("no published result matches these filters (bench leaderboard shows them all)", err=True)
        return
    if check:
        reason = stale_reason(chosen)
        if reason is not None:
            typer.echo(f"{leaderboard_path()} is stale: {reason}; run `bench leaderboard` and commit it", err=True)
            raise typer.Exit(1)
        typer.echo(f"{leaderboard_path()} is current")
        return
    written = bench.leaderboard(grids=grids, prefer=chosen or ())
    typer.echo(f"wrote {written['leaderboard']} from {written['results']} results")
    for grid in written["grids"]:
        typer.echo(f"wrote {grid}")
    if written.get("plot"):
        typer.echo(f"wrote {written['plot']}")
