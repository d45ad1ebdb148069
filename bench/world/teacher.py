"""Train the world's English teacher: a tiny AutoencoderKL, CLIP text encoder and UNet, saved as an SD pipeline folder.

Rebuild the shipped weights (about 30 minutes on one CPU thread):
    python -m bench.world.teacher --out bench/world/weights/world-teacher --work .bench/world-teacher-work
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.core import paths
from bench.world import captions, draw

log = logging.getLogger(__name__)

MAX_TOKENS = 20  # the longest English caption is 11 tokens with start and end
CONTEXT_DIM = 64
# SD's betas (Stable Diffusion's: scaled_linear, 0.00085..0.012) rescaled to zero terminal SNR, with v-prediction. With
# SD's own schedule 7% of the image survives at t=999 on 16x16 latents, so the model learnt to put the object
# wherever the starting noise hinted and ignored position words (measured: position at chance, the rest 100%).
SCHEDULE = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                rescale_betas_zero_snr=True, prediction_type="v_prediction")
SHIPPED = Path(__file__).resolve().parent / "weights" / "world-teacher"


@dataclass(frozen=True)
class TeacherConfig:
    """Everything that determines the trained teacher."""

    seed: int = 0
    vae_steps: int = 700
    vae_batch: int = 32
    vae_lr: float = 2e-3
    kl_weight: float = 1e-5
    unet_steps: int = 1300
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 100
    ema: float = 0.999
    caption_dropout: float = 0.1  # empty prompt, for classifier-free guidance
    checkpoint_every: int = 100


def build_tokenizer():
    """A word-level CLIPTokenizer: every English world word is one token, anything else falls back to bytes."""
    from transformers import CLIPTokenizer

    from bench.models.zoo.tokenizers import clip_vocab

    words = captions.english_words()
    vocab = dict(clip_vocab()[0])
    merges: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def chain(pieces: list[str]) -> None:
        cur = pieces[0]
        for piece in pieces[1:]:
            if (cur, piece) not in seen:
                seen.add((cur, piece))
                merges.append((cur, piece))
                vocab.setdefault(cur + piece, len(vocab))
            cur += piece

    for word in words:
        chain([*word[:-1], word[-1] + "</w>"])
    # A merge learnt for one word can fire inside another; add merges until every word is one token.
    for _ in range(20):
        tok = CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=MAX_TOKENS)
        split = [tok.tokenize(w) for w in words]
        split = [s for s in split if len(s) > 1]
        if not split:
            return tok
        for pieces in split:
            chain(pieces)
    raise RuntimeError("could not make every world word a single token")


def build_models(tokenizer):
    """Untrained VAE (32 px -> 4 x 16 x 16), text encoder and UNet, from fixed seeds."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(1)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 48), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=16, sample_size=draw.SIZE, mid_block_add_attention=False,
    )
    torch.manual_seed(2)
    vocab = tokenizer.get_vocab()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=CONTEXT_DIM, intermediate_size=2 * CONTEXT_DIM, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=MAX_TOKENS, projection_dim=CONTEXT_DIM,
        bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"], hidden_act="quick_gelu",
    ))
    torch.manual_seed(3)
    # Attention only at 8x8, 4x4 and 2x2: at 16x16 it would triple the step time. The 2x2 level is what lets
    # the UNet follow position words: its four cells are the four quadrants, and zero padding tells each cell
    # which one it is (a 3-level UNet, 16 -> 4, learnt colour, shape and size but left position at chance).
    unet = UNet2DConditionModel(
        sample_size=draw.SIZE // 2, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64, 96, 96),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=CONTEXT_DIM, attention_head_dim=8, norm_num_groups=16,
    )
    return vae, text_encoder, unet


def world_tensor():
    """Every distinct scene of the world and its pixels in [-1, 1] (N x 3 x 32 x 32)."""
    import numpy as np
    import torch

    scenes = draw.all_scenes()
    pixels = np.stack([draw.draw(s) for s in scenes]).astype(np.float32) / 127.5 - 1
    return scenes, torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()


