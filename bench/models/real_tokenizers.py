"""The full-size models' tokenizers as their checkpoint folders configure them, over bench.models.offline_tokenizers'
vocabularies (built from the open-clip-torch and cn-clip wheels' files, no hub)."""

from __future__ import annotations

from bench.core import paths

CLIP_MAX_LENGTH = 77  # CLIP text towers' position table
CN_CLIP_CONTEXT = 52  # cn_clip.clip.tokenize's default context length


def clip_tokenizer(pad_token: str = "<|endoftext|>"):
    """CLIP's tokenizer as SD 1.5 / SDXL ship it (SDXL's tokenizer_2 pads with "!")."""
    from transformers import CLIPTokenizer

    from bench.models.offline_tokenizers import clip_vocab_files

    folder = paths.cache_dir("tokenizers") / "clip-bpe-16e6"
    if not (folder / "merges.txt").is_file():
        clip_vocab_files(folder)
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token=pad_token,
                         model_max_length=CLIP_MAX_LENGTH)


def chinese_clip_tokenizer(max_length: int = CN_CLIP_CONTEXT):
    """Chinese-CLIP's BERT WordPiece tokenizer (21,128 tokens), cut to cn_clip's 52-token context."""
    from transformers import BertTokenizer

    from bench.models.offline_tokenizers import CN_CLIP_VOCAB, wheel_file

    return BertTokenizer(str(wheel_file(*CN_CLIP_VOCAB)), do_lower_case=True, model_max_length=max_length)
