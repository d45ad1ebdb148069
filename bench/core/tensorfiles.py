"""Safetensors files with a canonical header: equal tensors and metadata always give equal bytes.

safetensors writes its metadata map in hash order, which changes from process to process; the header is
rewritten here with the metadata keys sorted, so a saved file can be compared and cached by its hash.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from bench.core.writes import atomic_write

_META = "__metadata__"


def canonical_bytes(tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors serialisation of `tensors` (torch) with the metadata keys in sorted order."""
    from safetensors.torch import save

    data = save(tensors, metadata=metadata)
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    ordered: dict[str, Any] = {}
    if _META in header:
        ordered[_META] = dict(sorted(header.pop(_META).items()))
    ordered.update(header)  # tensor entries keep safetensors' own (deterministic) order: offsets refer to it
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned, as safetensors pads it
    return struct.pack("<Q", len(text)) + text + data[8 + length:]


def save_tensors(path: Path, tensors: dict[str, Any], metadata: dict[str, str] | None = None,
                 durable: bool = True) -> Path:
    """Atomically write `tensors` as a canonical safetensors file."""
    data = canonical_bytes(tensors, metadata)
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), durable=durable)


def read_npz(path: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """The named arrays of a .npz file; a pickle, a broken archive or a missing array is a one-line error."""
    import zipfile

    import numpy as np

    from bench.core.errors import BenchError

    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
        if head[:1] == b"\x80":  # a pickle's protocol opcode: never unpickled
            raise BenchError(f"{path}: refused: the file holds pickled Python objects; pea-bench reads arrays "
                             "only (build it again with bench refstats build)")
        if not head.startswith((b"PK", b"\x93NUMPY")):
            raise BenchError(f"{path}: not a .npz array file (it starts with {head!r}); build it again")
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise BenchError(f"{path}: a single .npy array, not a .npz archive of {', '.join(names)}")
            missing = [n for n in names if n not in data.files]
            if missing:
                raise BenchError(f"{path}: no array {', '.join(missing)} (it holds {', '.join(data.files) or 'none'}); "
                                 "build it again")
            return {n: data[n] for n in names}
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist") from None
    except ValueError as exc:
        if "pickle" in str(exc):
            raise BenchError(f"{path}: refused: the file holds pickled Python objects; pea-bench reads arrays "
                             "only (build it again with bench refstats build)") from None
        raise BenchError(f"{path}: not a .npz array file ({' '.join(str(exc).split())[:120]})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BenchError(f"{path}: not a .npz array file or truncated ({' '.join(str(exc).split())[:120]}); "
                         "build it again") from None
