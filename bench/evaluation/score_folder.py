"""Score images made by another tool: a folder of images -> a run folder the evaluation stage reads.

Images map to (prompt id, sample) by a metadata.jsonl in the folder (rows with `file` and `prompt_id`,
optional `sample`), else by file name: `<prompt_id>_<sample>.<ext>`, `<prompt_id>.<ext>` (sample 0) or
`<prompt_id>/<any>.<ext>` (samples in name order). The run folder is named by the images' content, so
scoring the same images again reuses every cached feature and metric.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.errors import BenchError

log = logging.getLogger(__name__)

METADATA = "metadata.jsonl"


@dataclass(frozen=True)
class FolderConfig:
    """Which prompts the images answer, what to call the system, and its tier (decides default judges)."""

    folder: Path
    prompts: str
    lang: str
    name: str | None = None  # system name in summaries; default external-<folder name>
    tier: str = "real"  # "tiny" scores with the tiny offline judges by default


def _from_metadata(folder: Path) -> list[tuple[Path, str, int]]:
    """(file, prompt id, sample) from the folder's metadata.jsonl."""
    out = []
    for line_no, row in paths.iter_jsonl(folder / METADATA):
        file = row.get("file") or row.get("file_name") or row.get("image")
        if not file or "prompt_id" not in row:
            raise BenchError(f"{folder / METADATA}:{line_no}: needs 'file' (or 'file_name') and 'prompt_id'")
        path = (folder / file).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise BenchError(f"{folder / METADATA}:{line_no}: file {file!r} must be inside {folder}")
        out.append((path, str(row["prompt_id"]), int(row.get("sample", 0))))
    return out


def _from_names(folder: Path, ids: set[str]) -> tuple[list[tuple[Path, str, int]], list[Path]]:
    """(file, prompt id, sample) from file names, and the files that name no prompt."""
    from bench.instruments.refstats import image_files

    out: list[tuple[Path, str, int]] = []
    unmatched: list[Path] = []
    per_folder: dict[str, list[Path]] = {}
    for file in image_files(folder):
        rel = file.relative_to(folder)
        if len(rel.parts) == 2 and rel.parts[0] in ids:  # <prompt_id>/<any>.png
            per_folder.setdefault(rel.parts[0], []).append(file)
            continue
        stem = file.stem
        head, _, tail = stem.rpartition("_")
        if len(rel.parts) == 1 and stem in ids:
            out.append((file, stem, 0))
        elif len(rel.parts) == 1 and head in ids and tail.isdigit():
            out.append((file, head, int(tail)))
        else:
            unmatched.append(file)
    for pid, files in per_folder.items():
        out += [(f, pid, i) for i, f in enumerate(sorted(files))]
    return out, unmatched


