"""`bench human new-study|invite|list|export|rank|crowd`: pairwise human evaluation from the command line."""

from __future__ import annotations

import typer

from bench.commands.serve import DEFAULT_HOST, DEFAULT_PORT
from bench.core.errors import BenchError

DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"  # where `bench serve` listens by default


def register(app: typer.Typer) -> None:
    """Add the `bench human` group."""
    human = typer.Typer(help="Pairwise human evaluation: studies, invitations, export, Bradley-Terry ranking.",
                        no_args_is_help=True)
    human.command("new-study")(new_study)
    human.command("invite")(invite)
    human.command("list")(list_studies)
    human.command("export")(export)
    human.command("rank")(rank)
    human.command("crowd")(crowd)
    app.add_typer(human, name="human")


def _systems(value: str) -> list[str]:
    return [v for v in value.replace(",", " ").split() if v]


def new_study(
    prompts: str = typer.Option(..., "--prompts", help="Prompt set of the runs (bench prompts list)."),
    lang: str = typer.Option(..., "--lang", help="Language of the prompts people read."),
    systems: str = typer.Option(..., "--systems", help="Comma-separated systems with finished runs (>= 2)."),
    name: str = typer.Option(None, "--name", help="Study id (default <prompts>-<lang>)."),
    oracle: str = typer.Option(None, "--oracle", help="System whose images make attention checks "
                                                      "(default: the one whose run is in English)."),
    run: list[str] = typer.Option(None, "--run", help="SYSTEM=RUN_ID to pick a run (repeatable)."),
    check_every: int = typer.Option(8, "--check-every", help="One attention check per this many tasks (0: none)."),
    check_threshold: float = typer.Option(0.7, "--check-threshold", help="Pass rate below which a person is flagged."),
    min_checks: int = typer.Option(2, "--min-checks", help="Checks answered before anyone can be flagged."),
    seed: int = typer.Option(0, help="Seed of sides and pair choices."),
) -> None:
    """Create a study from finished runs of one prompt set and language."""
    from bench.human.db import opened
    from bench.human.studies import check_names, create_study, list_studies

    check_names(prompts, lang)  # before the database is opened (and created)
    run_ids = {}
    for item in run or []:
        system, sep, run_id = item.partition("=")
        if not sep:
            raise BenchError(f"--run {item!r} must be SYSTEM=RUN_ID")
        run_ids[system] = run_id
    with opened() as conn:
        study = create_study(conn, prompts, lang, _systems(systems), name=name, oracle=oracle,
                             check_every=check_every, check_threshold=check_threshold, min_checks=min_checks,
                             seed=seed, run_ids=run_ids)
        info = next(s for s in list_studies(conn) if s["id"] == study)
    typer.echo(f"study {study}: {len(info['systems'])} systems, {info['items']} (prompt, sample) items, "
               f"attention checks from {info['oracle'] or 'none (no English oracle; pass --oracle)'}")
    typer.echo(f"next: bench human invite --study {study} -n 10")


def invite(
    study: str = typer.Option(..., "--study", help="Study id."),
    n: int = typer.Option(10, "-n", help="How many annotator links."),
    url: str = typer.Option(DEFAULT_URL, "--url", help="Where bench serve listens, as annotators reach it "
                            "(http://HOST:PORT or https://...; the default is bench serve's default address)."),
) -> None:
    """Print n new annotator links (each an unguessable token that can only vote in this study)."""
    _check_url(url)  # before any token is stored
    from bench.human.db import opened
    from bench.human.studies import invite as make_links

    with opened() as conn:
        tokens = make_links(conn, study, n)
    for token in tokens:
        typer.echo(f"{url.rstrip('/')}/a/{token}")


def _check_url(url: str) -> None:
    """--url must be an http(s) address with a host: links built on anything else do not open."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number in 0..65535)
    except ValueError as exc:
        raise BenchError(f"--url {url!r} is not a web address ({exc}); give http://HOST:PORT") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BenchError(f"--url {url!r} is not a web address; give http://HOST:PORT (where bench serve listens, "
                         f"default {DEFAULT_URL})")


def list_studies() -> None:
    """Studies with their systems, annotators and votes."""
    from bench.human.db import opened
    from bench.human.studies import list_studies as studies

    with opened() as conn:
        rows = studies(conn)
    if not rows:
        typer.echo("no studies yet: bench human new-study --prompts SET --lang L --systems a,b")
    for s in rows:
        typer.echo(f"{s['id']}: {s['prompt_set']} {s['lang']}, systems {', '.join(s['systems'])}; "
                   f"{s['items']} items, {s['annotators']} annotators, {s['votes']} votes")


def export(
    study: str = typer.Option(..., "--study", help="Study id."),
    out: str = typer.Option(None, "--out", help="Folder (default reports/human); created when missing."),
) -> None:
    """Write every vote of a study as JSONL and parquet (GenAI-Arena battle fields included)."""
    from pathlib import Path

    from bench.human.db import opened
    from bench.human.export import export_votes
    from bench.human.rank import human_dir

    with opened() as conn:
        jsonl, parquet, n = export_votes(conn, study, Path(out) if out else human_dir())
    typer.echo(f"{n} votes -> {jsonl} and {parquet}")


def rank(
    study: str = typer.Option(..., "--study", help="Study id."),
    include_flagged: bool = typer.Option(False, "--include-flagged", help="Keep annotators who failed checks."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap replicates over votes."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    write: bool = typer.Option(True, "--write/--no-write", help="Write reports/human/<study>.json for the leaderboard."),
) -> None:
    """Bradley-Terry ranking with 95% bootstrap intervals, per annotator group, and each metric's agreement."""
    from bench.human.db import opened
    from bench.human.leaderboard import summary_lines
    from bench.human.rank import rank_study, write_ranking

    with opened() as conn:
        result = rank_study(conn, study, include_flagged=include_flagged, n_boot=bootstrap, seed=seed)
    typer.echo("\n".join(summary_lines(result)))
    if write:
        typer.echo(f"wrote {write_ranking(result)}; bench leaderboard adds it to reports/leaderboard.md")


def crowd(
    study: str = typer.Option(..., "--study", help="A study of toy-world runs."),
    annotators: int = typer.Option(20, "--annotators", help="Simulated annotators (invited now)."),
    votes: int = typer.Option(30, "--votes", help="Votes per annotator."),
    flip: float = typer.Option(0.1, "--flip", help="Share of preferences each simulated annotator flips."),
    seed: int = typer.Option(0, help="Seed of the simulated crowd."),
) -> None:
    """Toy world only: the exact analyser votes as a noisy crowd through the same task code people use."""
    from bench.human.crowd import simulate
    from bench.human.db import opened

    with opened() as conn:
        done = simulate(conn, study, annotators=annotators, votes=votes, flip=flip, seed=seed)
    typer.echo(f"{done['votes']} simulated votes from {done['annotators']} annotators in study {study}")
