"""Tiny judges for offline evaluation: CLIP and AltCLIP with random weights, and an Inception-like extractor.

The judges are saved with save_pretrained so the same from_pretrained code that loads
openai/clip-vit-large-patch14 or BAAI/AltCLIP-m18 loads them. The multilingual tokenizer is a
character-level unigram vocabulary over the scripts of the toolkit's languages, built without data.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.models.zoo import component
from bench.models.zoo.tokenizers import clip_tokenizer, clip_vocab

# Unicode blocks the character vocabulary covers: Latin, Greek, Cyrillic, kana, CJK, Hangul, full-width forms.
_BLOCKS = (
    (0x21, 0x7F), (0xA1, 0x250), (0x370, 0x400), (0x400, 0x530), (0x3000, 0x3100),
    (0x4E00, 0xA000), (0xAC00, 0xD7A4), (0xFF01, 0xFFF0),
)
TEXT_CONTEXT = 64  # tokens, so long prompts get truncated and counted as they would with real judges
IMAGE_SIZE = 32
FEATURE_DIM = 64  # width of the tiny Inception-like features


def multilingual_vocab() -> list[tuple[str, float]]:
    """XLM-R-style unigram vocabulary: specials, the word marker, then one piece per character."""
    chars = [chr(c) for start, stop in _BLOCKS for c in range(start, stop) if not chr(c).isspace()]
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    return specials + [(ch, -5.0) for ch in chars] + [("<mask>", 0.0)]


def multilingual_tokenizer():
    """An XLMRobertaTokenizer that reads every script of the toolkit's languages, character by character."""
    from transformers import XLMRobertaTokenizer

    return XLMRobertaTokenizer(vocab=multilingual_vocab(), model_max_length=TEXT_CONTEXT)


def _vision_config() -> dict:
    return dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                image_size=IMAGE_SIZE, patch_size=8, projection_dim=32)


def _image_processor():
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


@component("tiny-clip-judge", version=1)
def build_tiny_clip_judge(folder: Path) -> None:
    """An English CLIPModel + CLIPProcessor folder (character-level byte BPE, 77-token context)."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    vocab, _ = clip_vocab()
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
                bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                pad_token_id=vocab["<|endoftext|>"])
    torch.manual_seed(10)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=_vision_config(), projection_dim=32))
    model.save_pretrained(folder, safe_serialization=True)
    CLIPProcessor(image_processor=_image_processor(), tokenizer=clip_tokenizer()).save_pretrained(folder)


@component("tiny-altclip-judge", version=1)
def build_tiny_altclip_judge(folder: Path) -> None:
    """A multilingual AltCLIPModel + AltCLIPProcessor folder (XLM-R tokenizer over a character vocabulary)."""
    import torch
    from transformers import AltCLIPConfig, AltCLIPModel, AltCLIPProcessor

    text = dict(vocab_size=len(multilingual_vocab()), hidden_size=32, intermediate_size=64,
                num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=TEXT_CONTEXT + 8,
                project_dim=32, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(11)
    model = AltCLIPModel(AltCLIPConfig(text_config=text, vision_config=_vision_config(), projection_dim=32))
    model.save_pretrained(folder, safe_serialization=True)
    AltCLIPProcessor(image_processor=_image_processor(), tokenizer=multilingual_tokenizer()).save_pretrained(folder)


def _tiny_inception_class():
    """Define the module lazily so importing the zoo never imports torch."""
    import torch
    from torch import nn

    class TinyInception(nn.Module):
        """Three strided convolutions and a global average pool: clean-fid's interface at toy size.

        Takes float images in 0..255 (clean-fid's convention), any size; resizes to 299 inside as
        clean-fid's legacy_tensorflow network does, so every clean-fid mode can use it.
        """

        def __init__(self, dim: int = FEATURE_DIM) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Conv2d(3, 16, 8, stride=4), nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),
                nn.Conv2d(32, dim, 3, stride=2), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-2:] != (299, 299):
                x = nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            return self.net(x / 127.5 - 1.0)

    return TinyInception


@component("tiny-inception", version=1)
def build_tiny_inception(folder: Path) -> None:
    """Weights (safetensors) and config.json of the tiny Inception-like feature extractor."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(12)
    model = _tiny_inception_class()(FEATURE_DIM)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"architecture": "TinyInception", "dim": FEATURE_DIM}))


def load_tiny_inception(folder: Path):
    """Load the tiny extractor from its folder, in eval mode on the CPU."""
    from safetensors.torch import load_file

    config = json.loads((Path(folder) / "config.json").read_text())
    model = _tiny_inception_class()(config["dim"])
    model.load_state_dict(load_file(str(Path(folder) / "model.safetensors")))
    return model.eval()
