"""PEA knowledge distillation: the frozen UNet with English text teaches itself with native text + adapter."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import paths
from bench.config import config_hash, to_jsonable
from bench.errors import BenchError

log = logging.getLogger(__name__)

# Fields that do not change the trained weights: a run may be resumed with different values.
NOT_IN_HASH = ("name", "resume", "stop_after", "save_every", "val_every", "keep_checkpoints", "cache",
               "log_every")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a PEA training run (PAPER.md defaults; every switch is recorded)."""

    lang: str
    base: str  # registered base name (bench.models.bases)
    encoder: str  # registered student encoder name (bench.models.encoders)
    corpus: str  # corpora/<name> folder or a corpus name
    name: str | None = None  # checkpoint folder name; default pea-<lang>-<base>-<encoder>-<hash>
    steps: int = 1000
    batch_size: int = 4  # per micro-batch and process
    grad_accum: int = 1
    lr: float = 1e-5
    weight_decay: float = 0.1
    warmup_steps: int = 100
    lr_power: float = 1.0  # polynomial decay after warm-up
    lr_end: float = 0.0
    max_grad_norm: float = 1.0
    hidden_dim: int | None = None  # default: the paper's width for this encoder and base
    kd_output: bool = True  # MSE between student and teacher noise predictions
    kd_features: bool = True  # + feature_weight x sum of MSEs at every down, mid and up block output
    feature_weight: float = 0.1
    kd_text_weight: float = 0.0  # > 0 adds MSE(adapter output, teacher text embeddings): the ablation's text KD
    hybrid: bool = True  # native-only rows get the ordinary denoising loss (else they are skipped)
    cfg_dropout: float = 0.1  # one mask: teacher gets "" in English, student "" in the native language
    noise_offset: float = 0.5  # the public code's value
    resolution: int | None = None  # default: the base's resolution
    seed: int = 0
    mixed_precision: str = "fp16"  # on GPU; the CPU always trains in float32
    gradient_checkpointing: bool = False
    cache: bool = True  # compute frozen embeddings and latents once and reuse them
    val_rows: int = 8  # held-out parallel rows for the validation loss
    val_every: int = 100
    save_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 1
    init_adapter: str | None = None  # start from a checkpoint folder or released pytorch_model.bin
    stop_after: int | None = None  # stop (with a checkpoint) after this many steps: time-boxed runs, tests
    resume: bool = False
    limit_rows: int | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise BenchError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.cfg_dropout < 1.0:
            raise BenchError(f"cfg dropout must be in [0, 1), got {self.cfg_dropout}")
        if not (self.kd_output or self.kd_features or self.kd_text_weight > 0 or self.hybrid):
            raise BenchError("nothing to train: output, feature and text distillation and hybrid are all off")
        if self.lr <= 0:
            raise BenchError(f"learning rate must be positive, got {self.lr}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise BenchError(f"mixed precision must be no, fp16 or bf16, got {self.mixed_precision!r}")

    @property
    def run_hash(self) -> str:
        """Hash of the fields that decide the weights."""
        return config_hash(self, exclude=NOT_IN_HASH)

    def run_name(self) -> str:
        return self.name or f"pea-{self.lang}-{self.base}-{self.encoder}-{self.run_hash[:8]}"


class Diverged(BenchError):
    """The loss became NaN or infinite."""


def feature_modules(unet: Any) -> list[Any]:
    """The blocks whose outputs the feature loss compares: every down block, the mid block, every up block."""
    return [*unet.down_blocks, unet.mid_block, *unet.up_blocks]


class FeatureTap:
    """Forward hooks that record each block's output (a down block's first output) while enabled."""

    def __init__(self, modules: list[Any]) -> None:
        self.outputs: list[Any] = []
        self.enabled = False
        self.handles = [m.register_forward_hook(self._hook) for m in modules]

    def _hook(self, _module, _inputs, output) -> None:
        if self.enabled:
            self.outputs.append(output[0] if isinstance(output, tuple) else output)

    def run(self, fn, *args, **kwargs):
        """Call fn with recording on; returns (fn's result, recorded outputs)."""
        self.outputs, self.enabled = [], True
        try:
            result = fn(*args, **kwargs)
        finally:
            self.enabled = False
        return result, self.outputs

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _step_generator(seed: int, step: int, micro: int, what: str):
    """Randomness of one micro-batch, derived from (seed, step, micro): a resumed run draws the same."""
    import hashlib

    import torch

    digest = hashlib.sha256(f"{seed}:{step}:{micro}:{what}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))


def _order(seed: int, epoch: int, n: int):
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


class Trainer:
    """Holds the frozen models, the data and the adapter for one run; `run()` trains and checkpoints."""

    def __init__(self, cfg: TrainConfig) -> None:
        from bench.languages import get_language
        from bench.models.bases import get_base
        from bench.models.encoders import get_student_spec
        from bench.train import data

        self.cfg = cfg
        self.language = get_language(cfg.lang)
        self.base = get_base(cfg.base)
        self.spec = get_student_spec(cfg.encoder)
        self.corpus = data.find_corpus(cfg.corpus)
        self.run_dir = paths.checkpoint_dir(cfg.run_name())
        self.resolution = cfg.resolution or self.base.resolution
        if os.environ.get("HF_HUB_OFFLINE") == "1":  # fail in a second, before any data is read
            from bench.models import weights

            weights.require_offline(self.base.model_id, f"base '{self.base.name}'")
            if self.spec.loader is None:
                weights.require_offline(self.spec.model_id, f"student encoder '{self.spec.name}'", probe="config.json")
        if self.base.tier != self.spec.tier:
            log.warning("mixing a %s base with a %s student encoder", self.base.tier, self.spec.tier)

    # ---------------------------------------------------------------- setup
    def setup(self) -> None:
        """Load data and frozen models, build the adapter, the optimizer and the schedule."""
        import torch
        from accelerate import Accelerator

        from bench.models.adapter import PEAAdapter
        from bench.models.encoders import default_hidden_dim
        from bench.train import data

        cfg = self.cfg
        self.pairs = data.load_pairs(self.corpus, cfg.lang, hybrid=cfg.hybrid, normalise=self.language.normalise,
                                     limit=cfg.limit_rows)
        self.train_idx, self.val_idx = data.split_ids(self.pairs.ids, self.pairs.parallel, cfg.val_rows, cfg.seed)
        if not self.train_idx:
            raise BenchError(f"corpus {self.corpus}: no rows left to train on after holding out {cfg.val_rows}")
        self.corpus_info = data.fingerprint(self.corpus)

        cpu = not torch.cuda.is_available()
        self.accelerator = Accelerator(cpu=cpu, mixed_precision="no" if cpu else cfg.mixed_precision)
        device = self.accelerator.device
        self.weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(
            self.accelerator.mixed_precision, torch.float32)

        # The main process fetches or builds the weights first; the others then read finished folders.
        with self.accelerator.main_process_first():
            self._load_frozen(device)
        if cfg.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()

        hidden = cfg.hidden_dim or default_hidden_dim(self.spec, self.base.family, self.base.tier)
        # SDXL: the MLP ends at the pooled width and a projection makes the context; SD1.5: it ends at the context.
        shape = (dict(out_dim=self.base.pooled_dim, context_dim=self.base.context_dim) if self.base.is_sdxl
                 else dict(out_dim=self.base.context_dim))
        torch.manual_seed(cfg.seed)  # the initial weights follow from the run's seed
        adapter = PEAAdapter(self.spec.width, hidden, **shape)
        if cfg.init_adapter:
            adapter = self._init_from(adapter, Path(cfg.init_adapter))
        self.adapter = adapter.to(device)
        self.optimizer = torch.optim.AdamW(self.adapter.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        from diffusers.optimization import get_polynomial_decay_schedule_with_warmup

        self.lr_schedule = get_polynomial_decay_schedule_with_warmup(
            self.optimizer, num_warmup_steps=cfg.warmup_steps, num_training_steps=cfg.steps,
            lr_end=cfg.lr_end, power=cfg.lr_power)
        self.adapter, self.optimizer = self.accelerator.prepare(self.adapter, self.optimizer)
        self.tap = FeatureTap(feature_modules(self.unet))

        self.empty_student = self.student.encode([""])[0]
        self.empty_teacher = self.teacher.encode([""])
        probe, _ = self.student.encode([self.pairs.text[0]])
        if cfg.kd_text_weight > 0 and probe.shape[1] != self.empty_teacher[0].shape[1]:
            raise BenchError(f"text distillation needs as many student tokens as teacher tokens "
                             f"({probe.shape[1]} vs {self.empty_teacher[0].shape[1]}); use an encoder with "
                             f"max_length {self.empty_teacher[0].shape[1]}")
        if probe.shape[-1] != self._raw_adapter().in_dim:
            raise BenchError(f"encoder '{cfg.encoder}' gives {probe.shape[-1]}-d states but the adapter takes "
                             f"{self._raw_adapter().in_dim}-d inputs")
        with self.accelerator.main_process_first():  # the others then read what it cached
            self.cached = self._build_cache() if cfg.cache else None

    def _load_frozen(self, device) -> None:
        """The base's UNet, VAE, noise schedule and English encoders, and the student encoder, all frozen."""
        import torch
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel

        from bench.models import zoo
        from bench.models.encoders import load_student_encoder
        from bench.models.teachers import TeacherEncoder

        model_path = zoo.resolve(self.base.model_id)
        try:
            self.unet = UNet2DConditionModel.from_pretrained(model_path, subfolder="unet")
            self.vae = AutoencoderKL.from_pretrained(model_path, subfolder="vae")
            self.noise_scheduler = DDPMScheduler.from_pretrained(model_path, subfolder="scheduler")
        except OSError as exc:
            from bench.errors import NotAvailableOffline

            raise NotAvailableOffline(f"cannot load base '{self.base.name}' ({self.base.model_id}): "
                                      f"{str(exc).splitlines()[0][:160]}") from None
        self.unet.requires_grad_(False).eval().to(device, dtype=self.weight_dtype)
        # The SDXL VAE overflows in fp16; it runs once per image (cached), so float32 costs little.
        self.vae.requires_grad_(False).eval().to(device, dtype=torch.float32)
        self.student = load_student_encoder(self.cfg.encoder).to(device)
        self.teacher = TeacherEncoder.from_base(self.base).to(device, dtype=self.weight_dtype)

    def _raw_adapter(self):
        return self.accelerator.unwrap_model(self.adapter)

    def _init_from(self, adapter, path: Path):
        """Start from a previous checkpoint folder or the released weights file; shapes must fit."""
        from bench.train.checkpoint import WEIGHTS

        if path.is_dir():
            from safetensors.torch import load_file

            state = load_file(str(path / WEIGHTS))
            own = adapter.state_dict()
            for key, value in state.items():
                if key not in own or own[key].shape != value.shape:
                    raise BenchError(f"{path}: weight {key} {tuple(value.shape)} does not fit the adapter "
                                     f"{adapter.config}; the encoder width or base differs")
            adapter.load_state_dict(state)
            return adapter
        from bench.models.adapter import load_released_weights

        released = load_released_weights(path)
        if released.in_dim != self.spec.width:
            raise BenchError(f"{path} takes {released.in_dim}-d inputs but encoder '{self.spec.name}' gives "
                             f"{self.spec.width}-d states")
        want = {k: v for k, v in adapter.config.items() if k not in ("hidden_dim", "mlp_bias")}
        got = {k: v for k, v in released.config.items() if k not in ("hidden_dim", "mlp_bias")}
        if want != got:
            raise BenchError(f"{path} is an adapter {got}, base '{self.base.name}' needs {want}")
        return released

    # ---------------------------------------------------------------- frozen inputs
    def _encode_rows(self, idx: list[int]) -> dict[str, Any]:
        """Student states, teacher context/pooled and latent moments for rows `idx`, computed now."""


        texts = [self.pairs.text[i] for i in idx]
        states, _ = self.student.encode(texts)
        out = {"student": states}
        en = [self.pairs.text_en[i] or "" for i in idx]
        ctx, pooled = self.teacher.encode(en)
        out["teacher"] = ctx
        if pooled is not None:
            out["teacher_pooled"] = pooled
        return {**out, **self._encode_rows_latents(idx)}

    def _build_cache(self) -> list[Any]:
        """Compute every row's frozen inputs once (batched), keyed by model ids and corpus hash."""
        import torch

        from bench.train.data import FrozenCache

        common = {"corpus": self.corpus_info["content_hash"], "lang": self.cfg.lang,
                  "limit": self.cfg.limit_rows, "hybrid": self.cfg.hybrid}
        ids = self.pairs.ids

        def batched(fn):
            def build(rows: list[int]) -> dict[str, Any]:
                parts = [fn(rows[i:i + 16]) for i in range(0, len(rows), 16)]
                return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
            return build

        def student_part(ix):
            return {"student": self.student.encode([self.pairs.text[i] for i in ix])[0]}

        def teacher_part(ix):
            ctx, pooled = self.teacher.encode([self.pairs.text_en[i] or "" for i in ix])
            return {"teacher": ctx, **({"teacher_pooled": pooled} if pooled is not None else {})}

        return [
            FrozenCache.load_or_build("text-embeddings", FrozenCache.key(
                "student", model=_model_key(self.spec.model_id), max_length=self.spec.max_length, **common), ids,
                batched(student_part)),
            FrozenCache.load_or_build("text-embeddings", FrozenCache.key(
                "teacher", model=_model_key(self.base.model_id), dtype=str(self.weight_dtype), **common), ids,
                batched(teacher_part)),
            FrozenCache.load_or_build("latents", FrozenCache.key(
                "latents", model=_model_key(self.base.model_id), resolution=self.resolution, **common), ids,
                batched(self._encode_rows_latents)),
        ]

    def _encode_rows_latents(self, idx: list[int]) -> dict[str, Any]:
        import torch

        from bench.train.data import to_pixels

        pixels = to_pixels([self.pairs.image(i) for i in idx], self.resolution).to(self.accelerator.device)
        with torch.no_grad():
            dist = self.vae.encode(pixels).latent_dist
        return {"latent_mean": dist.mean.float(), "latent_std": dist.std.float()}

    def _inputs(self, idx: list[int]) -> dict[str, Any]:
        """Frozen inputs for rows idx: from the cache, or computed on the spot (same values either way)."""
        device = self.accelerator.device
        if self.cached is None:
            return self._encode_rows(idx)
        return {k: v.to(device) for cache in self.cached for k, v in cache.take(idx).items()}

    # ---------------------------------------------------------------- the loss
    def _time_ids(self, batch: int):
        from bench.models.teachers import add_time_ids

        return add_time_ids(self.resolution, self.resolution, batch).to(self.accelerator.device,
                                                                        dtype=self.weight_dtype)

    def _unet(self, noisy, t, context, pooled):
        added = None
        if self.base.is_sdxl:
            added = {"text_embeds": pooled.to(self.weight_dtype), "time_ids": self._time_ids(noisy.shape[0])}
        return self.unet(noisy.to(self.weight_dtype), t, context.to(self.weight_dtype),
                         added_cond_kwargs=added).sample

    def loss(self, idx: list[int], gen, training: bool = True) -> tuple[Any, dict[str, float]]:
        """Distillation loss on parallel rows + denoising loss on native rows, for one micro-batch.

        training=False is the validation measure: no CFG dropout, noise-prediction MSE only.
        """
        import torch
        import torch.nn.functional as F

        cfg, device = self.cfg, self.accelerator.device
        x = self._inputs(idx)
        b = len(idx)
        sf = self.vae.config.scaling_factor
        mean, std = x["latent_mean"], x["latent_std"]
        latents = (mean + std * torch.randn(mean.shape, generator=gen).to(device)) * sf
        noise = torch.randn(latents.shape, generator=gen).to(device)
        if cfg.noise_offset:
            noise = noise + cfg.noise_offset * torch.randn((b, latents.shape[1], 1, 1), generator=gen).to(device)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (b,), generator=gen).to(device)
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        drop = (torch.rand(b, generator=gen) < cfg.cfg_dropout).to(device) if training else torch.zeros(
            b, dtype=torch.bool, device=device)
        kd_output, kd_features = (cfg.kd_output, cfg.kd_features) if training else (True, False)

        keep = (~drop).view(b, 1, 1)
        states = torch.where(keep, x["student"], self.empty_student.to(device))
        with self.accelerator.autocast():
            context, pooled = self.adapter(states)
            student_out, student_feats = self.tap.run(self._unet, noisy, t, context, pooled)
        student_out = student_out.float()

        parallel = torch.tensor([self.pairs.text_en[i] is not None for i in idx], device=device)
        parts = {"kd_output": 0.0, "kd_features": 0.0, "kd_text": 0.0, "denoise": 0.0}
        total = torch.zeros((), device=device)
        kd_text = cfg.kd_text_weight > 0 and training
        if parallel.any() and (kd_output or kd_features or kd_text):
            p = parallel
            share = p.float().mean()
            t_ctx = torch.where(keep, x["teacher"], self.empty_teacher[0].to(device))[p]
            t_pool = None
            if self.base.is_sdxl:
                t_pool = torch.where(keep.view(b, 1), x["teacher_pooled"], self.empty_teacher[1].to(device))[p]
            if kd_text:  # the ablation's text-encoder KD: the adapter's output against the teacher's embeddings
                text = F.mse_loss(context[p].float(), t_ctx.float())
                if t_pool is not None:
                    text = text + F.mse_loss(pooled[p].float(), t_pool.float())
                total = total + share * cfg.kd_text_weight * text
                parts["kd_text"] = text.item()
        if parallel.any() and (kd_output or kd_features):
            with torch.no_grad(), self.accelerator.autocast():
                teacher_out, teacher_feats = self.tap.run(self._unet, noisy[p], t[p], t_ctx, t_pool)
            if kd_output:
                kd = F.mse_loss(student_out[p], teacher_out.float())
                total = total + share * kd
                parts["kd_output"] = kd.item()
            if kd_features:
                feat = sum(F.mse_loss(s[p].float(), tt.float()) for s, tt in zip(student_feats, teacher_feats,
                                                                                   strict=True))
                total = total + share * cfg.feature_weight * feat
                parts["kd_features"] = feat.item()
        native = ~parallel
        if native.any() and cfg.hybrid:
            if self.noise_scheduler.config.prediction_type == "v_prediction":
                target = self.noise_scheduler.get_velocity(latents, noise, t)
            else:
                target = noise
            den = F.mse_loss(student_out[native], target[native].float())
            total = total + native.float().mean() * den
            parts["denoise"] = den.item()
        return total, parts

    def validate(self) -> float | None:
        """Held-out student-teacher MSE of noise predictions, with fixed noise and timesteps (no dropout)."""
        import torch

        if not self.val_idx:
            return None
        self.adapter.eval()
        errors = []
        with torch.no_grad():
            for start in range(0, len(self.val_idx), self.cfg.batch_size):
                idx = self.val_idx[start:start + self.cfg.batch_size]
                gen = _step_generator(self.cfg.seed, -1, start, "val")
                loss, _ = self.loss(idx, gen, training=False)
                errors.append(loss.item() * len(idx))
        self.adapter.train()
        return sum(errors) / len(self.val_idx)

    def _batch(self, step: int, micro: int) -> list[int]:
        """Row indices of one micro-batch: epochs are seeded permutations of the training rows."""
        cfg, n = self.cfg, len(self.train_idx)
        # Each process takes its own slice of the global batch; one process sees the same order as many.
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        start = (((step - 1) * cfg.grad_accum + micro) * world + rank) * cfg.batch_size
        out = []
        for pos in range(start, start + cfg.batch_size):
            epoch, offset = divmod(pos, n)
            if not hasattr(self, "_perm") or self._perm[0] != epoch:
                self._perm = (epoch, _order(cfg.seed, epoch, n).tolist())
            out.append(self.train_idx[self._perm[1][offset]])
        return out

    # ---------------------------------------------------------------- checkpoints
    def _config_json(self, step: int, losses: dict) -> dict:
        from bench.models.adapter import parameter_count
        from bench.train.checkpoint import provenance

        adapter = self._raw_adapter()
        return {
            "format": "pea-bench-adapter/1",
            "base": self.base.name, "base_model": self.base.model_id, "family": self.base.family,
            "tier": "tiny" if "tiny" in (self.base.tier, self.spec.tier) else "real",
            "encoder": self.spec.name, "encoder_model": self.spec.model_id, "encoder_width": self.spec.width,
            "lang": self.cfg.lang, "adapter": adapter.config, "parameters": parameter_count(adapter),
            "step": step, "corpus": {**self.corpus_info, "rows": len(self.pairs), "skipped": self.pairs.skipped,
                                     "train_rows": len(self.train_idx), "val_rows": len(self.val_idx)},
            "training": {**to_jsonable(self.cfg), "run_hash": self.cfg.run_hash, "resolution": self.resolution,
                         "device": str(self.accelerator.device), "weight_dtype": str(self.weight_dtype),
                         "processes": self.accelerator.num_processes},
            "losses": losses, "choices": CHOICES, "provenance": provenance(),
        }

    def _save(self, step: int, losses: dict) -> Path:
        import torch

        from bench.train.checkpoint import write_checkpoint

        state = {"step": step, "run_hash": self.cfg.run_hash, "optimizer": self.optimizer.state_dict(),
                 "lr_schedule": self.lr_schedule.state_dict(), "torch_rng": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return write_checkpoint(self.run_dir, step, self._raw_adapter(), self._config_json(step, losses), state,
                                keep=self.cfg.keep_checkpoints)

    def _restore(self) -> tuple[int, dict]:
        """Load the latest complete step checkpoint of this run; (step, losses)."""
        import torch
        from safetensors.torch import load_file

        from bench.train.checkpoint import WEIGHTS, complete_steps, read_config, read_state

        steps = complete_steps(self.run_dir)
        if not steps:
            log.info("nothing to resume in %s; starting at step 0", self.run_dir)
            return 0, {}
        folder = steps[-1]
        state = read_state(folder)
        if state["run_hash"] != self.cfg.run_hash:
            raise BenchError(f"{folder} was trained with a different config (run hash {state['run_hash']} != "
                             f"{self.cfg.run_hash}); use another --name or the same settings")
        self._raw_adapter().load_state_dict(load_file(str(folder / WEIGHTS)))
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_schedule.load_state_dict(state["lr_schedule"])
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        log.info("resuming %s from step %d", self.run_dir.name, state["step"])
        return int(state["step"]), read_config(folder).get("losses", {})

    # ---------------------------------------------------------------- the loop
    def run(self) -> Path:
        """Train to cfg.steps (or stop_after), checkpointing every save_every steps; returns the run folder."""
        import torch


        cfg = self.cfg
        # One writer per run folder: the main process holds the lock, the others follow it.
        lock = paths.locked(self.run_dir / ".lock", what=f"training run {self.run_dir.name}") \
            if self.accelerator.is_main_process else contextlib.nullcontext()
        with lock:
            start, losses = self._restore() if cfg.resume else (0, {})
            log_path = self.run_dir / "log.jsonl"
            history = _read_log(log_path, upto=start)
            end = min(cfg.steps, start + cfg.stop_after) if cfg.stop_after else cfg.steps
            if start == 0 and "val" not in losses:
                losses["val_initial"] = self.validate()
                history.append({"step": 0, "val": losses["val_initial"]})
            self.adapter.train()
            last_saved = start
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            progress = Progress(TextColumn("train {task.fields[name]}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total} loss {task.fields[loss]:.4g}"),
                                TimeRemainingColumn(), disable=not self.accelerator.is_main_process)
            with progress:
                task = progress.add_task("train", total=cfg.steps, completed=start, name=self.run_dir.name,
                                         loss=float("nan"))
                for step in range(start + 1, end + 1):
                    tick = time.perf_counter()
                    total, lr, parts_sum = self.step(step, last_saved)
                    if self.accelerator.num_processes > 1:  # log the global batch's loss, not one rank's
                        total = self.accelerator.reduce(torch.tensor(total, device=self.accelerator.device),
                                                        reduction="mean").item()
                    row = {"step": step, "loss": total, "lr": lr, **parts_sum,
                           "seconds": time.perf_counter() - tick}
                    losses["train"] = total
                    if cfg.val_every and (step % cfg.val_every == 0 or step == end):
                        row["val"] = losses["val"] = self.validate()
                    if step % cfg.log_every == 0 or "val" in row:
                        history.append(row)
                    progress.update(task, completed=step, loss=total)
                    if step % cfg.save_every == 0 or step == end:
                        if self.accelerator.is_main_process:
                            self._save(step, dict(losses))
                            paths.write_jsonl(log_path, history)
                        self.accelerator.wait_for_everyone()
                        last_saved = step
            self.tap.remove()
            if self.accelerator.is_main_process:
                paths.write_jsonl(log_path, history)
        return self.run_dir

    def step(self, step: int, last_saved: int = 0) -> tuple[float, float, dict[str, float]]:
        """One optimizer step (all micro-batches); returns (loss, learning rate used, loss parts)."""
        import torch

        cfg = self.cfg
        parts_sum: dict[str, float] = {}
        total = 0.0
        for micro in range(cfg.grad_accum):
            rank = self.accelerator.process_index
            gen = _step_generator(cfg.seed, step, micro * self.accelerator.num_processes + rank, "train")
            loss, parts = self.loss(self._batch(step, micro), gen)
            if not torch.isfinite(loss):
                self._diverged(step, last_saved, loss.item())
            # Gradients are all-reduced once per optimizer step, not per micro-batch.
            sync = micro == cfg.grad_accum - 1
            with contextlib.nullcontext() if sync else self.accelerator.no_sync(self.adapter):
                self.accelerator.backward(loss / cfg.grad_accum)
            total += loss.item() / cfg.grad_accum
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v / cfg.grad_accum
        if cfg.max_grad_norm:
            norm = self.accelerator.clip_grad_norm_(self.adapter.parameters(), cfg.max_grad_norm)
            # Under fp16 the grad scaler skips steps with overflowing gradients by design; elsewhere it is fatal.
            if self.accelerator.scaler is None and not torch.isfinite(torch.as_tensor(norm)):
                self._diverged(step, last_saved, float(norm))
        lr = self.lr_schedule.get_last_lr()[0]
        self.optimizer.step()
        self.lr_schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total, lr, parts_sum

    def _diverged(self, step: int, last_saved: int, value: float) -> None:
        where = f"the last good checkpoint is step {last_saved} in {self.run_dir}" if last_saved else \
            "no checkpoint was written"
        log.error("loss became %s at step %d; stopping", value, step)
        raise Diverged(f"training diverged: loss became {value} at step {step}; stopped ({where}); "
                       f"lower --lr or check the corpus")


def _model_key(model_id: str) -> str:
    """What names a model's exact weights for cache keys: zoo folder (with version), local path, hub snapshot."""
    from bench.models import weights, zoo

    if zoo.is_zoo(model_id):
        return Path(zoo.resolve(model_id)).name
    if Path(model_id).exists():
        return str(Path(model_id).resolve())
    try:
        snapshot = weights.hub_snapshot(model_id, probe="config.json") or weights.hub_snapshot(model_id)
    except ValueError:  # not a hub id at all (a custom loader's own label)
        snapshot = None
    return f"{model_id}@{snapshot.name}" if snapshot is not None else model_id


def _read_log(path: Path, upto: int) -> list[dict]:
    """Log rows up to step `upto` (a resumed run rewrites what came after its checkpoint)."""
    if not path.exists() or upto == 0:
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("step", 0) <= upto]


# Where the code follows the public implementation or had to choose; recorded in every config.json.
CHOICES = {
    "pooled": "mean of the MLP output over all tokens, padding included (public code)",
    "cfg_dropout_teacher": "empty English prompt through the teacher encoders (not zeros)",
    "time_ids": "(R, R, 0, 0, R, R): uncropped square training images",
    "latents": "sampled from the VAE posterior with the step's generator, times scaling_factor",
    "feature_loss": "MSE at each down block's hidden-state output, the mid block and each up block",
    "val_loss": "held-out parallel rows, noise-prediction MSE only, fixed noise/timesteps, no dropout",
}


def train(cfg: TrainConfig) -> Path:
    """Run PEA distillation for `cfg`; returns the checkpoint folder (latest good adapter at its top)."""
    trainer = Trainer(cfg)
    existing = trainer.run_dir / "config.json"
    if existing.exists():
        done = paths.read_json(existing)
        same = done.get("training", {}).get("run_hash") == cfg.run_hash
        if same and done.get("step", 0) >= cfg.steps:
            log.info("%s is already trained to step %d; nothing to do", trainer.run_dir, done["step"])
            return trainer.run_dir
        if not same:
            raise BenchError(f"{trainer.run_dir} already holds a run with other settings; choose another --name")
        if not cfg.resume:
            raise BenchError(f"{trainer.run_dir} already holds this run up to step {done.get('step')}; "
                             f"pass --resume to continue it")
    trainer.setup()
    return trainer.run()