def save_state(folder: Path, tensors: dict, state: dict) -> None:
    """Write a resumable checkpoint: weights as safetensors, then the step record last."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    for name, sd in tensors.items():
        paths.atomic_write(folder / f"{name}.safetensors",
                           lambda tmp, sd=sd: save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp)))
    paths.write_json(folder / "state.json", state)


def _load(folder: Path, name: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / f"{name}.safetensors"))


def _opt_state(opt) -> dict:
    """Flatten AdamW state into named tensors so it can be stored as safetensors."""
    out = {}
    for i, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            out[f"{i}.{k}"] = v if hasattr(v, "shape") else __import__("torch").tensor(v)
    return out


def _load_opt_state(opt, flat: dict) -> None:
    sd = opt.state_dict()
    state: dict = {}
    for key, v in flat.items():
        i, k = key.split(".", 1)
        state.setdefault(int(i), {})[k] = v
    sd["state"] = state
    opt.load_state_dict(sd)


def train_vae(cfg: TeacherConfig, vae, pixels, work: Path) -> None:
    """Fit the autoencoder to the world's images; resumable from work/vae."""
    import torch

    ckpt = work / "vae"
    start = 0
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.vae_lr, weight_decay=0.0)
    if (ckpt / "state.json").exists():
        start = paths.read_json(ckpt / "state.json")["step"]
        vae.load_state_dict(_load(ckpt, "vae"))
        _load_opt_state(opt, _load(ckpt, "opt"))
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + start)
    t0 = time.time()
    for step in range(start, cfg.vae_steps):
        for group in opt.param_groups:
            group["lr"] = cfg.vae_lr * 0.5 * (1 + math.cos(math.pi * step / cfg.vae_steps))
        idx = torch.randint(0, len(pixels), (cfg.vae_batch,), generator=gen)
        x = pixels[idx]
        dist = vae.encode(x).latent_dist
        recon = vae.decode(dist.sample(generator=gen)).sample
        rec = (recon - x).square().mean()
        kl = dist.kl().mean() / dist.mean[0].numel()
        (rec + cfg.kl_weight * kl).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (step + 1) % 50 == 0:
            log.info("vae step %d/%d rec %.5f kl %.2f (%.1f s)", step + 1, cfg.vae_steps, rec.item(), kl.item(),
                     time.time() - t0)
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.vae_steps:
            save_state(ckpt, {"vae": vae.state_dict(), "opt": _opt_state(opt)}, {"step": step + 1})


def encode_world(vae, pixels):
    """Latent means of every world image and the scaling factor that gives them unit variance."""
    import torch

    with torch.no_grad():
        means = torch.cat([vae.encode(pixels[i:i + 256]).latent_dist.mean for i in range(0, len(pixels), 256)])
    return means, float(1.0 / means.std())


