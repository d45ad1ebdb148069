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
