"""Model arguments beyond registry names: `zoo:<name>`, hub ids, local diffusers/transformers folders and
checkpoint paths, with what can be inferred from their files (a pipeline folder's family from model_index.json).

The registries call these on a name they do not know; what resolves is registered under the argument itself,
so later lookups by the same string (a checkpoint's config.json records it) find it again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench import paths
from bench.errors import BenchError

_PIPELINE_FAMILIES = {"StableDiffusionXLPipeline": "sdxl", "StableDiffusionPipeline": "sd15"}
# transformers model_type -> student encoder family (bench.models.encoders.FAMILIES)
_ENCODER_FAMILIES = {"chinese_clip": "chinese-clip", "altclip": "altclip", "mt5": "mt5"}


def slug(value: str) -> str:
    """A model argument as one safe file-name component ('zoo:tiny-sd15' -> 'zoo-tiny-sd15', a folder -> its name)."""
    if Path(value).exists():
        value = Path(value).resolve().name
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-.") or "model"
    return text[:80]


def looks_like_model(value: str) -> bool:
    """True for arguments that can only be models: zoo:, a path, or a hub id org/name."""
    return value.startswith("zoo:") or Path(value).exists() or bool(re.fullmatch(r"[\w.-]+/[\w.-]+", value))


def _local_folder(model_id: str, probe: str) -> Path | None:
    """The folder holding the model's files here (zoo build, local folder or HF cache), or None."""
    from bench.models import weights

    if not weights.available_offline(model_id, probe):
        return None
    folder = Path(weights.load_path(model_id, probe))
    return folder if folder.is_dir() else None


def _tier(model_id: str) -> str:
    return "tiny" if model_id.startswith("zoo:") else "real"


def _not_found(kind: str, value: str, probe: str) -> BenchError:
    from bench.errors import NotAvailableOffline

    return NotAvailableOffline(f"{kind} '{value}' is neither a registered name nor a folder with {probe} here "
                               f"(zoo:<name>, a local folder, or a hub id cached once with HF_HUB_OFFLINE=0)")


def base_from_argument(value: str):
    """A BaseModel for `zoo:<name>`, a hub id or a local diffusers pipeline folder (family from model_index.json)."""
    from bench.models.bases import BASES, BaseModel

    for _, base in BASES.items():  # a registered base's own model id is that base
        if base.model_id == value or (Path(value).exists() and Path(base.model_id).exists()
                                      and Path(value).resolve() == Path(base.model_id).resolve()):
            return base
    folder = _local_folder(value, "model_index.json")
    if folder is None or not (folder / "model_index.json").is_file():
        raise _not_found("base model", value, "model_index.json")
    index = paths.read_json(folder / "model_index.json")
    family = _PIPELINE_FAMILIES.get(index.get("_class_name", ""))
    if family is None:
        raise BenchError(f"{value}: model_index.json names {index.get('_class_name')!r}; a base must be one of "
                         f"{', '.join(_PIPELINE_FAMILIES)}")
    unet = paths.read_json(folder / "unet" / "config.json")
    vae = paths.read_json(folder / "vae" / "config.json")
    scale = 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)
    sample = unet.get("sample_size", 64)
    resolution = (sample[0] if isinstance(sample, list) else sample) * scale
    pooled = None
    if family == "sdxl":
        pooled = paths.read_json(folder / "text_encoder_2" / "config.json").get("projection_dim")
    name = str(Path(value).resolve()) if Path(value).exists() else value
    return BASES.register(name, BaseModel(name, name, family, _tier(value), int(resolution),
                                          int(unet["cross_attention_dim"]), pooled))


def student_from_argument(value: str):
    """A StudentSpec for `zoo:<name>`, a hub id or a local transformers folder (family and width from config.json)."""
    from bench.models.encoders import STUDENT_ENCODERS, StudentSpec, register_student

    for _, spec in STUDENT_ENCODERS.items():
        if spec.model_id == value:
            return spec
    folder = _local_folder(value, "config.json")
    if folder is None or not (folder / "config.json").is_file():
        raise _not_found("student encoder", value, "config.json")
    config = paths.read_json(folder / "config.json")
    family = _ENCODER_FAMILIES.get(config.get("model_type", ""), "auto")
    text = config.get("text_config") or {}
    if family == "altclip":
        width = text.get("project_dim") or text.get("hidden_size")
    elif family == "mt5":
        width = config.get("d_model")
    else:
        width = text.get("hidden_size") or config.get("hidden_size") or config.get("d_model")
    if not width:
        raise BenchError(f"{value}: cannot tell the encoder's state width from config.json")
    name = str(Path(value).resolve()) if Path(value).exists() else value
    return register_student(StudentSpec(name, name, family, int(width), hidden_dim=1024 if family == "chinese-clip"
                                        else 2048, tier=_tier(value)))


def _is_checkpoint(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("adapter.*"))


def system_from_argument(value: str):
    """A SystemSpec for a checkpoint folder (or pea:<path>), a diffusers pipeline folder or a cached hub id."""
    from bench.models.pipelines import CHECKPOINT_PREFIX, SystemSpec
    from bench.models.pipelines import checkpoint_system as named_checkpoint

    raw = value[len(CHECKPOINT_PREFIX):] if value.startswith(CHECKPOINT_PREFIX) else value
    if Path(raw).is_dir() and _is_checkpoint(Path(raw)):
        return checkpoint_folder_system(Path(raw))
    if value.startswith(CHECKPOINT_PREFIX):
        return named_checkpoint(raw)
    folder = _local_folder(value, "model_index.json")
    if folder is None or not (folder / "model_index.json").is_file():
        raise _not_found("model", value, "model_index.json (or a bench train checkpoint)")
    index = paths.read_json(folder / "model_index.json")
    base = None
    if index.get("_class_name") in _PIPELINE_FAMILIES:
        base = base_from_argument(value)
    resolution = base.resolution if base else 512
    name = str(Path(value).resolve()) if Path(value).exists() else value
    return SystemSpec(name, "public", _tier(value), model_id=name, pipeline=index["_class_name"],
                      resolution=resolution, description=f"pipeline {index['_class_name']} from {slug(value)}")


def checkpoint_folder_system(folder: Path):
    """A pea system for a checkpoint folder anywhere (its config.json names base and language)."""
    from bench.models.bases import get_base
    from bench.models.pipelines import CHECKPOINT_PREFIX, SystemSpec

    folder = folder.resolve()
    config = paths.read_json(folder / "config.json")
    if not config.get("lang") or not config.get("base"):
        raise BenchError(f"{folder / 'config.json'} does not name its base and lang")
    base = get_base(config["base"])
    return SystemSpec(f"{CHECKPOINT_PREFIX}{folder}", "pea", base.tier, base=base.name, languages=(config["lang"],),
                      checkpoint=str(folder), description=f"{base.name} + PEA checkpoint {folder.name}")


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
