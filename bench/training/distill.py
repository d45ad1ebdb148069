"""PEA knowledge distillation: the frozen UNet with English text teaches itself with native text + adapter.

The training loop and its setup; the losses (losses.py), frozen inputs (frozen.py), checkpoints (checkpoint.py),
the schedule (schedule.py) and the config (config.py) live beside it. Over 400 lines because the loop is
kept in one file to be read top to bottom (setup, step, validation, save, resume), as nanoGPT's is.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from bench.core import paths, runtime
from bench.core.errors import BenchError
from bench.corpus.folder import find_corpus
from bench.training import checkpoint, losses
from bench.training.batches import BatchOrder, step_generator, validation_batches
from bench.training.buckets import Layout
from bench.training.config import TrainConfig
from bench.training.frozen import FrozenInputs, load_frozen_models, model_key
from bench.training.hooks import FeatureTap, feature_modules
from bench.training.schedule import build_schedule

__all__ = ["Diverged", "FeatureTap", "TrainConfig", "Trainer", "feature_modules", "train"]

log = logging.getLogger(__name__)


class Diverged(BenchError):
    """The loss became NaN or infinite."""


class Trainer:
    """Holds the frozen models, the data and the adapter for one run; `run()` trains and checkpoints."""

    def __init__(self, cfg: TrainConfig) -> None:
        from bench.core.languages import get_language
        from bench.models.bases import get_base
        from bench.models.encoders import get_student_spec

        self.cfg = cfg
        self.language = get_language(cfg.lang)
        self.base = get_base(cfg.base)
        assert cfg.encoder is not None and cfg.corpus is not None  # TrainConfig fills both
        self.spec = get_student_spec(cfg.encoder)
        self.corpus = find_corpus(cfg.corpus)
        self.run_dir = paths.checkpoint_dir(cfg.run_name())
        self.resolution = cfg.resolution or self.base.resolution
        if runtime.hub_offline():  # fail in a second, before any data is read
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
        from bench.training import data

        cfg = self.cfg
        self.pairs = data.load_pairs(self.corpus, cfg.lang, hybrid=cfg.hybrid, normalise=self.language.normalise,
                                     limit=cfg.limit_rows)
        self.train_idx, self.val_idx = data.split_ids(self.pairs.ids, self.pairs.parallel, cfg.val_rows, cfg.seed)
        if not self.train_idx:
            raise BenchError(f"corpus {self.corpus}: no rows left to train on after holding out {cfg.val_rows}")
        self.corpus_info = data.fingerprint(self.corpus)

        cpu = not torch.cuda.is_available()
        # A CPU has no fp16 autocast worth having; bf16 it has, and full-size models need its half memory there.
        precision = "no" if cpu and cfg.mixed_precision == "fp16" else cfg.mixed_precision
        self.accelerator = Accelerator(cpu=cpu, mixed_precision=precision)
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
            adapter = checkpoint.init_weights(adapter, Path(cfg.init_adapter), self.spec, self.base.name)
        self.adapter = adapter.to(device)
        # The recipe filled these when the config was built.
        assert cfg.weight_decay is not None and cfg.lr_decay_steps is not None and cfg.lr_end is not None
        self.optimizer = torch.optim.AdamW(self.adapter.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.warmup_steps > cfg.steps:
            log.warning("--warmup-steps %d is longer than the run (%d steps): warming up over %d steps instead",
                        cfg.warmup_steps, cfg.steps, cfg.warmup)
        self.lr_schedule = build_schedule(self.optimizer, cfg.lr, cfg.warmup, cfg.lr_decay_steps, cfg.lr_power,
                                          cfg.lr_end)
        self.adapter, self.optimizer = self.accelerator.prepare(self.adapter, self.optimizer)
        self.tap = FeatureTap(feature_modules(self.unet))

        self.empty_student = self.student.encode([""])[0]
        self.empty_teacher = self.teacher.encode([""])
        probe, _ = self.student.encode([self.pairs.text[0]])
        if cfg.kd_text_weight > 0 and probe.shape[1] != self.empty_teacher[0].shape[1]:
            raise BenchError(f"text distillation needs as many student tokens as teacher tokens "
                             f"({probe.shape[1]} vs {self.empty_teacher[0].shape[1]}); use an encoder with "
                             f"max_length {self.empty_teacher[0].shape[1]}")
        if probe.shape[-1] != self.raw_adapter().in_dim:
            raise BenchError(f"encoder '{cfg.encoder}' gives {probe.shape[-1]}-d states but the adapter takes "
                             f"{self.raw_adapter().in_dim}-d inputs")
        self.layout = Layout.for_models(self.pairs, self.vae, self.unet, self.resolution, cfg.seed) \
            if self.base.is_sdxl and cfg.aspect_buckets else None
        self.frozen = FrozenInputs(self.pairs, self.student, self.teacher, self.vae, self.resolution, device,
                                   self.layout)
        self.order = BatchOrder(self.train_idx, cfg.batch_size, cfg.seed, self.layout)
        if cfg.cache:
            with self.accelerator.main_process_first():  # the others then read what it cached
                self._build_cache()

    def _load_frozen(self, device) -> None:
        """The base's UNet, VAE, noise schedule and English encoders, and the student encoder, all frozen."""
        self.unet, self.vae, self.noise_scheduler, self.student, self.teacher = load_frozen_models(
            self.base, self.spec.name, device, self.weight_dtype)

    def raw_adapter(self):
        return self.accelerator.unwrap_model(self.adapter)

    # ---------------------------------------------------------------- frozen inputs
    def _build_cache(self) -> None:
        """Cache every row's frozen inputs, keyed by the models, the corpus content and the row selection."""
        common = {"corpus": self.corpus_info["content_hash"], "lang": self.cfg.lang,
                  "limit": self.cfg.limit_rows, "hybrid": self.cfg.hybrid}
        self.frozen.build_cache(
            common,
            student_key={"model": model_key(self.spec.model_id), "max_length": self.spec.max_length},
            teacher_key={"model": model_key(self.base.model_id), "dtype": str(self.weight_dtype)},
            latent_key={"model": model_key(self.base.model_id), "resolution": self.resolution,
                        **({"crop_seed": self.cfg.seed} if self.layout is not None else {})})

    def inputs(self, idx: list[int]) -> dict[str, Any]:
        """Frozen inputs for rows idx: from the cache, or computed on the spot (same values either way)."""
        return self.frozen.take(idx)

    # ---------------------------------------------------------------- the loss
    def _time_ids(self, idx: list[int]):
        """SDXL time ids of rows idx: each image's bucket layout, or an uncropped square (R, R, 0, 0, R, R)."""
        from bench.models.teachers import add_time_ids

        ids = self.layout.time_ids(idx) if self.layout is not None else add_time_ids(
            self.resolution, self.resolution, len(idx))
        return ids.to(self.accelerator.device, dtype=self.weight_dtype)

    def _unet(self, noisy, t, context, pooled, time_ids=None):
        added = None
        if self.base.is_sdxl:
            added = {"text_embeds": pooled.to(self.weight_dtype), "time_ids": time_ids}
        return self.unet(noisy.to(self.weight_dtype), t, context.to(self.weight_dtype),
                         added_cond_kwargs=added).sample

    def loss(self, idx: list[int], gen, training: bool = True) -> tuple[Any, dict[str, float]]:
        """Distillation loss on parallel rows + denoising loss on native rows, for one micro-batch.

        training=False is the validation measure: no CFG dropout, noise-prediction MSE only.
        """
        import torch

        cfg, device = self.cfg, self.accelerator.device
        x = self.inputs(idx)
        b = len(idx)
        # The draws, in a fixed order from the step's generator: latents, noise, timesteps, dropout.
        latents = losses.sample_latents(x["latent_mean"], x["latent_std"], self.vae.config.scaling_factor, gen)
        noise = losses.offset_noise(latents.shape, cfg.noise_offset or 0.0, gen).to(device)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (b,), generator=gen).to(device)
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        drop = losses.dropout_mask(b, cfg.cfg_dropout, gen).to(device) if training else torch.zeros(
            b, dtype=torch.bool, device=device)
        kd_output, kd_features = (cfg.kd_output, cfg.kd_features) if training else (True, False)
        kd_text = cfg.kd_text_weight > 0 and training

        keep = ~drop
        states = losses.replace_rows(keep, x["student"], self.empty_student)
        # Official recipe: dropout empties the context only; the pooled embedding stays conditional.
        pooled_cond = self.base.is_sdxl and not cfg.cfg_dropout_pooled and bool(drop.any())
        with self.accelerator.autocast():
            if pooled_cond:  # one adapter call (DDP counts calls) on the dropped and the conditional rows
                context, pooled = self.adapter(torch.cat([states, x["student"]]))
                context, pooled = context[:b], pooled[b:]
            else:
                context, pooled = self.adapter(states)
            time_ids = self._time_ids(idx) if self.base.is_sdxl else None
            student_out, student_feats = self.tap.run(self._unet, noisy, t, context, pooled, time_ids)
        student_out = student_out.float()

        parallel = torch.tensor([self.pairs.text_en[i] is not None for i in idx], device=device)
        native = ~parallel
        terms: dict[str, Any] = {}
        if parallel.any() and (kd_output or kd_features or kd_text):
            p = parallel
            t_ctx = losses.replace_rows(keep, x["teacher"], self.empty_teacher[0])[p]
            t_pool = None
            if self.base.is_sdxl:
                t_pool = (losses.replace_rows(keep, x["teacher_pooled"], self.empty_teacher[1])
                          if cfg.cfg_dropout_pooled else x["teacher_pooled"])[p]
            if kd_text:  # the ablation's text-encoder KD: the adapter's output against the teacher's embeddings
                terms["kd_text"] = losses.text_loss(context[p], t_ctx, pooled[p] if t_pool is not None else None,
                                                    t_pool)
            if kd_output or kd_features:
                with torch.no_grad(), self.accelerator.autocast():
                    teacher_out, teacher_feats = self.tap.run(self._unet, noisy[p], t[p], t_ctx, t_pool,
                                                              None if time_ids is None else time_ids[p])
                if kd_output:
                    terms["kd_output"] = losses.mse(student_out[p], teacher_out)
                if kd_features:
                    terms["kd_features"] = losses.feature_loss([s[p] for s in student_feats], teacher_feats)
        if native.any() and cfg.hybrid:
            velocity = self.noise_scheduler.get_velocity(latents, noise, t) \
                if self.noise_scheduler.config.prediction_type == "v_prediction" else None
            target = losses.denoise_target(self.noise_scheduler.config.prediction_type, noise, velocity)
            terms["denoise"] = losses.mse(student_out[native], target[native])
        total = losses.combine(parallel.float().mean(), native.float().mean(), **terms,
                               feature_weight=cfg.feature_weight, text_weight=cfg.kd_text_weight)
        if not terms:
            total = torch.zeros((), device=device)
        parts = {k: (terms[k].item() if k in terms else 0.0) for k in ("kd_output", "kd_features", "kd_text",
                                                                        "denoise")}
        return total, parts

    def validate(self) -> float | None:
        """Held-out student-teacher MSE of noise predictions, with fixed noise and timesteps (no dropout)."""
        import torch

        if not self.val_idx:
            return None
        self.adapter.eval()
        errors = []
        with torch.no_grad():
            start = 0
            for idx in validation_batches(self.val_idx, self.cfg.batch_size, self.layout):
                gen = step_generator(self.cfg.seed, -1, start, "val")
                start += len(idx)
                loss, _ = self.loss(idx, gen, training=False)
                errors.append(loss.item() * len(idx))
        self.adapter.train()
        return sum(errors) / len(self.val_idx)

    def batch_indices(self, step: int, micro: int) -> list[int]:
        """Row indices of one micro-batch (bench.training.batches decides the order)."""
        # Each process takes its own slice of the global batch; one process sees the same order as many.
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        return self.order.batch(((step - 1) * self.cfg.grad_accum + micro) * world + rank)

    # ---------------------------------------------------------------- checkpoints
    def _config_json(self, step: int, losses: dict) -> dict:
        """config.json of a checkpoint: the models, the adapter, the corpus, the training config, the losses."""
        return checkpoint.run_record(self, step, losses)

    def _save(self, step: int, losses: dict, history: list[dict]) -> Path:
        state = checkpoint.training_state(step, self.cfg.run_hash, self.optimizer, self.lr_schedule)
        return checkpoint.write_checkpoint(self.run_dir, step, self.raw_adapter(), self._config_json(step, losses),
                                           state, keep=self.cfg.keep_checkpoints, log_rows=history)

    def _restore(self) -> tuple[int, dict, Path | None]:
        """Load the latest complete step checkpoint of this run; (step, losses, its folder)."""
        steps = checkpoint.complete_steps(self.run_dir)
        if not steps:
            log.info("nothing to resume in %s; starting at step 0", self.run_dir)
            return 0, {}, None
        step, saved = checkpoint.restore(steps[-1], self.cfg.run_hash, self.raw_adapter(), self.optimizer,
                                         self.lr_schedule)
        log.info("resuming %s from step %d", self.run_dir.name, step)
        return step, saved, steps[-1]

    # ---------------------------------------------------------------- the loop
    def run(self) -> Path:
        """Train to cfg.steps (or stop_after), checkpointing every save_every steps; returns the run folder."""
        import torch

        cfg = self.cfg
        # One writer per run folder: the main process holds the lock, the others follow it.
        lock = paths.locked(paths.checkpoint_lock(self.run_dir), what=f"training run {self.run_dir.name}") \
            if self.accelerator.is_main_process else contextlib.nullcontext()
        with lock:
            if self.accelerator.is_main_process:
                checkpoint.repair(self.run_dir)
            losses: dict[str, Any]
            start, losses, step_dir = self._restore() if cfg.resume else (0, {}, None)
            log_path = paths.checkpoint_log_path(self.run_dir)
            history = checkpoint.read_log(log_path, upto=start, step_dir=step_dir)
            end = min(cfg.steps, start + cfg.stop_after) if cfg.stop_after else cfg.steps
            if start == 0 and "val" not in losses:
                losses["val_initial"] = self.validate()
                history.append({"step": 0, "val": losses["val_initial"]})
            self.adapter.train()
            last_saved = start
            from bench.core.progress import rate_bar

            # A bar on a terminal, a line every BENCH_PROGRESS_SECONDS in a log file (a long run is not silent).
            progress = rate_bar("steps", enabled=self.accelerator.is_main_process, precision=2,
                                fields="loss {task.fields[loss]:.4g}")
            with progress:
                task = progress.add_task(f"train {self.run_dir.name}", total=cfg.steps, completed=start,
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
                            self._save(step, dict(losses), history)  # the log goes into the step folder
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
            gen = step_generator(cfg.seed, step, micro * self.accelerator.num_processes + rank, "train")
            loss, parts = self.loss(self.batch_indices(step, micro), gen)
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


def train(cfg: TrainConfig) -> Path:
    """Run PEA distillation for `cfg`; returns the checkpoint folder (latest good adapter at its top)."""
    folder = paths.checkpoint_dir(cfg.run_name())
    if cfg.resume and not folder.is_dir():
        # A folder with no step yet (killed before the first save) resumes from step 0; no folder at all is a
        # name that was never trained, and training it from scratch would hide the typo.
        raise BenchError(f"--resume: no training run '{folder.name}' in {folder.parent} to continue; "
                         "check --name (the folder names there), or leave out --resume to start it")
    trainer = Trainer(cfg)
    # The newest complete step is what a repair would restore: it decides, before anything is touched,
    # whether this command may continue the folder at all.
    steps = checkpoint.complete_steps(trainer.run_dir)
    existing = steps[-1] / checkpoint.CONFIG if steps else trainer.run_dir / checkpoint.CONFIG
    if existing.exists() and paths.read_json(existing).get("training", {}).get("run_hash") != cfg.run_hash:
        raise BenchError(f"{trainer.run_dir} already holds a run with other settings; choose another --name")
    if runtime.process_layout()[0] == 0 and trainer.run_dir.is_dir():
        # A kill mid-save: leftovers go and the top level comes back to the newest complete step, so the
        # "already trained" check below reads a consistent folder.
        with paths.locked(paths.checkpoint_lock(trainer.run_dir), what=f"training run {trainer.run_dir.name}"):
            checkpoint.repair(trainer.run_dir)
    existing = trainer.run_dir / checkpoint.CONFIG
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
    # Fixed threads, seeds and deterministic kernels: the same config gives the same adapter bytes in any
    # process on any CPU count (recorded as training.threads in config.json).
    with runtime.reproducible_cpu(cfg.threads, cfg.seed):
        trainer.setup()
        return trainer.run()
