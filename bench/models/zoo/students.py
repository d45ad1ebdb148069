"""Tiny multilingual student encoders with tokenizers trained offline on a few lines written here."""

from __future__ import annotations

from pathlib import Path

from bench.models.zoo import component
from bench.models.zoo.tokenizers import sentencepiece_model

# Short captions in the languages the paper trains (zh, ko, ja, ru, it) plus English, so every script
# has pieces in the vocabulary; the content only shapes the tokenizer, never a result.
LINES = (
    "a cat sitting on a red mat", "two dogs running on the beach", "a bowl of noodles with chopsticks",
    "一只猫坐在红色的垫子上", "两只狗在海滩上奔跑", "一碗面条和一双筷子", "长城上的日出", "春节的红灯笼",
    "빨간 매트 위에 앉아 있는 고양이", "해변을 달리는 두 마리의 개", "김치와 밥 한 그릇",
    "赤いマットの上に座っている猫", "浜辺を走る二匹の犬", "桜の木の下の寺",
    "кошка сидит на красном коврике", "две собаки бегут по пляжу", "собор на красной площади",
    "un gatto seduto su un tappeto rosso", "due cani che corrono sulla spiaggia", "una pizza margherita",
)


def sentencepiece_vocab(model: bytes) -> list[tuple[str, float]]:
    """XLM-R's vocabulary layout from a sentencepiece model: <s> <pad> </s> <unk>, the pieces, <mask>."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model)
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())
              if not (sp.is_control(i) or sp.is_unknown(i))]
    return specials + pieces + [("<mask>", 0.0)]


@component("tiny-xlmr", version=1)
def build_tiny_xlmr(folder: Path) -> None:
    """An XLM-R-like encoder (48-d, 2 layers) with a sentencepiece unigram tokenizer; AutoModel loads it."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizer

    # transformers 5's vocab_file= route yields a 5-token vocabulary; pass the pieces themselves.
    tokenizer = XLMRobertaTokenizer(vocab=sentencepiece_vocab(sentencepiece_model(LINES, vocab_size=300)),
                                    model_max_length=16)
    torch.manual_seed(4)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=96, max_position_embeddings=16 + 2, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    XLMRobertaModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
