"""Real tokenizers built offline from vocabulary files that PyPI wheels ship (no model, no hub).

- CLIP (OpenAI CLIP, SD 1.5's and SDXL's text encoders, the English judge): open-clip-torch ships
  open_clip/bpe_simple_vocab_16e6.txt.gz; the vocabulary is built as CLIP builds it (256 byte symbols,
  the same with </w>, the file's first 48,894 merges joined, then the two special tokens: 49,408 entries)
  and written as vocab.json + merges.txt for transformers' CLIPTokenizer.
- Chinese-CLIP: cn-clip ships cn_clip/clip/vocab.txt (its BERT vocabulary, 21,128 entries).

The packages are never imported (their own imports pull models and other dependencies): the files are
found through the installed distributions' metadata.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

from bench.core import paths
from bench.core.errors import BenchError

CLIP_BPE = ("open-clip-torch", "open_clip/bpe_simple_vocab_16e6.txt.gz")
CN_CLIP_VOCAB = ("cn-clip", "cn_clip/clip/vocab.txt")
CLIP_MERGES = 49152 - 256 - 2  # CLIP keeps the file's first 48,894 merges
CLIP_VOCAB_SIZE = 49408


def wheel_file(dist: str, relative: str) -> Path:
    """A file inside an installed distribution, found without importing it; a one-line error when absent."""
    from importlib import metadata

    try:
        path = Path(str(metadata.distribution(dist).locate_file(relative)))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise BenchError(f"{relative} is missing: install the project's dependencies "
                         f"(pip install --no-deps {dist})")
    return path


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible map from bytes to printable unicode characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, (chr(c) for c in chars), strict=True))


def clip_vocab_files(out: Path) -> Path:
    """Write vocab.json + merges.txt (+ tokenizer settings) of CLIP's tokenizer into `out`; returns `out`."""
    bpe = wheel_file(*CLIP_BPE)
    with gzip.open(bpe, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:CLIP_MERGES + 1]]
    symbols = list(_bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    if len(vocab) != CLIP_VOCAB_SIZE:
        raise BenchError(f"{bpe} gives a {len(vocab)}-entry vocabulary, not CLIP's {CLIP_VOCAB_SIZE}")
    out.mkdir(parents=True, exist_ok=True)
    paths.write_text(out / "vocab.json", json.dumps({tok: i for i, tok in enumerate(vocab)}, ensure_ascii=False))
    paths.write_text(out / "merges.txt", "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    paths.write_text(out / "tokenizer_config.json", json.dumps({
        "model_max_length": 77, "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "do_lower_case": True}))
    return out


@functools.cache
def clip_tokenizer():
    """transformers' CLIPTokenizer over CLIP's real vocabulary (built once into the cache)."""
    from transformers import CLIPTokenizer

    folder = paths.cache_dir("tokenizers") / "clip-bpe-16e6"
    if not (folder / "merges.txt").is_file():
        clip_vocab_files(folder)
    return CLIPTokenizer.from_pretrained(str(folder))


@functools.cache
def chinese_clip_tokenizer():
    """transformers' BertTokenizer over Chinese-CLIP's vocabulary (cn_clip's own tokenizer is BERT's)."""
    from transformers import BertTokenizer

    return BertTokenizer(str(wheel_file(*CN_CLIP_VOCAB)), model_max_length=512)


def token_count(tokenizer, text: str) -> int:
    """Tokens of `text` including the start/end (CLS/SEP) tokens the model reads."""
    return len(tokenizer(text, truncation=False, verbose=False)["input_ids"])
