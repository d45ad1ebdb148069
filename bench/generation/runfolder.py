"""The run folder on disk: spec.json, images/<prompt_id>_<sample>.png, per-image records, metadata.jsonl.

An image is finished when its record (.items/<prompt_id>_<sample>.json) exists: the PNG is written first,
atomically, and the record after it, so a kill at any moment leaves either a finished image or nothing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.config import stable_hash
from bench.core.errors import BenchError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def run_id(model: str, prompts: str, lang: str, spec: dict[str, Any]) -> str:
    """<model>-<set>-<lang>-<hash of the spec> (a 'pea:<checkpoint>' model is written 'pea-<checkpoint>')."""
    from bench.models.resolve import slug

    return f"{slug(model)}-{prompts}-{lang}-{spec_hash(spec)}"


def spec_hash(spec: dict[str, Any]) -> str:
    """Hash of the part of the spec that determines the images ('resolved' is derived, not hashed)."""
    return stable_hash({k: v for k, v in spec.items() if k not in ("resolved", "spec_hash")})


def write_spec(run: Path, spec: dict[str, Any]) -> None:
    """Write spec.json, or check that an existing one describes the same run."""
    path = run / paths.RUN_SPEC
    if path.exists():
        old = paths.read_json(path)
        if spec_hash(old) != spec_hash(spec):
            raise BenchError(f"{path} describes a different run (hash {spec_hash(old)}); move the folder away")
        if old.get("resolved") == spec.get("resolved"):
            return
    paths.write_json(path, {**spec, "spec_hash": spec_hash(spec)})


def is_done(run: Path, prompt_id: str, sample: int, size: int | None = None) -> bool:
    """True when the image and its record are both on disk (and, given `size`, the PNG is intact)."""
    image = run / paths.run_image_name(prompt_id, sample)
    if not (paths.run_item_record(run, prompt_id, sample).exists() and image.exists()):
        return False
    return size is None or image_problem(image, size) is None


def image_problem(path: Path, size: int | None = None) -> str | None:
    """Why a finished PNG cannot be used (truncated, corrupt, wrong size), or None when it is intact."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            found = img.size
            # verify() reads every chunk and checks its CRC: a truncated or overwritten file fails here.
            img.verify()
    except FileNotFoundError:
        return "missing"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"corrupt or truncated ({exc})"
    if size is not None and found != (size, size):
        return f"{found[0]}x{found[1]} pixels, not {size}x{size}"
    return None


def drop_broken(run: Path, keys: list[tuple[str, int]], size: int) -> list[tuple[str, int]]:
    """Delete finished-looking images that fail image_problem (and their records); return their keys."""
    broken = []
    for prompt_id, sample in keys:
        record = paths.run_item_record(run, prompt_id, sample)
        image = run / paths.run_image_name(prompt_id, sample)
        if record.exists() and image.exists() and (problem := image_problem(image, size)):
            log.warning("run %s: %s is %s; generating it again", run.name, image.name, problem)
            record.unlink()
            image.unlink()
            broken.append((prompt_id, sample))
    return broken


def clean_partial(run: Path) -> int:
    """Delete temporary files a killed writer left behind (only while holding the run's lock)."""
    # spec.json, metadata.jsonl and timings.json are written at the top, images and records below it.
    stale = [*paths.clean_temps(run), *paths.clean_temps(paths.run_images_dir(run)),
             *paths.clean_temps(Path(run) / ".items")]
    return len(stale)


def save_image(run: Path, image, record: dict[str, Any]) -> None:
    """Write one PNG atomically, then its record (which marks the image finished)."""
    image_path = run / record["file"]
    paths.atomic_write(image_path, lambda tmp: image.save(tmp, format="PNG"))
    # Not fsynced: a record lost with its image is redone; metadata.jsonl, merged from them, is.
    paths.write_text(paths.run_item_record(run, record["prompt_id"], record["sample"]),
                     json.dumps(record, sort_keys=True, ensure_ascii=False), durable=False)


def merge_metadata(run: Path, keys: list[tuple[str, int]]) -> int:
    """Write metadata.jsonl from the finished images' records, in prompt-set order; return the row count."""
    rows = []
    for prompt_id, sample in keys:
        record = paths.run_item_record(run, prompt_id, sample)
        if record.exists() and (run / paths.run_image_name(prompt_id, sample)).exists():
            rows.append(json.loads(record.read_text(encoding="utf-8")))
    paths.write_jsonl(run / paths.RUN_METADATA, rows)
    return len(rows)


def append_timing(run: Path, entry: dict[str, Any]) -> None:
    """Add one invocation's timings to timings.json (kept apart from spec.json: they do not shape images)."""
    path = run / paths.RUN_TIMINGS
    history = paths.read_json(path) if path.exists() else []
    history.append(entry)
    paths.write_json(path, history)


def read_metadata(run: Path) -> list[dict[str, Any]]:
    """The rows of a run's metadata.jsonl."""
    path = Path(run) / paths.RUN_METADATA
    if not path.exists():
        raise BenchError(f"{path} does not exist; run `bench generate` first")
    return paths.read_jsonl(path)
