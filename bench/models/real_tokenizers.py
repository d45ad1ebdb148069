"""The real tokenizers of the full-size models, built offline from the vocabularies their wheels ship."""

from __future__ import annotations

import gzip
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from bench import paths
from bench.errors import BenchError

CLIP_MAX_LENGTH = 77  # CLIP text towers' position table
CN_CLIP_CONTEXT = 52  # cn_clip.clip.tokenize's default context length


def package_file(package: str, relative: str, pip_name: str) -> Path:
    """A data file inside an installed package, found without importing it (their imports are heavy)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BenchError(f"the {pip_name} package is not installed; pip install {pip_name} (it ships the vocabulary)")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise BenchError(f"{pip_name} is installed but lacks {relative}; reinstall it")
    return path


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


@lru_cache(maxsize=1)
def clip_bpe_folder() -> Path:
    """vocab.json + merges.txt of CLIP's BPE (49,408 tokens), written once under the cache from open_clip's file."""
    source = package_file("open_clip", "bpe_simple_vocab_16e6.txt.gz", "open-clip-torch")
    with gzip.open(source) as handle:
        lines = handle.read().decode("utf-8").split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]  # what CLIP uses: 48,894 merges
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder = paths.cache_dir("tokenizers") / "clip-bpe-49408"
    if not (folder / "merges.txt").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        paths.write_text(folder / "vocab.json", json.dumps({tok: i for i, tok in enumerate(vocab)}))
        paths.write_text(folder / "merges.txt", "#version: 0.2\n" + "\n".join(merges) + "\n")
    return folder


def clip_tokenizer(pad_token: str = "<|endoftext|>"):
    """CLIP's tokenizer as SD 1.5 / SDXL ship it (SDXL's tokenizer_2 pads with "!")."""
    from transformers import CLIPTokenizer

    folder = clip_bpe_folder()
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token=pad_token,
                         model_max_length=CLIP_MAX_LENGTH)


def chinese_clip_tokenizer(max_length: int = CN_CLIP_CONTEXT):
    """Chinese-CLIP's BERT WordPiece tokenizer (21,128 tokens) from the cn-clip wheel's vocab.txt."""
    from transformers import BertTokenizer

    vocab = package_file("cn_clip", "clip/vocab.txt", "cn-clip")
    return BertTokenizer(str(vocab), do_lower_case=True, model_max_length=max_length)
