"""`make gpu-bench`: throughput of SDXL + PEA against plain SDXL, of distillation and of translation, random weights.

On a CUDA machine (`--size full`, the default there) it writes full-size SDXL base and Chinese-CLIP folders
with random weights from the published configs (bench.models.fullsize; nothing is downloaded), then measures
  - generation at 1024 px in fp16: images/s and peak memory of a plain diffusers SDXL pipeline (English
    prompts through its own CLIP encoders) and of the same pipeline driven by the PEA conditioner (Chinese
    prompts through the student + adapter), on the same initial latents, with and without torch.compile on
    the UNet; the figure is the ratio PEA / plain;
  - distillation (the `bench train` Trainer, batch 10) in steps/s with cached and uncached frozen inputs;
  - the reward judges (PickScore, ImageReward, HPS v2.1) in images scored per second, fp16, batch 16
    (bench.perf.judgebench);
  - the harness's per-image and batched generation (images/s at 1024 px) and NLLB-200-distilled-600M
    translation (captions/s, peak memory; fp16, batches of 64 sorted by length): bench.perf.throughput.
  - the VQA judge (Qwen2.5-VL-7B, random weights, bench.perf.vqa_throughput): images scored per second,
    batch 16 at 1024 px, bf16 and fp16. `--parts vqa` measures only that.
On a CPU (`--size tiny`, the default there) the same code runs on the zoo's tiny SDXL and student, so the
script is exercised by the test suite. It writes one JSON file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.core import paths

log = logging.getLogger(__name__)

# Both paths draw the same prompts; the PEA side reads the native text, the plain side the English.
PROMPTS = [("一只红色的猫坐在沙发上", "a red cat sitting on a sofa"), ("海边的两只狗", "two dogs on a beach"),
           ("雪山下的小木屋", "a small wooden cabin below snowy mountains"), ("桌上的一碗面条", "a bowl of noodles on a table")]


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one benchmark run measures."""

    size: str  # "full" (real architectures, random weights) or "tiny" (zoo models)
    resolution: int
    steps: int  # sampling steps per image
    images: int  # images per timed generation call (one batch)
    repeats: int  # timed calls per configuration (after one warm-up call)
    compile: bool
    train_batch: int
    train_steps: int  # timed distillation steps (after one warm-up step)
    dtype: str


def default_settings(size: str, compile_unet: bool | None = None) -> Settings:
    """The full-size GPU measurement, or the seconds-long CPU exercise of the same code."""
    if size == "full":
        return Settings("full", 1024, 30, 4, 2, True if compile_unet is None else compile_unet, 10, 5, "fp16")
    # torch.compile on a CPU compiles C++ for minutes; the tiny run checks the code, not the compiler.
    return Settings("tiny", 32, 2, 1, 1, bool(compile_unet), 10, 1, "fp32")


