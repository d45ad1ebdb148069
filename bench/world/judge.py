"""A tiny multilingual CLIP trained on the world (judge for CLIP score, CMMD, culture accuracy; features for FID).

Rebuild the shipped weights (a few minutes on one CPU thread):
    python -m bench.world.judge --out bench/world/weights/world-clip
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.core import paths
from bench.world import captions, draw

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parent / "weights" / "world-clip"
WIDTH = 64
MAX_TOKENS = 32


@dataclass(frozen=True)
class JudgeConfig:
    """Everything that determines the trained world CLIP."""

    seed: int = 0
    steps: int = 800
    batch: int = 128
    lr: float = 2e-3
    warmup: int = 50
    label_share: float = 0.2  # texts that are a bare object name (culture accuracy reads such labels)


def build_tokenizer():
    """XLM-R-style sentencepiece tokenizer over world captions in every language; </s> is id 3, not 2.

    CLIP's text pooling treats eos id 2 as a legacy checkpoint and pools at the largest id instead.
    """
    from transformers import XLMRobertaTokenizer

    from bench.models.zoo.students import sentencepiece_vocab
    from bench.models.zoo.tokenizers import sentencepiece_model

    lines = sorted({captions.caption(s, lang, t) for s in draw.all_scenes(jitter=False)
                    for lang in captions.LANGS for t in range(captions.N_TEMPLATES)})
    vocab = sentencepiece_vocab(sentencepiece_model(lines, vocab_size=300, user_symbols=captions.native_words()))
    vocab = [vocab[0], vocab[1], vocab[3], vocab[2], *vocab[4:]]  # <s> <pad> <unk> </s>
    return XLMRobertaTokenizer(vocab=vocab, model_max_length=MAX_TOKENS)


def build_model(tokenizer):
    """An untrained CLIPModel: ViT on 32 px with 4 px patches, 2-layer text tower, 64-d embeddings."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPVisionConfig

    text = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=WIDTH, intermediate_size=2 * WIDTH, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=MAX_TOKENS, projection_dim=WIDTH,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = CLIPVisionConfig(
        image_size=draw.SIZE, patch_size=4, hidden_size=WIDTH, intermediate_size=2 * WIDTH, num_hidden_layers=3,
        num_attention_heads=4, projection_dim=WIDTH,
    )
    torch.manual_seed(11)
    return CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=WIDTH))


def image_processor():
    """Resize to 32 px with a box filter, scale to [-1, 1] (the world has no ImageNet statistics)."""
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(
        do_resize=True, size={"shortest_edge": draw.SIZE}, resample=1, do_center_crop=True,
        crop_size={"height": draw.SIZE, "width": draw.SIZE}, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_convert_rgb=True,
    )


def train_judge(cfg: JudgeConfig, out: Path) -> Path:
    """Contrastive training with every consistent (image, text) pair a positive; saves a CLIPModel folder."""
    import shutil

    import numpy as np
    import torch

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer)
    scenes = draw.all_scenes()
    pixels = torch.from_numpy(np.stack([draw.draw(s) for s in scenes]).astype(np.float32) / 127.5 - 1)
    pixels = pixels.permute(0, 3, 1, 2).contiguous()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.05)
    t0 = time.time()
    model.train()
    for step in range(cfg.steps):
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = [rng.randrange(len(scenes)) for _ in range(cfg.batch)]
        batch_texts = []
        for i in idx:
            if rng.random() < cfg.label_share:
                kind = scenes[i].kind
                batch_texts.append((captions.object_label(kind, rng.choice(captions.LANGS)), {"object": kind}))
            else:
                attrs = scenes[i].attributes()
                lang, t = rng.choice(captions.LANGS), rng.randrange(captions.N_TEMPLATES)
                batch_texts.append((captions.caption(scenes[i], lang, t), attrs))
        tokens = tokenizer([t for t, _ in batch_texts], padding="max_length", max_length=MAX_TOKENS,
                           truncation=True, return_tensors="pt")
        positive = torch.tensor([[all(scenes[i].attributes().get(k) == v for k, v in attrs.items())
                                  for _, attrs in batch_texts] for i in idx], dtype=torch.float32)
        out_ = model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask, pixel_values=pixels[idx])
        logits = out_.logits_per_image
        loss = 0.5 * (_soft_ce(logits, positive) + _soft_ce(logits.T, positive.T))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (step + 1) % 50 == 0:
            log.info("judge step %d/%d loss %.4f (%.1f s)", step + 1, cfg.steps, loss.item(), time.time() - t0)
    model.eval()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    image_processor().save_pretrained(tmp)
    paths.write_json(tmp / "training.json", {"config": asdict(cfg), "seconds": round(time.time() - t0, 1),
                                             "command": "python -m bench.world.judge"})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def _soft_ce(logits, positive):
    """Cross-entropy against a uniform distribution over each row's positives."""
    import torch

    target = positive / positive.sum(dim=1, keepdim=True).clamp(min=1)
    return -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def load_world_clip(folder: Path):
    """(CLIPModel, image processor, tokenizer) from a world-clip folder."""
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    return (CLIPModel.from_pretrained(folder).eval(), CLIPImageProcessor.from_pretrained(folder),
            AutoTokenizer.from_pretrained(folder))


def main(argv: list[str] | None = None) -> None:
    """Command line: train the world CLIP and write its folder."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--threads", type=int, default=1)
    for field, default in asdict(JudgeConfig()).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    train_judge(JudgeConfig(**{k: getattr(args, k) for k in asdict(JudgeConfig())}), args.out)


if __name__ == "__main__":
    main()