def train_unet(cfg: TeacherConfig, text_encoder, unet, tokenizer, latents, scenes, work: Path):
    """Jointly train text encoder and UNet on (latent, caption) pairs (v-prediction, zero terminal SNR); returns EMA copies."""
    import copy

    import torch
    from diffusers import DDPMScheduler

    sched = DDPMScheduler(**SCHEDULE)

    texts = [[captions.english(s, t) for t in range(2)] for s in scenes]
    flat = [t for pair in texts for t in pair] + [""]
    ids = tokenizer(flat, padding="max_length", max_length=MAX_TOKENS, truncation=True,
                    return_tensors="pt").input_ids
    empty = len(flat) - 1

    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    ema_unet, ema_text = copy.deepcopy(unet).requires_grad_(False), copy.deepcopy(text_encoder).requires_grad_(False)
    ckpt = work / "unet"
    start = 0
    if (ckpt / "state.json").exists():
        start = paths.read_json(ckpt / "state.json")["step"]
        unet.load_state_dict(_load(ckpt, "unet"))
        text_encoder.load_state_dict(_load(ckpt, "text"))
        ema_unet.load_state_dict(_load(ckpt, "ema_unet"))
        ema_text.load_state_dict(_load(ckpt, "ema_text"))
        _load_opt_state(opt, _load(ckpt, "opt"))
        log.info("resuming the UNet at step %d", start)
    gen = torch.Generator().manual_seed(cfg.seed * 104729 + start)
    t0, running = time.time(), None
    unet.train()
    text_encoder.train()
    for step in range(start, cfg.unet_steps):
        progress = step / cfg.unet_steps
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * progress))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, len(scenes), (cfg.batch,), generator=gen)
        which = torch.randint(0, 2, (cfg.batch,), generator=gen)
        cap = idx * 2 + which
        cap[torch.rand(cfg.batch, generator=gen) < cfg.caption_dropout] = empty
        x0 = latents[idx]
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(0, 1000, (cfg.batch,), generator=gen)
        xt = sched.add_noise(x0, noise, t)
        context = text_encoder(ids[cap])[0]
        pred = unet(xt, t, context).sample
        # Plain v-loss: at t=999 (zero SNR) v is -x0, the layout the caption alone must decide.
        loss = (pred - sched.get_velocity(x0, noise, t)).square().mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        decay = min(cfg.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for src, dst in ((unet, ema_unet), (text_encoder, ema_text)):
                for p, q in zip(src.parameters(), dst.parameters(), strict=True):
                    q.lerp_(p, 1 - decay)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % 25 == 0:
            log.info("unet step %d/%d loss %.4f lr %.2e (%.1f s)", step + 1, cfg.unet_steps, running, lr,
                     time.time() - t0)
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.unet_steps:
            save_state(ckpt, {"unet": unet.state_dict(), "text": text_encoder.state_dict(),
                               "ema_unet": ema_unet.state_dict(), "ema_text": ema_text.state_dict(),
                               "opt": _opt_state(opt)}, {"step": step + 1})
    return ema_text, ema_unet


def assemble(vae, text_encoder, tokenizer, unet):
    """The four parts as a StableDiffusionPipeline with the SD DDIM scheduler."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    return StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=DDIMScheduler(**SCHEDULE, clip_sample=False, set_alpha_to_one=False, timestep_spacing="trailing"),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def train_teacher(cfg: TeacherConfig, out: Path, work: Path, export_only: bool = False) -> Path:
    """Train all parts (resumable through `work`) and save the pipeline folder to `out` in float16.

    export_only writes the pipeline from the latest checkpoint's EMA weights without training further.
    """
    import shutil

    import torch

    torch.manual_seed(cfg.seed)
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    tokenizer = build_tokenizer()
    vae, text_encoder, unet = build_models(tokenizer)
    scenes, pixels = world_tensor()
    t0 = time.time()
    if export_only:
        vae.load_state_dict(_load(work / "vae", "vae"))
    else:
        train_vae(cfg, vae, pixels, work)
    vae.eval().requires_grad_(False)
    timings["vae_s"] = time.time() - t0
    latents, scale = encode_world(vae, pixels)
    vae.register_to_config(scaling_factor=scale)
    log.info("latent scaling factor %.4f", scale)
    t0 = time.time()
    if export_only:
        text_encoder.load_state_dict(_load(work / "unet", "ema_text"))
        unet.load_state_dict(_load(work / "unet", "ema_unet"))
        timings["unet_step"] = paths.read_json(work / "unet" / "state.json")["step"]
    else:
        text_encoder, unet = train_unet(cfg, text_encoder, unet, tokenizer, latents * scale, scenes, work)
    timings["unet_s"] = time.time() - t0
    pipe = assemble(vae, text_encoder.eval(), tokenizer, unet.eval())
    pipe.to(torch.float16)  # ships at half the size; zoo:world-teacher loads it back as float32
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    pipe.save_pretrained(tmp, safe_serialization=True)
    paths.write_json(tmp / "training.json", {"config": asdict(cfg), "timings": timings,
                                             "command": "python -m bench.world.teacher"})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: train the teacher and write the pipeline folder."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--work", type=Path, default=Path(".bench/world-teacher-work"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--export-only", action="store_true", help="write the latest checkpoint, train no further")
    for field, default in asdict(TeacherConfig()).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    cfg = TeacherConfig(**{k: getattr(args, k) for k in asdict(TeacherConfig())})
    log.info("config %s", json.dumps(asdict(cfg)))
    train_teacher(cfg, args.out, args.work, export_only=args.export_only)


if __name__ == "__main__":
    main()
