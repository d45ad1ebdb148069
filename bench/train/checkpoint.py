"""Adapter checkpoints: weights as safetensors, config.json, training state, and a model card."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench import paths
from bench.errors import BenchError

log = logging.getLogger(__name__)

FORMAT = "pea-bench-adapter/1"
WEIGHTS = "adapter.safetensors"
CONFIG = "config.json"
STATE = "state.pt"  # optimizer, LR schedule, RNG, step: torch.save of plain tensors, read with weights_only
CARD = "README.md"
_COMPLETE = ".complete"


def save_adapter_weights(adapter: Any, path: Path) -> None:
    """Write the adapter's weights (float32, contiguous) as safetensors, atomically."""
    from safetensors.torch import save_file

    state = {k: v.detach().float().contiguous().cpu() for k, v in adapter.state_dict().items()}
    paths.atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata={"format": FORMAT}))


def load_adapter(folder: Path):
    """Build the PEAAdapter a checkpoint folder describes and load its weights."""
    from safetensors.torch import load_file

    from bench.models.adapter import PEAAdapter

    config = read_config(folder)
    arch = config["adapter"]
    adapter = PEAAdapter(arch["in_dim"], arch["hidden_dim"], arch["out_dim"], arch.get("context_dim"))
    state = load_file(str(Path(folder) / WEIGHTS))
    try:
        adapter.load_state_dict(state)
    except RuntimeError as exc:
        raise BenchError(f"{folder}: weights do not fit the adapter in config.json ({str(exc)[:200]})") from None
    return adapter.eval()


def read_config(folder: Path) -> dict:
    """config.json of a checkpoint folder, checked for the keys every consumer needs."""
    folder = Path(folder)
    if not (folder / WEIGHTS).is_file():
        raise BenchError(f"{folder} is not an adapter checkpoint (no {WEIGHTS}); bench train writes them")
    config = paths.read_json(folder / CONFIG)
    missing = [k for k in ("base", "base_model", "family", "encoder", "encoder_model", "lang", "adapter", "step")
               if k not in config]
    if missing:
        raise BenchError(f"{folder / CONFIG} lacks {', '.join(missing)}")
    return config


def write_checkpoint(run_dir: Path, step: int, adapter: Any, config: dict, state: dict, keep: int = 2) -> Path:
    """Write steps/step-N/ completely (then rename into place), mirror it at the top, prune old ones."""
    import torch

    final = run_dir / "steps" / f"step-{step:08d}"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".step-{step}.", dir=final.parent))
    try:
        save_adapter_weights(adapter, tmp / WEIGHTS)
        paths.write_json(tmp / CONFIG, config)
        paths.write_text(tmp / CARD, model_card(config))
        paths.atomic_write(tmp / STATE, lambda t: torch.save(state, t))
        (tmp / _COMPLETE).write_text(str(step))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # The top level is what consumers load; config.json goes last so it names weights already in place.
    for name in (WEIGHTS, STATE, CARD, CONFIG):
        paths.atomic_write(run_dir / name, lambda t, n=name: shutil.copyfile(final / n, t))
    for old in complete_steps(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def complete_steps(run_dir: Path) -> list[Path]:
    """Complete step checkpoints of a run, oldest first."""
    folder = Path(run_dir) / "steps"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step-*") if (p / _COMPLETE).exists())


def read_state(folder: Path) -> dict:
    """The training state of a checkpoint (safe load: tensors and plain values only)."""
    import torch

    return torch.load(Path(folder) / STATE, map_location="cpu", weights_only=True)


def provenance() -> dict:
    """Package versions, git commit and time, so a checkpoint says what code made it."""
    import datetime
    import importlib.metadata
    import subprocess

    versions = {}
    for package in ("pea-bench", "torch", "diffusers", "transformers", "accelerate", "safetensors"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO_ROOT, capture_output=True, text=True,
                                timeout=5, check=False).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"versions": versions, "git_commit": commit,
            "written": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


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
