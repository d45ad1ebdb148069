"""Adapter checkpoints: weights as safetensors, config.json, training state, and a model card."""

from __future__ import annotations

import functools
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from bench.core import paths, provenance
from bench.core.errors import BenchError
from bench.models.checkpoint import (
    CONFIG,
    WEIGHTS,
    save_adapter_weights,
)

log = logging.getLogger(__name__)

STATE = "state.pt"  # optimizer, LR schedule, RNG, step: torch.save of plain tensors, read with weights_only
CARD = "README.md"
LOG = "log.jsonl"  # the training log up to the step; the run's top-level copy is paths.checkpoint_log_path
_COMPLETE = ".complete"



def write_checkpoint(run_dir: Path, step: int, adapter: Any, config: dict, state: dict, keep: int = 2,
                     log_rows: list[dict] | None = None) -> Path:
    """Write steps/step-N/ completely (then rename into place), mirror it at the top, prune old ones.

    The training log up to this step is part of the step folder, so a kill anywhere loses no logged row
    that a resume from this step would not write again.
    """

    final = paths.checkpoint_step_path(run_dir, step)
    tmp = paths.temp_folder(final.parent, paths.checkpoint_step_temp_prefix(step))
    try:
        save_adapter_weights(adapter, tmp / WEIGHTS, step=step)
        paths.write_json(tmp / CONFIG, config)
        paths.write_text(tmp / CARD, model_card(config))
        paths.atomic_write(tmp / STATE, functools.partial(save_state, state))
        if log_rows is not None:
            paths.write_jsonl(tmp / LOG, log_rows)
        paths.write_text(tmp / _COMPLETE, str(step))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        paths.fsync_path(final.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mirror_top_level(run_dir, final)
    for old in complete_steps(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def save_state(state: dict, path: Path) -> None:
    """torch.save through a file object: given a path, torch names the archive's records after the (random)
    temporary file name, and equal states would not give equal bytes."""
    import torch

    with open(path, "wb") as fh:
        torch.save(state, fh)


def mirror_top_level(run_dir: Path, step_dir: Path) -> list[str]:
    """Make the run folder's top-level files byte copies of one step's; returns the names that were replaced.

    Each file is replaced atomically, config.json last so that it names weights already in place. A kill
    between two files leaves a mixed top level; calling this again (resume does) repairs it, and
    load_adapter refuses weights whose recorded step differs from config.json's in the meantime.
    """
    import filecmp

    replaced = []
    for name in (WEIGHTS, STATE, CARD, LOG, CONFIG):
        source, target = step_dir / name, Path(run_dir) / name
        if not source.is_file():  # a step saved before logs went into step folders
            continue
        if target.is_file() and filecmp.cmp(source, target, shallow=False):
            continue
        paths.atomic_write(target, functools.partial(shutil.copyfile, source))
        replaced.append(name)
    return replaced


def clean_leftovers(run_dir: Path) -> list[Path]:
    """Delete what a killed writer left in a run folder: half-written step folders and temporary files."""
    run_dir = Path(run_dir)
    stale = [*paths.checkpoint_step_temps(run_dir), *run_dir.glob(".*.tmp")]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if stale:
        log.info("removed %d leftover(s) of an interrupted save in %s", len(stale), run_dir)
    return stale


def repair(run_dir: Path) -> list[str]:
    """Clean leftovers and make the top level match the newest complete step; returns the files replaced."""
    clean_leftovers(run_dir)
    steps = complete_steps(run_dir)
    if not steps:
        return []
    replaced = mirror_top_level(run_dir, steps[-1])
    if replaced:
        log.warning("%s: the top level did not match step checkpoint %s (an interrupted save); restored %s",
                    run_dir, steps[-1].name, ", ".join(replaced))
    return replaced


def complete_steps(run_dir: Path) -> list[Path]:
    """Complete step checkpoints of a run, oldest first."""
    return [p for p in paths.checkpoint_step_paths(run_dir) if (p / _COMPLETE).exists()]


def read_state(folder: Path) -> dict:
    """The training state of a checkpoint (safe load: tensors and plain values only)."""
    import torch

    return torch.load(Path(folder) / STATE, map_location="cpu", weights_only=True)


TRAIN_PACKAGES = ("pea-bench", "torch", "diffusers", "transformers", "accelerate", "safetensors")


def model_card(config: dict) -> str:
    """A short model card: what the adapter is for, what made it, how well it fit."""
    training = config.get("training", {})
    losses = config.get("losses", {})
    corpus = config.get("corpus", {})
    lines = [
        f"# PEA adapter: {config['lang']} prompts for {config['base']}",
        "",
        f"A PEA-Diffusion adapter that lets `{config['base_model']}` ({config['family']}) take "
        f"{config['lang']} prompts through the student encoder `{config['encoder_model']}` "
        f"(`{config['encoder']}`). Trained by knowledge distillation with the UNet frozen.",
        "",
        "| field | value |",
        "|---|---|",
        f"| tier | {config.get('tier', 'real')} |",
        f"| recipe | {training.get('recipe', '?')} (bench train --recipe; see pea-bench's docs/training.md, Recipes) |",
        f"| adapter | {config['adapter']} |",
        f"| parameters | {config.get('parameters', '?')} |",
        f"| step | {config['step']} of {training.get('steps', '?')} |",
        f"| corpus | {corpus.get('path', '?')} |",
        f"| corpus manifest hash | {corpus.get('manifest_hash', '?')} |",
        f"| corpus content hash | {corpus.get('content_hash', '?')} |",
        f"| final train loss | {losses.get('train', '?')} |",
        f"| final validation loss | {losses.get('val', '?')} |",
        "",
        "Training config:",
        "",
        "```json",
    ]
    import json

    lines += [json.dumps(training, indent=2, sort_keys=True, ensure_ascii=False), "```", ""]
    if config.get("base") == "world":  # the toy world's teacher is trained: its numbers measure the method there
        lines += ["Built on the toy world's trained teacher: its numbers measure the method in that world only.", ""]
    elif config.get("tier") == "tiny":
        lines += ["Built from tiny random-weight models: its numbers show that training runs, not how well.", ""]
    lines += ["Load it with `bench.models.pea.PEAConditioner.from_checkpoint(folder)`.", ""]
    return "\n".join(lines)


def training_state(step: int, run_hash: str, optimizer: Any, lr_schedule: Any) -> dict:
    """What a resume needs besides the weights: optimizer, LR schedule and RNG states, the step, the run hash."""
    import torch

    state = {"step": step, "run_hash": run_hash, "optimizer": optimizer.state_dict(),
             "lr_schedule": lr_schedule.state_dict(), "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    return state


def restore(folder: Path, run_hash: str, adapter: Any, optimizer: Any, lr_schedule: Any) -> tuple[int, dict]:
    """Load one step checkpoint into the adapter, optimizer, schedule and RNGs; returns (step, its losses)."""
    import torch
    from safetensors.torch import load_file

    state = read_state(folder)
    if state["run_hash"] != run_hash:
        raise BenchError(f"{folder} was trained with a different config (run hash {state['run_hash']} != "
                         f"{run_hash}); use another --name or the same settings")
    adapter.load_state_dict(load_file(str(Path(folder) / WEIGHTS)))
    optimizer.load_state_dict(state["optimizer"])
    lr_schedule.load_state_dict(state["lr_schedule"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return int(state["step"]), paths.read_json(Path(folder) / CONFIG).get("losses", {})


def read_log(path: Path, upto: int, step_dir: Path | None = None) -> list[dict]:
    """Log rows up to step `upto` (a resumed run rewrites what came after its checkpoint).

    The copy inside the restored step folder is the one written with that step's weights; the top-level log
    is read only for a step saved without one.
    """
    if step_dir is not None and (Path(step_dir) / LOG).is_file():
        path = Path(step_dir) / LOG
    if not Path(path).exists() or upto == 0:
        return []
    rows = paths.read_jsonl(path)
    return [r for r in rows if r.get("step", 0) <= upto]


def init_weights(adapter: Any, path: Path, spec: Any, base_name: str) -> Any:
    """Start from a previous checkpoint folder or a released weights file; shapes must fit the adapter."""
    if path.is_dir() and (path / WEIGHTS).is_file():
        from bench.models.adapter import read_state_dict

        state = read_state_dict(path / WEIGHTS)  # a pickle under the name is a one-line error
        own = adapter.state_dict()
        for key, value in state.items():
            if key not in own or own[key].shape != value.shape:
                raise BenchError(f"{path}: weight {key} {tuple(value.shape)} does not fit the adapter "
                                 f"{adapter.config}; the encoder width or base differs")
        adapter.load_state_dict(state)
        return adapter
    from bench.models.adapter import load_released_weights

    released = load_released_weights(path)
    if released.in_dim != spec.width:
        raise BenchError(f"{path} takes {released.in_dim}-d inputs but encoder '{spec.name}' gives "
                         f"{spec.width}-d states")
    want = {k: v for k, v in adapter.config.items() if k not in ("hidden_dim", "mlp_bias")}
    got = {k: v for k, v in released.config.items() if k not in ("hidden_dim", "mlp_bias")}
    if want != got:
        raise BenchError(f"{path} is an adapter {got}, base '{base_name}' needs {want}")
    return released


def run_record(trainer: Any, step: int, losses: dict) -> dict:
    """config.json of a training checkpoint: models, adapter, corpus, the training config in effect, losses."""
    from bench.core.config import to_jsonable
    from bench.models.adapter import parameter_count
    from bench.training.recipes import CHOICES

    adapter = trainer.raw_adapter()
    return {
        "format": "pea-bench-adapter/1",
        "base": trainer.base.name, "base_model": trainer.base.model_id, "family": trainer.base.family,
        "tier": "tiny" if "tiny" in (trainer.base.tier, trainer.spec.tier) else "real",
        "encoder": trainer.spec.name, "encoder_model": trainer.spec.model_id, "encoder_width": trainer.spec.width,
        "lang": trainer.cfg.lang, "adapter": adapter.config, "parameters": parameter_count(adapter),
        "step": step, "corpus": {**trainer.corpus_info, "rows": len(trainer.pairs), "skipped": trainer.pairs.skipped,
                                 "train_rows": len(trainer.train_idx), "val_rows": len(trainer.val_idx)},
        "training": {**to_jsonable(trainer.cfg), "run_hash": trainer.cfg.run_hash, "resolution": trainer.resolution,
                     "device": str(trainer.accelerator.device), "weight_dtype": str(trainer.weight_dtype),
                     "processes": trainer.accelerator.num_processes},
        "losses": losses, "choices": CHOICES, "provenance": provenance.record(TRAIN_PACKAGES),
    }
