"""The official recipe in effect, runs that must finish whatever the warm-up, and checkpoints repaired after kills."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
from pathlib import Path

import pytest
import torch

from bench.core.errors import BenchError

sys.path.insert(0, str(Path(__file__).parent))
from train_corpus import make_corpus  # noqa: E402

from bench.training.batches import step_generator  # noqa: E402

FAST = dict(lang="zh", encoder="tiny", resolution=16, warmup_steps=0, val_rows=2, val_every=0, save_every=100,
            batch_size=2, lr=1e-3)


def _cfg(corpus: Path, **overrides):
    from bench.training.config import TrainConfig

    return TrainConfig(**{**FAST, "base": "tiny-sd15", "corpus": str(corpus), "steps": 2, **overrides})


def test_recipes_fill_what_is_not_given():
    from bench.training.recipes import OFFICIAL_DECAY_STEPS

    sdxl = _cfg(Path("c"), base="tiny-sdxl")
    assert (sdxl.weight_decay, sdxl.lr_decay_steps, sdxl.lr_end) == (0.0, OFFICIAL_DECAY_STEPS, 5e-8)
    assert (sdxl.noise_offset, sdxl.cfg_dropout_pooled, sdxl.aspect_buckets) == (0.5, False, True)
    sd15 = _cfg(Path("c"))
    assert (sd15.noise_offset, sd15.aspect_buckets) == (0.0, False)  # no offset noise in the SD1.5 script
    paper = _cfg(Path("c"), base="tiny-sdxl", recipe="paper", steps=40)
    assert (paper.weight_decay, paper.lr_decay_steps, paper.lr_end) == (0.1, 40, 0.0)
    assert (paper.noise_offset, paper.cfg_dropout_pooled, paper.aspect_buckets) == (0.0, True, False)
    mine = _cfg(Path("c"), weight_decay=0.3, noise_offset=0.1)  # an explicit value beats the recipe
    assert (mine.weight_decay, mine.noise_offset) == (0.3, 0.1)
    assert sdxl.run_hash != _cfg(Path("c"), base="tiny-sdxl", recipe="paper").run_hash


def test_chinese_clip_reads_52_tokens():
    from bench.models.encoders import StudentEncoder, get_student_spec
    from bench.models.real_tokenizers import chinese_clip_tokenizer

    class Zeros(torch.nn.Module):
        """Stands in for the 1024-d text tower: the token positions are what is checked."""

        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"last_hidden_state": torch.zeros(*input_ids.shape, 1024)})()

    encoder = StudentEncoder(get_student_spec("chinese-clip"), chinese_clip_tokenizer(), Zeros())
    states, mask = encoder.encode(["一只红色的猫", "狗" * 80])
    assert states.shape == (2, 52, 1024)  # cn_clip's context, padding included in the pooled mean
    assert mask[0].sum().item() == 6 + 2 and mask[1].sum().item() == 52  # [CLS] text [SEP]; long text cut


@pytest.fixture
def trainer_for(tmp_path, bench_home):
    """Build and set up a Trainer on a tiny corpus (native-only rows included)."""
    corpus = make_corpus(tmp_path / "corpus", rows=8, native=2)

    def build(**overrides):
        from bench.training.distill import Trainer

        trainer = Trainer(_cfg(corpus, **overrides))
        trainer.setup()
        return trainer

    return build


def test_official_optimizer_and_schedule(trainer_for):
    trainer = trainer_for(base="tiny-sdxl", lr=1e-5, warmup_steps=100, steps=50_000, cache=False)
    assert all(group["weight_decay"] == 0.0 for group in trainer.optimizer.param_groups)
    factor = trainer.lr_schedule.lr_lambdas[0]
    # 100 warm-up steps, then linear decay over the hard-coded 2,232,142 steps towards 5e-8
    expected = (1 - 5e-8 / 1e-5) * (1 - (50_000 - 100) / (2_232_142 - 100)) + 5e-8 / 1e-5
    assert factor(50) == pytest.approx(0.5) and factor(50_000) == pytest.approx(expected)
    assert 0.97 < factor(50_000) < 0.98  # the rate stays near its peak over a 50k-step run
    paper = trainer_for(base="tiny-sdxl", recipe="paper", lr=1e-5, warmup_steps=100, steps=50_000, cache=False)
    assert paper.optimizer.param_groups[0]["weight_decay"] == 0.1
    assert paper.lr_schedule.lr_lambdas[0](50_000) == 0.0


def _unet_calls(trainer, monkeypatch):
    """Run one loss with every row dropped; returns the (context, pooled) each UNet call received."""
    from bench.training import losses

    calls = []
    real = trainer._unet

    def spy(noisy, t, context, pooled, time_ids=None):
        calls.append((context.detach().clone(), None if pooled is None else pooled.detach().clone()))
        return real(noisy, t, context, pooled, time_ids)

    monkeypatch.setattr(trainer, "_unet", spy)
    monkeypatch.setattr(losses, "dropout_mask", lambda b, p, gen: torch.ones(b, dtype=torch.bool))
    idx = [i for i in trainer.train_idx if trainer.pairs.text_en[i] is not None][:2]
    with torch.no_grad():
        trainer.loss(idx, step_generator(0, 1, 0, "train"))
    return idx, calls


def test_official_cfg_dropout_keeps_the_pooled_embedding_conditional(trainer_for, monkeypatch):
    trainer = trainer_for(base="tiny-sdxl", cfg_dropout=0.5)
    idx, calls = _unet_calls(trainer, monkeypatch)
    (s_ctx, s_pool), (t_ctx, t_pool) = calls  # student, then teacher
    x = trainer.inputs(idx)
    with torch.no_grad():
        cond_ctx, cond_pool = trainer.adapter(x["student"])
        empty_ctx, _ = trainer.adapter(trainer.empty_student.expand_as(x["student"]))
    assert torch.allclose(s_pool, cond_pool, atol=1e-6) and torch.allclose(s_ctx, empty_ctx, atol=1e-6)
    assert torch.allclose(t_pool, x["teacher_pooled"].float(), atol=1e-6)
    assert torch.allclose(t_ctx, trainer.empty_teacher[0].expand_as(x["teacher"]).float(), atol=1e-6)


def test_paper_cfg_dropout_empties_the_pooled_embedding_too(trainer_for, monkeypatch):
    trainer = trainer_for(base="tiny-sdxl", recipe="paper", cfg_dropout=0.5)
    idx, calls = _unet_calls(trainer, monkeypatch)
    (_, s_pool), (_, t_pool) = calls
    with torch.no_grad():
        _, empty_pool = trainer.adapter(trainer.empty_student.expand(len(idx), -1, -1))
    assert torch.allclose(s_pool, empty_pool, atol=1e-6)
    assert torch.allclose(t_pool, trainer.empty_teacher[1].expand(len(idx), -1).float(), atol=1e-6)


@pytest.mark.parametrize(("base", "offset"), [("tiny-sd15", 0.0), ("tiny-sdxl", 0.5)])
def test_official_noise_offset_by_base(trainer_for, monkeypatch, base, offset):
    from bench.training import losses

    trainer = trainer_for(base=base)
    seen = []
    real = losses.offset_noise
    monkeypatch.setattr(losses, "offset_noise", lambda shape, off, gen: seen.append(off) or real(shape, off, gen))
    trainer.loss(trainer.train_idx[:2], step_generator(0, 1, 0, "train"))
    assert seen == [offset]


@pytest.mark.parametrize("warmup", [3, 5])
def test_a_warm_up_as_long_as_the_run_or_longer_trains_to_the_end(tmp_path, bench_home, caplog, warmup):
    from bench.training.distill import train

    corpus = make_corpus(tmp_path / "corpus", rows=6)
    with caplog.at_level(logging.WARNING):
        folder = train(_cfg(corpus, name=f"w{warmup}", steps=3, warmup_steps=warmup, recipe="paper"))
    config = json.loads((folder / "config.json").read_text())
    assert config["step"] == 3 and config["training"]["recipe"] == "paper"
    assert ("longer than the run" in caplog.text) == (warmup > 3)
    rows = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines() if "loss" in line]
    assert [r["step"] for r in rows] == [1, 2, 3]


def test_checkpoint_records_the_recipe(tmp_path, bench_home):
    from bench.training.distill import train

    corpus = make_corpus(tmp_path / "corpus", rows=6)
    folder = train(_cfg(corpus, name="rec", steps=1))
    config = json.loads((folder / "config.json").read_text())
    assert config["training"]["recipe"] == "official" and config["training"]["weight_decay"] == 0.0
    assert "| recipe | official" in (folder / "README.md").read_text()


def test_a_killed_save_is_cleaned_and_repaired_on_resume(tmp_path, bench_home):
    from bench.models.checkpoint import load_adapter
    from bench.training.distill import train

    corpus = make_corpus(tmp_path / "corpus", rows=6)
    folder = train(_cfg(corpus, name="kill", steps=2, save_every=1, stop_after=2, keep_checkpoints=3))
    steps = sorted((folder / "steps").glob("step-*"))
    assert [p.name for p in steps] == ["step-00000001", "step-00000002"]
    # As a kill leaves them: a half-written step folder, a temporary file, and the top level switched halfway
    (folder / "steps" / ".step-3.x1y2").mkdir()
    (folder / "steps" / ".step-3.x1y2" / "adapter.safetensors").write_bytes(b"half")
    (folder / ".adapter.safetensors.abc.tmp").write_bytes(b"half")
    shutil.copyfile(steps[0] / "adapter.safetensors", folder / "adapter.safetensors")
    with pytest.raises(BenchError, match="adapter.safetensors is from step 1 but config.json from step 2"):
        load_adapter(folder)
    train(_cfg(corpus, name="kill", steps=2, save_every=1, keep_checkpoints=3, resume=True))
    assert not list((folder / "steps").glob(".step-*")) and not list(folder.glob(".*.tmp"))
    assert (folder / "adapter.safetensors").read_bytes() == (steps[1] / "adapter.safetensors").read_bytes()
    assert load_adapter(folder) is not None


def test_corpus_shard_leftovers_are_cleaned_on_resume(tmp_path, monkeypatch):
    from bench.core import paths
    from bench.corpus.build import CorpusConfig, build_corpus

    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    config = CorpusConfig(lang="zh", sources=("sample",), translator="none", shard_size=64, name="left")
    build_corpus(config)
    shard = paths.corpus_shard_path("left", 0)
    stale = [shard.parent / f".{shard.name}.k1ll.tmp",
             paths.corpus_shard_stats_path("left", 0).parent / ".part-00000.json.k1ll.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    build_corpus(config)
    assert not any(p.exists() for p in stale)


def test_bucket_geometry_follows_the_public_loader():
    from bench.training.buckets import Layout, bucket_sizes, closest, cover
    from bench.training.recipes import SDXL_BUCKETS

    assert bucket_sizes(1024, 32) == list(SDXL_BUCKETS)  # as published at SDXL's resolution
    assert bucket_sizes(512, 32) == [(224, 448), (224, 416), (256, 384), (288, 352), (320, 320), (352, 288),
                                     (384, 256), (416, 224), (448, 224)]
    buckets = bucket_sizes(1024, 32)
    assert buckets[closest((1200, 800), buckets)] == (768, 512) and buckets[closest((500, 1000), buckets)] == (448, 896)
    assert cover((1300, 800), (768, 512)) == (832, 512) and cover((700, 1000), (576, 704)) == (576, 822)
    layout = Layout.build(["a", "b"], [(1200, 800), (1300, 800)], 1024, 32, seed=0)
    assert layout.crop[0] == (0, 0) and layout.crop[1][0] == 0 and 0 <= layout.crop[1][1] <= 64
    ids = layout.time_ids([0, 1])
    assert ids[0].tolist() == [800, 1200, 0, 0, 512, 768]  # (original h, w, top, left, target h, w)
    assert ids[1].tolist() == [800, 1300, 0, layout.crop[1][1], 512, 768]
    assert Layout.build(["a", "b"], [(1200, 800), (1300, 800)], 1024, 32, seed=0) == layout  # same crops again


def test_bucketed_batches_hold_one_size_and_cover_every_row_each_epoch():
    from bench.training.batches import BatchOrder
    from bench.training.buckets import Layout

    sizes = [(40, 32), (32, 40), (64, 32), (32, 32)] * 5
    layout = Layout.build([f"r{i}" for i in range(20)], sizes, 1024, 32, seed=0)
    order = BatchOrder(list(range(20)), 3, seed=1, layout=layout)
    per_epoch = len(layout.batches(list(range(20)), 3))
    first = [order.batch(k) for k in range(per_epoch)]
    assert all(len({layout.bucket[r] for r in b}) == 1 for b in first)
    assert sorted(r for b in first for r in b) == list(range(20))
    assert [order.batch(k) for k in range(per_epoch)] == first  # the same order when asked again (resume)
    assert sorted(r for k in range(per_epoch, 2 * per_epoch) for r in order.batch(k)) == list(range(20))


def test_sdxl_official_training_uses_buckets_and_true_time_ids(tmp_path, bench_home, monkeypatch):
    from PIL import Image

    from bench.training.distill import Trainer, train

    corpus = make_corpus(tmp_path / "corpus", rows=8)
    for n in range(0, 8, 2):  # half the images become tall ones
        Image.new("RGB", (24, 48), (200, 30 * n, 10)).save(corpus / "img" / f"{n:04d}.png")
    cfg = _cfg(corpus, base="tiny-sdxl", name="buckets", steps=3, resolution=64, val_rows=0)
    trainer = Trainer(cfg)
    trainer.setup()
    layout = trainer.layout
    assert layout is not None and len({layout.bucket[i] for i in range(len(trainer.pairs))}) == 2
    seen = []
    real = trainer._unet

    def spy(noisy, t, context, pooled, time_ids=None):
        seen.append((tuple(noisy.shape[-2:]), time_ids.tolist()))
        return real(noisy, t, context, pooled, time_ids)

    monkeypatch.setattr(trainer, "_unet", spy)
    idx = trainer.batch_indices(1, 0)
    trainer.loss(idx, step_generator(0, 1, 0, "train"))
    (w, h) = layout.buckets[layout.bucket[idx[0]]]
    scale = 2 ** (len(trainer.vae.config.block_out_channels) - 1)
    assert seen[0][0] == (h // scale, w // scale)  # latents of the bucket's size
    for row, ids in zip(idx, seen[0][1], strict=True):
        ow, oh = trainer.pairs.sizes[row]
        assert ids[:2] == [oh, ow] and ids[4:] == [h, w]
    cached = train(cfg)
    uncached = train(dataclasses.replace(cfg, name="buckets-uncached", cache=False))
    a = [json.loads(x)["loss"] for x in (cached / "log.jsonl").read_text().splitlines() if "loss" in x]
    b = [json.loads(x)["loss"] for x in (uncached / "log.jsonl").read_text().splitlines() if "loss" in x]
    assert len(a) == 3 and a == pytest.approx(b, rel=1e-4)
