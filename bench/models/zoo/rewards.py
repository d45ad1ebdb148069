"""Tiny random-weight reward judges: PickScore (a CLIPModel folder), ImageReward (the ported BLIP network with
a WordPiece vocabulary made offline) and HPS v2.1 (an open_clip model with open_clip's own BPE tokenizer)."""

from __future__ import annotations

import json
import string
from pathlib import Path

from bench.models.zoo import component

IMAGE_SIZE = 32


@component("tiny-pickscore", version=1)
def build_tiny_pickscore(folder: Path) -> None:
    """A CLIPModel + CLIPProcessor folder laid out like PickScore_v1 plus its processor (77 tokens)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from bench.models.zoo.tokenizers import clip_tokenizer, clip_vocab

    vocab, _ = clip_vocab()
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
                bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                pad_token_id=vocab["<|endoftext|>"])
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  image_size=IMAGE_SIZE, patch_size=8, projection_dim=32)
    torch.manual_seed(21)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32))
    model.save_pretrained(folder, safe_serialization=True)
    images = CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    CLIPProcessor(image_processor=images, tokenizer=clip_tokenizer()).save_pretrained(folder)


def wordpiece_vocab() -> list[str]:
    """BERT specials, then lower-case letters, digits and punctuation, alone and as word continuations."""
    chars = string.ascii_lowercase + string.digits + string.punctuation
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]


TINY_TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=40, layer_norm_eps=1e-12, pad_token_id=0)
TINY_VISION = dict(image_size=IMAGE_SIZE, patch_size=8, width=48, layers=2, heads=4)


@component("tiny-imagereward", version=1)
def build_tiny_imagereward(folder: Path) -> None:
    """model.safetensors of the ported network, med_config.json, config.json (the ViT) and a BLIP tokenizer."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertTokenizer

    from bench.models.blip import ImageRewardNet, TextConfig, VisionConfig, blip_tokenizer

    (folder / "vocab.txt").write_text("\n".join(wordpiece_vocab()) + "\n", encoding="utf-8")
    BertTokenizer(str(folder / "vocab.txt"), model_max_length=TINY_TEXT["max_position_embeddings"]).save_pretrained(folder)
    tokenizer = blip_tokenizer(str(folder))
    tokenizer.save_pretrained(folder)
    med = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "add_cross_attention": True,
           "vocab_size": len(tokenizer), **TINY_TEXT}
    (folder / "med_config.json").write_text(json.dumps(med, indent=1))
    (folder / "config.json").write_text(json.dumps({"architecture": "ImageReward", "vision": TINY_VISION}, indent=1))
    vision = VisionConfig(**TINY_VISION)
    torch.manual_seed(22)
    net = ImageRewardNet(vision, TextConfig.from_dict(med, encoder_width=vision.width))
    for p in net.parameters():  # timm's ViT starts its LayerNorms at 1/0: random ones exercise them too
        torch.nn.init.normal_(p, std=0.2)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(folder / "model.safetensors"))


TINY_OPEN_CLIP = {"embed_dim": 32,
                  "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 2, "width": 32, "head_width": 8, "patch_size": 8},
                  "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 2}}


@component("tiny-hpsv2", version=1)
def build_tiny_hpsv2(folder: Path) -> None:
    """open_clip_config.json (a ViT-H-14-shaped config at toy size) + open_clip_model.safetensors."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(23)
    model = open_clip.CLIP(**TINY_OPEN_CLIP)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_OPEN_CLIP}, indent=1))
    (folder / "config.json").write_text(json.dumps({"architecture": "open_clip", "name": "tiny ViT-H-14"}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