def map_images(cfg: FolderConfig):
    """The prompt set and its images as (file, prompt, sample), in prompt-set order; one-line errors otherwise."""
    from bench.prompts import load_prompt_set

    folder = Path(cfg.folder)
    if not folder.is_dir():
        raise BenchError(f"image folder {folder} does not exist")
    prompt_set = load_prompt_set(cfg.prompts, cfg.lang)
    prompts = prompt_set.by_id()
    if (folder / METADATA).is_file():
        found, unmatched = _from_metadata(folder), list[Path]()
        unknown = sorted({pid for _, pid, _ in found if pid not in prompts})
        if unknown:
            raise BenchError(f"{folder / METADATA} names prompt id(s) not in {cfg.prompts}/{cfg.lang}: "
                             f"{', '.join(unknown[:5])}" + (" ..." if len(unknown) > 5 else ""))
    else:
        found, unmatched = _from_names(folder, set(prompts))
    if unmatched:
        names = ", ".join(str(f.relative_to(folder)) for f in unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
        raise BenchError(f"{len(unmatched)} image(s) in {folder} name no prompt of {cfg.prompts}/{cfg.lang} "
                         f"({names}); name them <prompt_id>_<sample>.png or list them in {METADATA}")
    if not found:
        raise BenchError(f"no images in {folder} (name them <prompt_id>_<sample>.png or write {METADATA})")
    seen: dict = {}
    for file, pid, sample in found:
        if not file.is_file():
            raise BenchError(f"image {file} listed in {METADATA} is missing")
        if (pid, sample) in seen:
            raise BenchError(f"{file} and {seen[(pid, sample)]} are both prompt {pid} sample {sample}")
        seen[(pid, sample)] = file
    for file, _, _ in found:
        _check_image(file)
    order = {p.id: i for i, p in enumerate(prompt_set.prompts)}
    found.sort(key=lambda t: (order[t[1]], t[2]))
    return prompt_set, [(file, prompts[pid], sample) for file, pid, sample in found]


def _check_image(file: Path) -> None:
    """Refuse a file that does not decode as an image before anything is copied."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BenchError(f"{file} is not a readable image ({' '.join(str(exc).split())[:120]}); "
                         "convert it to PNG or JPEG, or remove it from the folder") from None


def _digest(file: Path) -> str:
    from bench.core.hashing import sha256_file

    return sha256_file(file)


def build_run(cfg: FolderConfig) -> Path:
    """Copy the images into a run folder under runs/ (named by content) with spec.json and metadata.jsonl."""
    from PIL import Image

    from bench.core.config import stable_hash

    prompt_set, images = map_images(cfg)
    # A folder name may hold spaces or other characters an id cannot: they become "-" (my images -> my-images).
    default = f"external-{paths.id_from_name(Path(cfg.folder).resolve().name)}"
    name = paths.safe_id(cfg.name if cfg.name is not None else default, what="system name")
    if cfg.tier not in ("real", "tiny"):
        raise BenchError(f"--tier must be real or tiny, got {cfg.tier!r}")
    digests = [(p.id, s, _digest(f)) for f, p, s in images]
    with Image.open(images[0][0]) as first:
        size = max(first.size)
    spec = {"format": 1, "model_name": name, "model": {"name": name, "kind": "external",
                                                       "source": "images scored by bench score"},
            "tier": cfg.tier, "lang": cfg.lang, "size": size,
            "prompts": {"name": prompt_set.name, "version": prompt_set.version, "lang": prompt_set.lang,
                        "content_hash": prompt_set.content_hash, "limit": None, "count": len(prompt_set)},
            "samples": max(s for _, _, s in images) + 1, "images_sha256": stable_hash(digests, length=16)}
    run = paths.runs_dir() / paths.safe_id(f"{name}-{prompt_set.name}-{cfg.lang}-{stable_hash(spec)}", what="run id")
    if (run / paths.RUN_METADATA).is_file():
        return run
    tmp = run.with_name(f".{run.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    paths.run_images_dir(tmp).mkdir(parents=True)
    rows = []
    for file, prompt, sample in images:
        target = f"images/{prompt.id}_{sample}{file.suffix.lower()}"
        shutil.copyfile(file, tmp / target)
        rows.append({"prompt_id": prompt.id, "sample": sample, "seed": None, "file": target, "text": prompt.text,
                     "text_en": prompt.text_en, "model_input": None, "concept": prompt.concept,
                     "category": prompt.category, "confusers": list(prompt.confusers), "tags": list(prompt.tags),
                     "source_file": str(file.relative_to(Path(cfg.folder).resolve()))
                     if file.is_relative_to(Path(cfg.folder).resolve()) else file.name})
    paths.write_json(tmp / paths.RUN_SPEC, spec)
    paths.write_jsonl(tmp / paths.RUN_METADATA, rows)
    tmp.rename(run)  # the whole folder appears at once: a killed copy leaves only the .tmp folder
    n_prompts = len({p.id for _, p, _ in images})
    if n_prompts < len(prompt_set):
        log.warning("%d of %d prompts of %s/%s have images; the scores cover those only",
                    n_prompts, len(prompt_set), prompt_set.name, cfg.lang)
    return run


def score_folder(cfg: FolderConfig, eval_cfg=None) -> dict:
    """Map, copy and evaluate a folder of outside images; returns the summary."""
    from bench.evaluation.evaluate import EvalConfig, evaluate_run

    folder = Path(cfg.folder).resolve()
    eval_cfg = eval_cfg or EvalConfig()
    runs = paths.runs_dir()
    had_runs = runs.is_dir()
    before = set(runs.iterdir()) if had_runs else set()
    run = build_run(FolderConfig(folder, cfg.prompts, cfg.lang, cfg.name, cfg.tier))
    try:
        return evaluate_run(run, eval_cfg)
    except BenchError:
        if run not in before:  # a refusal leaves nothing behind: the copy was made for this call only
            shutil.rmtree(run, ignore_errors=True)
            if not had_runs and not any(runs.iterdir()):
                runs.rmdir()
        raise