# ---------------------------------------------------------------------------------------------- models
def write_random_sdxl(folder: Path, dtype, device: str = "cpu") -> Path:
    """A StableDiffusionXLPipeline folder with random weights in the published full-size shapes."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline

    from bench.models import fullsize
    from bench.models.real_tokenizers import clip_tokenizer

    if (folder / "model_index.json").is_file():
        return folder
    parts = {name.split("/")[1]: fullsize.build(name, device=device, dtype=dtype)
             for name in ("sdxl/unet", "sdxl/vae", "sdxl/text_encoder", "sdxl/text_encoder_2")}
    pipe = StableDiffusionXLPipeline(
        **parts, tokenizer=clip_tokenizer(), tokenizer_2=clip_tokenizer(pad_token="!"),
        scheduler=EulerDiscreteScheduler.from_config(fullsize.load_config("sdxl/scheduler")))
    pipe.save_pretrained(folder)
    return folder


def write_random_chinese_clip(folder: Path, dtype, device: str = "cpu") -> Path:
    """A ChineseCLIPModel folder (random weights, published shapes) with the real Chinese-CLIP tokenizer."""
    from bench.models import fullsize
    from bench.models.real_tokenizers import chinese_clip_tokenizer

    if (folder / "config.json").is_file():
        return folder
    fullsize.build("chinese-clip", device=device, dtype=dtype).save_pretrained(folder)
    chinese_clip_tokenizer().save_pretrained(folder)
    return folder


def register_random_full_size(root: Path, dtype, device: str = "cpu") -> tuple[str, str]:
    """Write (once) and register the random full-size SDXL base and Chinese-CLIP student; their names."""
    from bench.models.bases import BASES, get_base
    from bench.models.encoders import STUDENT_ENCODERS, get_student_spec, register_student

    sdxl = write_random_sdxl(root / "sdxl-random", dtype, device)
    student = write_random_chinese_clip(root / "chinese-clip-random", dtype, device)
    base_name, student_name = "sdxl-random", "chinese-clip-random"
    if base_name not in BASES:
        BASES.register(base_name, dataclasses.replace(get_base("sdxl"), name=base_name, model_id=str(sdxl)))
    if student_name not in STUDENT_ENCODERS:
        register_student(dataclasses.replace(get_student_spec("chinese-clip"), name=student_name,
                                             model_id=str(student)))
    return base_name, student_name


def _models(settings: Settings, root: Path, device: str) -> tuple[str, str]:
    """(base name, student name) to measure."""
    if settings.size == "tiny":
        return "tiny-sdxl", "tiny"
    import torch

    return register_random_full_size(root, torch.float16, device)


# ---------------------------------------------------------------------------------------------- generation
def _peak_reset(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: str) -> float | None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        return round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return None  # CPU: no resettable per-phase peak; the JSON records the process's peak RSS instead


def _timed(call, repeats: int, device: str) -> tuple[float, float | None]:
    """(seconds per call after one warm-up, peak GiB) of call()."""
    import torch

    call()  # warm-up: cuDNN autotuning, compilation, allocator growth
    _peak_reset(device)
    tick = time.perf_counter()
    for _ in range(repeats):
        call()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - tick) / repeats, _peak_gib(device)


def bench_generation(settings: Settings, base_name: str, student_name: str, device: str) -> dict[str, Any]:
    """Images/s and peak memory of plain SDXL and SDXL + PEA on the same latents, eager and compiled."""
    import torch
    from diffusers import StableDiffusionXLPipeline

    from bench.models import zoo
    from bench.models.adapter import PEAAdapter
    from bench.models.bases import get_base
    from bench.models.encoders import default_hidden_dim, get_student_spec, load_student_encoder
    from bench.models.pea import PEAConditioner

    dtype = torch.float16 if settings.dtype == "fp16" else torch.float32
    base, spec = get_base(base_name), get_student_spec(student_name)
    plain = StableDiffusionXLPipeline.from_pretrained(zoo.resolve(base.model_id), dtype=dtype).to(device)
    plain.set_progress_bar_config(disable=True)
    # The PEA pipeline shares the UNet, VAE and scheduler; it has no English text encoders.
    pea = StableDiffusionXLPipeline(**{**plain.components, "text_encoder": None, "text_encoder_2": None,
                                       "tokenizer": None, "tokenizer_2": None})
    pea.set_progress_bar_config(disable=True)
    torch.manual_seed(0)
    adapter = PEAAdapter(spec.width, default_hidden_dim(spec, base.family, base.tier), base.pooled_dim,
                         base.context_dim)
    cond = PEAConditioner(adapter, load_student_encoder(student_name), base).to(device, dtype)

    n = settings.images
    native = [PROMPTS[i % len(PROMPTS)][0] for i in range(n)]
    english = [PROMPTS[i % len(PROMPTS)][1] for i in range(n)]
    r = settings.resolution
    channels, factor = plain.unet.config.in_channels, plain.vae_scale_factor
    latents = torch.randn((n, channels, r // factor, r // factor), generator=torch.Generator().manual_seed(0))
    latents = latents.to(device, dtype)
    common = dict(num_inference_steps=settings.steps, guidance_scale=7.5, height=r, width=r, output_type="np")

    def run_plain():
        return plain(prompt=english, latents=latents.clone(), **common).images

    def run_pea():
        return pea(**cond.pipeline_kwargs(native), latents=latents.clone(), **common).images

    out: dict[str, Any] = {"resolution": r, "steps": settings.steps, "images_per_call": n, "dtype": settings.dtype,
                           "guidance": 7.5, "scheduler": type(plain.scheduler).__name__}
    from bench.perf.throughput import bench_generation_modes

    # The harness's two batching modes on the plain pipeline: what one pipeline call per image costs.
    pairs = [PROMPTS[i % len(PROMPTS)][1] for i in range(max(2, n))]  # a batch of one would compare nothing
    out["modes"] = bench_generation_modes(plain, pairs, settings.steps, r, settings.repeats, device)
    variants = [("eager", False)] + ([("compiled", True)] if settings.compile else [])
    for label, compiled in variants:
        if compiled:
            plain.unet = pea.unet = torch.compile(plain.unet)
        for name, call in (("plain", run_plain), ("pea", run_pea)):
            seconds, peak = _timed(call, settings.repeats, device)
            out[f"{name}_{label}"] = {"seconds_per_call": round(seconds, 4), "images_per_s": round(n / seconds, 4),
                                      "peak_gib": peak}
        out[f"ratio_{label}"] = round(out[f"pea_{label}"]["images_per_s"] / out[f"plain_{label}"]["images_per_s"], 4)
    if not settings.compile:
        out["compiled"] = "not measured: torch.compile is off for this size (--compile to force)"
    return out


# ---------------------------------------------------------------------------------------------- distillation
def write_corpus(folder: Path, rows: int, resolution: int) -> Path:
    """A parallel zh corpus in build-corpus's layout with random images at the training resolution."""
    import numpy as np
    import polars as pl
    from PIL import Image

    if (folder / "manifest.json").is_file():
        return folder
    (folder / "img").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    records = []
    for i in range(rows):
        name = f"img/{i:05d}.png"
        Image.fromarray(rng.integers(0, 255, (resolution, resolution, 3), dtype=np.uint8)).save(folder / name)
        zh, en = PROMPTS[i % len(PROMPTS)]
        records.append({"id": f"r{i:05d}", "lang": "zh", "text_en": f"{en} {i}", "text": f"{zh} {i}",
                        "source": "gpu-bench", "image": name})
    pl.DataFrame(records).write_parquet(folder / "shard-00000.parquet")
    (folder / "manifest.json").write_text(json.dumps({"rows": rows, "sources": ["gpu-bench"]}))
    return folder


