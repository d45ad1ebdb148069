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


# (path, size, mtime, ctime, inode) -> sha256: only spares rehashing an unchanged file in this process; what
# a caller gets is always the content's hash, so a copied or touched file keeps its identity. ctime is in the
# stat key because a write that restores size and mtime (os.utime) still moves it.
_SEEN: dict[tuple[str, int, int, int, int], str] = {}


def content_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read again only when its size, times or inode changed."""
    import os

    st = os.stat(path)
    seen = (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if seen not in _SEEN:
        if len(_SEEN) > 1 << 16:  # a long-lived server: bounded, a miss only costs a read
            _SEEN.clear()
        _SEEN[seen] = sha256_file(Path(path))
    return _SEEN[seen]
