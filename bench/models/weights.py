"""Where a system's weights are and what exactly they are: content fingerprints and offline availability."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.core import paths
from bench.core.errors import NotAvailableOffline
from bench.models import zoo

# Files whose content decides what a model computes (weights, configs, tokenizer tables).
_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".json", ".txt", ".model", ".pt", ".pth", ".ckpt"}


def is_local(model_id: str) -> bool:
    """True for a zoo component or an existing local folder/file."""
    return zoo.is_zoo(model_id) or Path(model_id).exists()


def hub_snapshot(repo_id: str, probe: str = "model_index.json") -> Path | None:
    """The cached snapshot folder of a hub repository, or None when it is not in the local HF cache."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.utils import HFValidationError

    for filename in (probe, "config.json", "README.md"):
        try:
            found = try_to_load_from_cache(repo_id, filename)
        except HFValidationError:  # '../x' and the like can be no repository: not in the cache either
            return None
        if isinstance(found, str):
            return Path(found).parent
    return None


def available_offline(model_id: str, probe: str = "model_index.json") -> bool:
    """True when the weights can be loaded without the hub: zoo, local folder, or HF cache."""
    return is_local(model_id) or hub_snapshot(model_id, probe) is not None


def require_offline(model_id: str, what: str, probe: str = "model_index.json") -> None:
    """Raise NotAvailableOffline with what to do when `model_id` cannot be loaded here."""
    if not available_offline(model_id, probe):
        raise NotAvailableOffline(
            f"{what} weights '{model_id}' are not available offline: download them where the hub is "
            f"reachable (huggingface-cli download {model_id}) or pass a local folder"
        )


def load_path(model_id: str, probe: str = "model_index.json") -> str:
    """What to hand to from_pretrained: the built zoo folder, the local folder, or the cached snapshot."""
    if zoo.is_zoo(model_id):
        return zoo.resolve(model_id)
    if Path(model_id).exists():
        return str(Path(model_id).resolve())
    snapshot = hub_snapshot(model_id, probe)
    return str(snapshot) if snapshot is not None else model_id


def fingerprint(model_id: str, probe: str = "model_index.json") -> dict:
    """Identity of weights for a run spec: content hash for local folders, snapshot commit for hub ids."""
    if is_local(model_id):
        folder = Path(load_path(model_id))
        return {"id": model_id, "sha256": folder_hash(folder)}
    snapshot = hub_snapshot(model_id, probe)
    if snapshot is None:
        require_offline(model_id, "model", probe)
    return {"id": model_id, "revision": snapshot.name}


# Bumped when what folder_hash reads changes, so fingerprints cached by an older rule are not reused.
_HASH_VERSION = 2
# Keys that save_pretrained writes about where a model came from, not what it computes: diffusers and
# transformers set _name_or_path to the absolute folder it was loaded from, which would make identity
# depend on the checkout's location.
_PROVENANCE_KEYS = frozenset({"_name_or_path"})


def _json_content(path: Path) -> bytes:
    """A JSON file's bytes for hashing, with provenance keys (at any depth) left out."""
    import json

    raw = path.read_bytes()
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw

    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in _PROVENANCE_KEYS}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return json.dumps(strip(value), sort_keys=True, ensure_ascii=False).encode()


def folder_hash(folder: Path) -> str:
    """SHA-256 over (relative path, content) of every weight/config file, cached by size and mtime.

    JSON files count by their parsed content without provenance keys (_PROVENANCE_KEYS).
    """
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix in _WEIGHT_SUFFIXES and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    stats = [(str(p.relative_to(folder)) if p != folder else p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = hashlib.sha256(repr((_HASH_VERSION, str(folder.resolve()), stats)).encode()).hexdigest()[:32]
    cached = paths.cache_dir("fingerprints") / f"{key}.txt"
    if cached.exists():
        return cached.read_text().strip()
    digest = hashlib.sha256()
    for p, (rel, _size, _mtime) in zip(files, stats, strict=True):
        digest.update(rel.encode() + b"\0")
        if p.suffix == ".json":
            digest.update(_json_content(p))
            continue
        with open(p, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    value = digest.hexdigest()
    paths.write_text(cached, value + "\n")
    return value

