"""Full-size SDXL + Chinese-CLIP student + PEA adapter with random weights: one distillation and one denoising step."""

from __future__ import annotations

import resource

import pytest
import torch


@pytest.mark.slow
def test_full_size_system_distils_and_denoises_through_the_real_code(tmp_path, bench_home):
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline

    from bench.models.bases import get_base
    from bench.models.fullsize import parameter_count
    from bench.models.native import EmbeddingRoute, make_native
    from bench.models.pea import PEAConditioner
    from bench.perf.gpubench import register_random_full_size, write_corpus
    from bench.training.distill import TrainConfig, Trainer

    # Real checkpoint folders (published configs, random bf16 weights, real tokenizers), loaded by from_pretrained.
    base, student = register_random_full_size(tmp_path / "models", torch.bfloat16)
    corpus = write_corpus(tmp_path / "corpus", rows=2, resolution=64)
    cfg = TrainConfig(lang="zh", base=base, encoder=student, corpus=str(corpus), steps=1, batch_size=2,
                      val_rows=0, val_every=0, resolution=64, mixed_precision="bf16", cache=False, warmup_steps=0)
    trainer = Trainer(cfg)
    trainer.setup()
    assert trainer.unet.dtype == torch.bfloat16 and parameter_count(trainer.unet) == 2_567_463_684
    adapter = trainer.raw_adapter()
    assert adapter.config == {"in_dim": 1024, "hidden_dim": 1024, "out_dim": 1280, "context_dim": 2048}
    before = [p.detach().clone() for p in adapter.parameters()]
    loss, _lr, parts = trainer.step(1)
    assert torch.isfinite(torch.tensor(loss)) and parts["kd_output"] > 0 and parts["kd_features"] > 0
    assert any(not torch.equal(b, p) for b, p in zip(before, adapter.parameters(), strict=True))

    # One denoising step through the generation path: the base pipeline with native-prompt encoding.
    folder = get_base(base).model_id
    pipe = StableDiffusionXLPipeline(vae=trainer.vae, unet=trainer.unet, text_encoder=None, text_encoder_2=None,
                                     tokenizer=None, tokenizer_2=None,
                                     scheduler=EulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler"))
    make_native(pipe, EmbeddingRoute(PEAConditioner(adapter.eval(), trainer.student, get_base(base))))
    latents = pipe(prompt=["一只红色的猫坐在沙发上"], num_inference_steps=1, height=64, width=64, guidance_scale=5.0,
                   output_type="latent").images
    assert tuple(latents.shape) == (1, 4, 8, 8) and torch.isfinite(latents.float()).all()
    with torch.no_grad():
        image = trainer.vae.decode(latents.float() / trainer.vae.config.scaling_factor).sample
    assert tuple(image.shape) == (1, 3, 64, 64)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS {peak:.1f} GiB")
    assert peak < 24
