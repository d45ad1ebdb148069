"""A trained adapter checkpoint folder: the format `bench train` writes and PEA systems read.

adapter.safetensors (float32 weights, the step in its metadata) beside config.json (architecture, base,
student encoder, language, step); a step mismatch between the two means an interrupted save.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError

FORMAT = "pea-bench-adapter/1"
WEIGHTS = "adapter.safetensors"
CONFIG = "config.json"


def save_adapter_weights(adapter: Any, path: Path, step: int | None = None) -> None:
    """Write the adapter's weights (float32, contiguous) as safetensors, atomically; the step goes in its metadata."""
    from bench.core.tensorfiles import save_tensors

    state = {k: v.detach().float().contiguous().cpu() for k, v in adapter.state_dict().items()}
    meta = {"format": FORMAT, **({"step": str(step)} if step is not None else {})}
    save_tensors(path, state, meta)


def weights_step(path: Path) -> int | None:
    """The training step recorded in an adapter.safetensors file (None when it records none)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            step = (fh.metadata() or {}).get("step")
    except SafetensorError as exc:
        raise BenchError(f"{path}: not a safetensors file (a pickle or a truncated file under a .safetensors "
                         f"name?) ({exc}); pea-bench reads adapter weights only as safetensors") from None
    return int(step) if step is not None else None


def load_adapter(folder: Path):
    """Build the PEAAdapter a checkpoint folder describes and load its weights."""
    from bench.models.adapter import PEAAdapter, read_state_dict

    config = read_config(folder)
    step = weights_step(Path(folder) / WEIGHTS)
    if step is not None and step != config["step"]:
        raise BenchError(f"{folder}: {WEIGHTS} is from step {step} but {CONFIG} from step {config['step']} "
                         f"(an interrupted save); run the same bench train command with --resume to repair it")
    arch = config["adapter"]
    adapter = PEAAdapter(arch["in_dim"], arch["hidden_dim"], arch["out_dim"], arch.get("context_dim"))
    state = read_state_dict(Path(folder) / WEIGHTS)
    try:
        adapter.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())  # torch lists one mismatch per line
        raise BenchError(f"{folder}: weights do not fit the adapter in config.json ({detail[:300]})") from None
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