def bench_distillation(settings: Settings, base_name: str, student_name: str, root: Path,
                       device: str = "cpu") -> dict[str, Any]:
    """Seconds per optimizer step of `bench train`'s Trainer with cached and with uncached frozen inputs."""
    from bench.training.distill import TrainConfig, Trainer

    batch, steps = settings.train_batch, settings.train_steps + 1  # + the warm-up step
    corpus = write_corpus(root / "corpus", batch * steps, settings.resolution)
    out: dict[str, Any] = {"batch_size": batch, "resolution": settings.resolution, "timed_steps": steps - 1}
    for label, cache in (("cached", True), ("uncached", False)):
        cfg = TrainConfig(lang="zh", base=base_name, encoder=student_name, corpus=str(corpus), steps=steps,
                          batch_size=batch, warmup_steps=1, val_rows=0, val_every=0, save_every=10**9,
                          resolution=settings.resolution, cache=cache, mixed_precision=settings.dtype.replace(
                              "fp32", "no"), name=f"gpu-bench-{label}")
        trainer = Trainer(cfg)
        tick = time.perf_counter()
        trainer.setup()
        setup_seconds = time.perf_counter() - tick
        _peak_reset(device)
        folder = trainer.run()
        peak = _peak_gib(device)
        rows = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines() if line.strip()]
        timed = [r for r in rows if "seconds" in r][1:]
        per_step = sum(r["seconds"] for r in timed) / len(timed)
        out[label] = {"setup_seconds": round(setup_seconds, 3), "seconds_per_step": round(per_step, 4),
                      "steps_per_s": round(1 / per_step, 4), "peak_gib": peak,
                      "losses": [r["loss"] for r in rows if "loss" in r]}
        del trainer
    out["speedup_cached"] = round(out["cached"]["steps_per_s"] / out["uncached"]["steps_per_s"], 4)
    return out


