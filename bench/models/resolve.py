"""Model arguments beyond registry names: `zoo:<name>`, hub ids, local diffusers/transformers folders and
checkpoint paths, with what can be inferred from their files (a pipeline folder's family from model_index.json).

The registries' lookups (bases.base_from_argument, encoders.student_from_argument,
pipelines.system_from_argument) use these on a name they do not know; what resolves is registered under the
argument itself, so later lookups by the same string (a checkpoint's config.json records it) find it again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError

PIPELINE_FAMILIES = {"StableDiffusionXLPipeline": "sdxl", "StableDiffusionPipeline": "sd15"}
# transformers model_type -> student encoder family (bench.models.encoders.FAMILIES)
ENCODER_FAMILIES = {"chinese_clip": "chinese-clip", "altclip": "altclip", "mt5": "mt5"}


def slug(value: str) -> str:
    """A model argument as one safe file-name component ('zoo:tiny-sd15' -> 'zoo-tiny-sd15', a folder -> its name)."""
    if Path(value).exists():
        value = Path(value).resolve().name
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-.") or "model"
    return text[:80]


def looks_like_model(value: str) -> bool:
    """True for arguments that can only be models: zoo:, a path, or a hub id org/name."""
    return value.startswith("zoo:") or Path(value).exists() or bool(re.fullmatch(r"[\w.-]+/[\w.-]+", value))


def local_folder(model_id: str, probe: str) -> Path | None:
    """The folder holding the model's files here (zoo build, local folder or HF cache), or None."""
    from bench.models import weights

    if not weights.available_offline(model_id, probe):
        return None
    folder = Path(weights.load_path(model_id, probe))
    return folder if folder.is_dir() else None


def tier_of(model_id: str) -> str:
    return "tiny" if model_id.startswith("zoo:") else "real"


def not_found(kind: str, value: str, probe: str) -> BenchError:
    from bench.core.errors import NotAvailableOffline

    return NotAvailableOffline(f"{kind} '{value}' is neither a registered name nor a folder with {probe} here "
                               f"(zoo:<name>, a local folder, or a hub id cached once with HF_HUB_OFFLINE=0)")


def is_checkpoint(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("adapter.*"))


def default_checkpoint(name: str, base: str, lang: str) -> Path | None:
    """What `bench train --lang <lang> --base <base>` wrote without --name: the newest pea-<lang>-<slug(base)>-*."""
    root = paths.checkpoints_dir()
    prefix = f"pea-{lang}-{slug(base)}-"
    found: list[tuple[float, Path]] = []
    for folder in root.glob(f"{prefix}*") if root.is_dir() else []:
        config_file = folder / "config.json"
        if not config_file.is_file():
            continue
        try:
            config: dict[str, Any] = paths.read_json(config_file)
        except BenchError:
            continue
        if config.get("lang") == lang and config.get("base") == base:
            found.append((config_file.stat().st_mtime, folder))
    return max(found)[1] if found else None
