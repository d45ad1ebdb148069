"""Content hashes of files: the one streaming SHA-256 every stage uses for weights, shards, images and data."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

CHUNK = 1 << 22  # 4 MiB reads: large weight files stream without loading


def _name_label(path: Path) -> bytes:
    return path.name.encode() + b"\0"


def sha256_files(files: Iterable[Path], label: Callable[[Path], bytes] = _name_label) -> str:
    """Hex SHA-256 over, for each file in order, label(file) then its bytes (by default the name and a NUL,
    so a rename changes the hash)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(label(Path(path)))
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of one file's bytes."""
    return sha256_files([path], label=lambda _: b"")
