"""A tiny random-weight M2M100 translator whose sentencepiece tokenizer is trained offline on the sample."""

from __future__ import annotations

import json
from pathlib import Path

from bench.models.zoo import component
from bench.models.zoo.tokenizers import sentencepiece_model

# Used when corpora/sample is missing (an installed package without the repository's data folder).
_FALLBACK_LINES = (
    "a dog runs on the beach", "一只狗在海滩上奔跑", "해변에서 달리는 개", "浜辺を走る犬",
    "собака бежит по пляжу", "un cane corre sulla spiaggia",
)


def _training_lines() -> list[str]:
    """Every caption of the shipped sample, all languages, in file order (deterministic)."""
    from bench.core import paths

    path = paths.shipped_sample_captions()
    if not path.exists():
        return list(_FALLBACK_LINES)
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            lines.extend(v for k, v in row.items() if k not in {"id", "source", "image"} and isinstance(v, str))
    return lines


@component("tiny-translator", version=1)
def build_tiny_translator(folder: Path) -> None:
    """An M2M100ForConditionalGeneration (d_model 32, one layer each side) with an M2M100Tokenizer folder."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    lines = _training_lines()
    # Full character coverage needs a piece per distinct character (CJK brings ~1500), plus room for merges.
    spm_bytes = sentencepiece_model(lines, vocab_size=len(set("".join(lines))) + 400)
    spm_file = folder / "sentencepiece.bpe.model"
    spm_file.write_bytes(spm_bytes)

    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=spm_bytes)
    # fairseq's dictionary order: the four specials first, then the pieces.
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(processor.get_piece_size()):
        vocab.setdefault(processor.id_to_piece(i), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")

    tokenizer = M2M100Tokenizer(vocab_file=str(folder / "vocab.json"), spm_file=str(spm_file))
    n_languages, n_madeup = 100, 8  # M2M100 appends its language tokens and 8 spare words after the vocab
    config = M2M100Config(
        vocab_size=len(vocab) + n_languages + n_madeup, d_model=32, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_position_embeddings=128, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        scale_embedding=True, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
    )
    torch.manual_seed(0)
    model = M2M100ForConditionalGeneration(config).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
