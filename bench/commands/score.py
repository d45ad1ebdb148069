"""`bench score FOLDER`: score images made elsewhere; `bench fid A B`: FID between folders or against refstats."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the score and fid commands."""
    app.command("score")(score)
    app.command("fid")(fid)


def score(
    folder: Path = typer.Argument(..., help="Folder of images: <prompt_id>_<sample>.png, <prompt_id>.png, "
                                            "<prompt_id>/*.png, or any names listed in metadata.jsonl."),
    prompts: str = typer.Option(..., "--prompts", "-p", help="Prompt set the images answer (bench prompts list)."),
    lang: str = typer.Option(..., "--lang", "-l", help="Language of the prompts the images were made from."),
    name: str = typer.Option(None, "--name", help="System name in the summary (default external-<folder name>)."),
    tier: str = typer.Option("real", "--tier", help="real, or tiny to use the tiny offline judges by default."),
    metrics: str = typer.Option(None, "--metrics", help="Comma-separated metrics; default: all that apply."),
    refstats: str = typer.Option(None, "--refstats", help="Reference statistics name for FID/KID/CMMD."),
    judge: str = typer.Option(None, "--judge", help="Multilingual judge (default: the language's)."),
    judge_en: str = typer.Option(None, "--judge-en", help="English judge (default clip-l; tiny-clip for tiny)."),
    extractor: str = typer.Option(None, "--extractor", help="FID/KID network (inception; tiny-inception)."),
    device: str = typer.Option("auto", "--device", help="Where judges and extractors run (auto, cpu, cuda)."),
    publish: bool = typer.Option(False, "--publish", help="Also publish to reports/results when comparable."),
) -> None:
    """Score a folder of images made by any other tool against a prompt set, like a generated run.

    Examples:

      bench score out/ko-culture --prompts culture --lang ko --refstats coco-512

      bench score imgs/ -p world-general -l zh --tier tiny --judge world-clip --judge-en world-clip
    """
    from bench.commands.evaluate import _split, print_summary
    from bench.commands.publish import report_publication
    from bench.evaluation.evaluate import EvalConfig
    from bench.evaluation.score_folder import FolderConfig, score_folder

    cfg = EvalConfig(metrics=_split(metrics), judge=judge, judge_en=judge_en, extractor=extractor,
                     refstats=refstats, device=device, copy_to_reports=publish)
    summary = score_folder(FolderConfig(folder, prompts, lang, name, tier), cfg)
    from bench.core import paths

    print_summary(summary, paths.run_dir(summary["run_id"]))
    report_publication(summary, publish)


def fid(
    dir_a: Path = typer.Argument(..., help="Folder of images."),
    dir_b: Path = typer.Argument(None, help="Second folder of images (or give --refstats)."),
    refstats: str = typer.Option(None, "--refstats", help="Named reference statistics instead of DIR_B."),
    extractor: str = typer.Option("inception", "--extractor",
                                  help="Feature network: inception, tiny-inception, world-clip."),
    mode: str = typer.Option("clean", "--mode", help="clean-fid mode: clean, legacy_tensorflow, legacy_pytorch."),
    device: str = typer.Option("auto", "--device", help="Where the extractor runs (auto, cpu, cuda)."),
    kid: bool = typer.Option(True, "--kid/--no-kid", help="Also compute KID."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """FID (and KID) of a folder against another folder or named reference statistics, as clean-fid computes it.

    Examples:

      bench fid generated/ real/

      bench fid generated/ --refstats coco-512
    """
    from bench.evaluation.fid_folders import folder_fid

    result = folder_fid(dir_a, dir_b, refstats, extractor, mode, device, kid)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    line = f"FID {result['fid']:.4f}"
    if "kid" in result:
        line += f"  KID {result['kid']:.6f}"
    typer.echo(f"{line}  ({result['n_a']} vs {result['n_b']} images; {result['extractor']}, mode {result['mode']})")