# ---------------------------------------------------------------------------------------------- entry point
PARTS = ("generation", "distillation", "judges", "translation", "vqa")


def run(settings: Settings, out_path: Path, work: Path | None = None,
        parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """Measure `parts` (default everything) and write the JSON file; returns what it wrote."""
    import resource

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
        root = Path(work) if work else Path(tmp)
        needs_sdxl = bool({"generation", "distillation"} & set(parts))
        base_name, student_name = _models(settings, root, device) if needs_sdxl else ("-", "-")
        tick = time.perf_counter()
        result: dict[str, Any] = {
            "settings": dataclasses.asdict(settings), "device": device,
            "device_name": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__, "base": base_name, "student": student_name,
            "weights": "random (published configs, bench.models.fullsize)" if settings.size == "full" else "zoo tiny",
        }
        if "generation" in parts:
            result["generation"] = bench_generation(settings, base_name, student_name, device)
        if "distillation" in parts:
            result["distillation"] = bench_distillation(settings, base_name, student_name, root, device)
        if "judges" in parts:
            from bench.perf.judgebench import bench_judges

            result["judges"] = bench_judges(settings.size, device)  # reward judges' images scored per second
        if "translation" in parts:
            from bench.perf.throughput import bench_translation

            full = settings.size == "full"
            result["translation"] = bench_translation(settings.size, device, batch=64 if full else 8,
                                                      batches=8 if full else 2)
        if "vqa" in parts:  # images scored per second by the VQA judge (bench.perf.vqa_throughput)
            from bench.perf.vqa_throughput import bench_vqa

            result["vqa"] = bench_vqa(settings.size, device)
        result["seconds"] = round(time.perf_counter() - tick, 2)
        result["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    paths.write_json(out_path, result)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line: python -m bench.perf.gpubench [--size full|tiny] [--out FILE] [--no-compile]."""
    import torch

    parser = argparse.ArgumentParser(prog="python -m bench.perf.gpubench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "tiny"), default="full" if torch.cuda.is_available() else "tiny")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default BENCH_HOME/gpu-bench.json); missing folders are created")
    parser.add_argument("--compile", dest="compile", action="store_true", default=None)
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--work", type=Path, default=None,
                        help="Keep the random full-size folders here (reused by the next run)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"Comma-separated subset of {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    parts = tuple(p for p in args.parts.split(",") if p)
    if not parts or set(parts) - set(PARTS):
        parser.error(f"--parts takes a comma-separated subset of {', '.join(PARTS)}")
    settings = default_settings(args.size, args.compile)
    out = args.out or paths.gpu_bench_path()
    result = run(settings, out, args.work, parts)
    said = []
    if "generation" in result:
        gen = result["generation"]
        said.append(f"PEA/plain images/s {gen['ratio_eager']} eager"
                    + (f", {gen['ratio_compiled']} compiled" if "ratio_compiled" in gen else "")
                    + f"; generation batched/per-image images/s {gen['modes']['batched_over_per_image']}")
    if "distillation" in result:
        dist = result["distillation"]
        said.append(f"distillation {dist['cached']['steps_per_s']} steps/s cached vs "
                    f"{dist['uncached']['steps_per_s']} uncached (batch {dist['batch_size']})")
    if "translation" in result:
        said.append(f"translation {result['translation']['captions_per_s']} captions/s")
    if "judges" in result:
        said.append("reward judges " + ", ".join(f"{k} {v['images_per_s']}" for k, v in result["judges"].items()
                                                 if isinstance(v, dict)) + " img/s")
    if "vqa" in result:
        vqa = result["vqa"]
        said.append("VQA judge images/s (batch 16) " + ", ".join(
            f"{k} {vqa[k]['images_per_s']}" for k in ("bf16", "fp16", "fp32") if k in vqa))
    log.info("%s on %s: %s; %s", settings.size, result["device_name"], "; ".join(said), out)
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the summary line is the command's output
    main()
