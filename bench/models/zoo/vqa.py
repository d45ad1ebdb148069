"""A tiny random-weight Qwen2.5-VL (the VQA judge's architecture) with a byte-level tokenizer and chat template
made offline, saved as a model + processor folder that the real loading code reads.

The tokenizer is Qwen2's (byte-level BPE, Qwen's pre-tokenizer) over the 256 byte symbols, with merges that
make the answer words one token each, and Qwen's special tokens; the chat template writes the same
`<|im_start|>role ... <|im_end|>` turns, with the image as `<|vision_start|><|image_pad|><|vision_end|>`.
"""

from __future__ import annotations

from pathlib import Path

from bench.models.zoo import component

IMAGE_SIZE = 32
PATCH = 4  # 32 px images -> 8 x 8 patches -> 4 x 4 = 16 image tokens after the 2 x 2 merge
ANSWER_WORDS = ("Yes", "No", "yes", "no")
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|image_pad|>", "<|video_pad|>")
SYSTEM = "You are a helpful assistant."

# Qwen's chat layout: a system turn unless the messages bring one, then each turn; an image part is its three
# vision tokens; add_generation_prompt opens the assistant turn (the judge reads the next token's logits).
CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\n" + SYSTEM + "<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def byte_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE vocabulary and merges: every byte symbol, and each answer word merged into one token."""
    from tokenizers import pre_tokenizers

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    merges: list[tuple[str, str]] = []
    for word in ANSWER_WORDS:
        cur = word[0]
        for ch in word[1:]:
            if (cur, ch) not in merges:
                merges.append((cur, ch))
            cur += ch
            vocab.setdefault(cur, len(vocab))
    for token in SPECIALS:
        vocab[token] = len(vocab)
    return vocab, merges


def tiny_tokenizer():
    """A Qwen2Tokenizer over bytes with Qwen's special tokens and the chat template."""
    from transformers import Qwen2Tokenizer

    vocab, merges = byte_vocab()
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, model_max_length=4096, padding_side="left")
    tok.add_special_tokens({"additional_special_tokens": [t for t in SPECIALS if t != "<|endoftext|>"]})
    tok.chat_template = CHAT_TEMPLATE
    return tok


def tiny_config(tokenizer):
    """A 2-layer Qwen2.5-VL config whose special token ids are the tokenizer's."""
    from transformers import Qwen2_5_VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIALS}
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                rope_scaling={"type": "mrope", "mrope_section": [2, 1, 1]}, tie_word_embeddings=False,
                bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=4, out_hidden_size=32,
                  patch_size=PATCH, spatial_merge_size=2, temporal_patch_size=2, in_channels=3, window_size=16,
                  fullatt_block_indexes=[1])
    return Qwen2_5_VLConfig(
        text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"], bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=False)


def tiny_processor(tokenizer):
    """Qwen2.5-VL's processor with its image processor at the tiny patch size (32 px -> 16 image tokens)."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    pixels = IMAGE_SIZE * IMAGE_SIZE
    sizes = dict(patch_size=PATCH, temporal_patch_size=2, merge_size=2, min_pixels=pixels, max_pixels=pixels)
    image = Qwen2VLImageProcessor(**sizes)
    video = Qwen2VLVideoProcessor(**sizes)
    return Qwen2_5_VLProcessor(image_processor=image, tokenizer=tokenizer, video_processor=video,
                               chat_template=CHAT_TEMPLATE)


@component("tiny-qwen2.5-vl", version=1)
def build_tiny_qwen25_vl(folder: Path) -> None:
    """A Qwen2_5_VLForConditionalGeneration + Qwen2_5_VLProcessor folder with random weights."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    tokenizer = tiny_tokenizer()
    torch.manual_seed(21)
    model = Qwen2_5_VLForConditionalGeneration(tiny_config(tokenizer))
    model.save_pretrained(folder, safe_serialization=True)
    tiny_processor(tokenizer).save_pretrained(folder)
