"""PEA distillation on tiny models: a measured drop in held-out MSE, exact resume, cache parity, bad input."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

from bench.core.errors import BenchError

sys.path.insert(0, str(Path(__file__).parent))
from train_corpus import make_corpus  # noqa: E402

FAST = dict(resolution=16, warmup_steps=0, val_rows=4, val_every=0, save_every=100)


def _cfg(corpus: Path, **overrides):
    from bench.training.distill import TrainConfig

    settings = dict(lang="zh", base="tiny-sd15", encoder="tiny", corpus=str(corpus), steps=3, batch_size=2,
                    lr=1e-3, **FAST)
    settings.update(overrides)
    return TrainConfig(**settings)


def _log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter.safetensors"))


@pytest.fixture(scope="module")
def sdxl_run(zoo_home, tmp_path_factory):
    """One short tiny-SDXL run with native-only rows, dropout and a broken image, shared by several tests."""
    from bench.training.distill import train

    mp = pytest.MonkeyPatch()
    mp.setenv("BENCH_HOME", str(zoo_home))
    corpus = make_corpus(tmp_path_factory.mktemp("sdxl") / "corpus", rows=12, native=3, broken=1)
    cfg = _cfg(corpus, base="tiny-sdxl", name="sdxl-full", steps=4, save_every=2, cfg_dropout=0.5,
               val_every=2, batch_size=3)
    folder = train(cfg)
    yield cfg, folder
    mp.undo()


def test_short_distillation_halves_the_held_out_student_teacher_mse(tmp_path, bench_home):
    from bench.training.distill import train

    corpus = make_corpus(tmp_path / "corpus", rows=32)
    folder = train(_cfg(corpus, steps=10, lr=1e-2, batch_size=4, cfg_dropout=0.0, val_rows=8, val_every=10))
    config = json.loads((folder / "config.json").read_text())
    before, after = config["losses"]["val_initial"], config["losses"]["val"]
    assert after <= 0.5 * before, (before, after)  # measured on 8 held-out rows with fixed noise and timesteps
    assert config["step"] == 10 and config["corpus"]["train_rows"] == 24 and config["corpus"]["val_rows"] == 8
    assert config["adapter"] == {"in_dim": 48, "hidden_dim": 64, "out_dim": 32, "context_dim": None}
    assert config["tier"] == "tiny" and config["training"]["lr"] == 1e-2 and config["corpus"]["manifest_hash"]
    card = (folder / "README.md").read_text()
    assert "tiny-sd15" in card and config["corpus"]["manifest_hash"] in card and str(after) in card
    rows = [r for r in _log(folder) if "loss" in r]
    assert len(rows) == 10 and rows[0]["lr"] == pytest.approx(1e-2) and rows[-1]["lr"] < rows[0]["lr"]


def test_a_native_prompt_generates_an_image_through_the_pipeline(sdxl_run):
    from bench.models.pea import PEAConditioner

    _, folder = sdxl_run
    cond = PEAConditioner.from_checkpoint(folder)
    assert cond.base.name == "tiny-sdxl" and cond.lang == "zh"
    kwargs = cond.pipeline_kwargs(["一只红色的猫", "两只狗"])
    assert kwargs["prompt_embeds"].shape == (2, 16, 64) and kwargs["pooled_prompt_embeds"].shape == (2, 32)
    assert kwargs["negative_prompt_embeds"].shape == (2, 16, 64)
    pipe = cond.load_base_pipeline()
    assert pipe.text_encoder is None and pipe.text_encoder_2 is None  # the English encoders are not needed
    images = pipe(**kwargs, num_inference_steps=2, height=32, width=32, guidance_scale=5.0,
                  generator=torch.Generator().manual_seed(0), output_type="np").images
    assert images.shape == (2, 32, 32, 3) and float(images.std()) > 0
    # The same prompts give the same images: the native text, not chance, decides them.
    again = pipe(**cond.pipeline_kwargs(["一只红色的猫", "两只狗"]), num_inference_steps=2, height=32, width=32,
                 guidance_scale=5.0, generator=torch.Generator().manual_seed(0), output_type="np").images
    assert (images == again).all()


def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(sdxl_run):
    from bench.training.distill import train

    cfg, full = sdxl_run
    import dataclasses

    part = train(dataclasses.replace(cfg, name="sdxl-resumed", stop_after=2))
    assert json.loads((part / "config.json").read_text())["step"] == 2
    resumed = train(dataclasses.replace(cfg, name="sdxl-resumed", resume=True))
    a, b = _weights(full), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["loss"] for r in _log(full) if "loss" in r] == [r["loss"] for r in _log(resumed) if "loss" in r]
    skipped = json.loads((full / "config.json").read_text())["corpus"]["skipped"]
    assert skipped["no_image"] == 1  # the broken image was skipped and counted
    assert train(dataclasses.replace(cfg, name="sdxl-resumed")) == resumed  # finished: skipped, not redone
    assert all(torch.equal(b[k], _weights(resumed)[k]) for k in b)
    with pytest.raises(BenchError, match="already holds a run with other settings"):
        train(dataclasses.replace(cfg, name="sdxl-resumed", steps=6))
    with pytest.raises(BenchError, match="pass --resume"):
        train(dataclasses.replace(cfg, name="sdxl-partial", stop_after=1))
        train(dataclasses.replace(cfg, name="sdxl-partial"))


def test_cached_and_uncached_runs_give_the_same_losses(tmp_path, bench_home):
    from typer.testing import CliRunner

    from bench.cli import app
    from bench.training.distill import train

    corpus = make_corpus(tmp_path / "corpus", rows=10, native=2)
    cached = train(_cfg(corpus, name="cached", cache=True))
    result = CliRunner().invoke(app, [
        "train", "--lang", "zh", "--base", "tiny-sd15", "--encoder", "tiny", "--corpus", str(corpus),
        "--name", "uncached", "--no-cache", "--steps", "3", "--batch-size", "2", "--lr", "1e-3",
        "--resolution", "16", "--warmup-steps", "0", "--val-rows", "4", "--val-every", "0", "--save-every", "100"])
    assert result.exit_code == 0, result.output
    uncached = Path(bench_home) / "checkpoints" / "uncached"
    a = [r["loss"] for r in _log(cached) if "loss" in r]
    b = [r["loss"] for r in _log(uncached) if "loss" in r]
    assert len(a) == 3 and a == pytest.approx(b, rel=1e-4)
    assert any(r["denoise"] > 0 for r in _log(cached) if "loss" in r)  # hybrid rows took the denoising loss
    assert list((Path(bench_home) / "cache" / "latents").glob("*/shard-00000.safetensors"))


def test_frozen_cache_shards_resume_and_rebuild_only_what_changed(bench_home):
    from bench.training.frozen import FrozenCache

    calls = []

    def build(rows):
        calls.append(rows)
        return {"x": torch.tensor(rows, dtype=torch.float32).view(-1, 1) * 10, "y": torch.ones(len(rows), 2)}

    ids = [f"r{i}" for i in range(7)]
    cache = FrozenCache.load_or_build("latents", "unit", ids, build, shard_rows=3)
    assert calls == [[0, 1, 2], [3, 4, 5], [6]]
    assert cache.take([6, 0, 4])["x"].flatten().tolist() == [60.0, 0.0, 40.0]
    calls.clear()
    FrozenCache.load_or_build("latents", "unit", ids, build, shard_rows=3)
    assert calls == []  # everything reused
    changed = ids[:4] + ["other"] + ids[5:]
    cache = FrozenCache.load_or_build("latents", "unit", changed, build, shard_rows=3)
    assert calls == [[3, 4, 5]]  # only the shard whose ids changed
    assert cache.take([5])["y"].shape == (1, 2)


def test_a_corpus_without_the_language_is_a_clear_error(tmp_path, bench_home):
    from typer.testing import CliRunner

    from bench.cli import app

    corpus = make_corpus(tmp_path / "corpus", rows=2)
    result = CliRunner().invoke(app, ["train", "--lang", "ko", "--base", "tiny-sd15", "--encoder", "tiny",
                                      "--corpus", str(corpus)])
    assert result.exit_code != 0
    assert isinstance(result.exception, BenchError)
    assert "has no 'ko' rows (it has: en, zh)" in str(result.exception)


def test_an_encoder_that_does_not_fit_the_adapter_is_a_clear_error(tmp_path, bench_home):
    from bench.models.encoders import STUDENT_ENCODERS, StudentSpec, register_student
    from bench.training.distill import train

    corpus = make_corpus(tmp_path / "corpus", rows=6)
    if "tiny-misdeclared" not in STUDENT_ENCODERS:
        register_student(StudentSpec("tiny-misdeclared", "zoo:tiny-xlmr", "auto", 40, hidden_dim=64,
                                     max_length=16, tier="tiny"))
    with pytest.raises(BenchError, match="gives 48-d states but is registered as 40-d"):
        train(_cfg(corpus, encoder="tiny-misdeclared"))
    released = tmp_path / "pytorch_model.bin"  # released-style weights for a 1024-d encoder
    torch.save({"layernorm.weight": torch.ones(1024), "layernorm.bias": torch.zeros(1024),
                **{f"projector.{i}.weight": torch.zeros(64, 1024 if i == 0 else 64) for i in (0, 2)},
                "projector.4.weight": torch.zeros(32, 64)}, released)
    with pytest.raises(BenchError, match="takes 1024-d inputs but encoder 'tiny' gives 48-d states"):
        train(_cfg(corpus, name="init", init_adapter=str(released)))


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, bench_home, monkeypatch):
    from bench.training import distill

    corpus = make_corpus(tmp_path / "corpus", rows=8)
    calls = {"n": 0}
    real_loss = distill.Trainer.loss

    def poisoned(self, idx, gen, training=True):
        loss, parts = real_loss(self, idx, gen, training)
        if training:  # training micro-batches only
            calls["n"] += 1
            if calls["n"] == 3:
                return loss * float("nan"), parts
        return loss, parts

    monkeypatch.setattr(distill.Trainer, "loss", poisoned)
    with pytest.raises(distill.Diverged, match="loss became nan at step 3.*last good checkpoint is step 2"):
        distill.train(_cfg(corpus, name="nan", steps=5, save_every=2))
    folder = Path(bench_home) / "checkpoints" / "nan"
    assert json.loads((folder / "config.json").read_text())["step"] == 2
    assert all(torch.isfinite(v).all() for v in _weights(folder).values())
    assert math.isfinite(json.loads((folder / "config.json").read_text())["losses"]["train"])


def test_gradient_checkpointing_keeps_the_same_updates(tmp_path, bench_home):
    from bench.training.distill import train

    corpus = make_corpus(tmp_path / "corpus", rows=8)
    plain = train(_cfg(corpus, name="plain", steps=2, cfg_dropout=0.0))
    checkpointed = train(_cfg(corpus, name="ckpt", steps=2, cfg_dropout=0.0, gradient_checkpointing=True))
    a, b = _weights(plain), _weights(checkpointed)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_text_distillation_variant_fits_the_teacher_embeddings(tmp_path, bench_home):
    from bench.models.encoders import (
        STUDENT_ENCODERS,
        StudentEncoder,
        StudentSpec,
        load_student_encoder,
        register_student,
    )
    from bench.training.distill import train

    class Embed(torch.nn.Module):
        """A frozen random embedding table: enough of a 77-token student for the text-KD ablation."""

        def __init__(self, vocab: int):
            super().__init__()
            torch.manual_seed(0)
            self.table = torch.nn.Embedding(vocab, 48)

        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"last_hidden_state": self.table(input_ids)})()

    def load(spec):
        tokenizer = load_student_encoder("tiny").tokenizer
        return StudentEncoder(spec, tokenizer, Embed(len(tokenizer)))

    if "toy77" not in STUDENT_ENCODERS:
        register_student(StudentSpec("toy77", "local:toy77", "toy", 48, hidden_dim=64, max_length=77, tier="tiny",
                                     loader=load))
    corpus = make_corpus(tmp_path / "corpus", rows=8)
    folder = train(_cfg(corpus, name="text-kd", encoder="toy77", steps=8, lr=1e-2, kd_output=False,
                        kd_features=False, kd_text_weight=1.0, cfg_dropout=0.0, batch_size=4))
    rows = [r for r in _log(folder) if "loss" in r]
    assert rows[-1]["kd_text"] < 0.5 * rows[0]["kd_text"] and all(r["kd_output"] == 0.0 for r in rows)
    with pytest.raises(BenchError, match="as many student tokens as teacher tokens"):
        train(_cfg(corpus, name="text-kd-16", kd_text_weight=1.0))
