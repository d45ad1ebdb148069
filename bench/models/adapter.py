"""The PEA adapter: an MLP mapping a student encoder's token states into a base UNet's text space."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from bench.errors import BenchError

log = logging.getLogger(__name__)


class PEAAdapter(nn.Module):
    """LayerNorm -> three GELU-joined Linears; SDXL variant adds a pooled mean and a context projection.

    With `context_dim` (SDXL): x = MLP(states) (B x L x out_dim), pooled = mean of x over tokens (padding
    included, as the public code does), context = Linear(out_dim, context_dim)(GELU(x)).
    Without it (SD1.5): the MLP output is the context and there is no pooled embedding.
    `mlp_bias=True` is the variant of the released OPPOer/PEA-Diffusion weights.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, context_dim: int | None = None,
                 mlp_bias: bool = False) -> None:
        super().__init__()
        self.in_dim, self.hidden_dim, self.out_dim, self.context_dim = in_dim, hidden_dim, out_dim, context_dim
        self.mlp_bias = mlp_bias
        self.norm = nn.LayerNorm(in_dim)
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=mlp_bias), nn.GELU(),
            nn.Linear(hidden_dim, hidden_dim, bias=mlp_bias), nn.GELU(),
            nn.Linear(hidden_dim, out_dim, bias=mlp_bias),
        )
        self.proj = nn.Linear(out_dim, context_dim) if context_dim is not None else None

    @property
    def config(self) -> dict:
        """The constructor arguments, as stored in a checkpoint's config.json."""
        return {"in_dim": self.in_dim, "hidden_dim": self.hidden_dim, "out_dim": self.out_dim,
                "context_dim": self.context_dim, "mlp_bias": self.mlp_bias}

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """states B x L x in_dim -> (context B x L x context width, pooled B x out_dim or None)."""
        if states.shape[-1] != self.in_dim:
            raise BenchError(
                f"student states are {states.shape[-1]}-d but the adapter expects {self.in_dim}-d inputs"
            )
        x = self.mlp(self.norm(states))
        if self.proj is None:
            return x, None
        return self.proj(nn.functional.gelu(x)), x.mean(dim=1)

    def load_released_weights(self, path: Path) -> PEAAdapter:
        """Load OPPOer/PEA-Diffusion's pytorch_model.bin into this adapter (shapes must match exactly)."""
        mapped = _map_released_keys(_read_state_dict(path), has_proj=self.proj is not None, path=path)
        own = self.state_dict()
        missing = sorted(set(own) - set(mapped))
        if missing:
            raise BenchError(f"{path}: no weights for {', '.join(missing)} (is this a PEA adapter file?)")
        for key, value in mapped.items():
            if key not in own:
                raise BenchError(f"{path}: weight {key} has no place in this adapter "
                                 f"(mlp_bias={self.mlp_bias}); build the adapter with mlp_bias=True")
            if tuple(value.shape) != tuple(own[key].shape):
                raise BenchError(f"{path}: weight {key} has shape {tuple(value.shape)} but this adapter "
                                 f"needs {tuple(own[key].shape)} ({self.config})")
        self.load_state_dict({k: v.to(own[k].dtype) for k, v in mapped.items()})
        return self


def parameter_count(module: nn.Module) -> int:
    """Number of parameters of a module."""
    return sum(p.numel() for p in module.parameters())


def load_released_weights(path: Path) -> PEAAdapter:
    """Build an adapter shaped like the released file (fp16 -> float32) and load it."""
    state = _read_state_dict(path)
    linears = _linear_keys(state)
    has_proj = len(linears) == 4
    if len(linears) not in (3, 4):
        raise BenchError(f"{path}: expected 3 or 4 Linear layers in a PEA adapter, found {len(linears)}")
    w1, w3 = state[linears[0]], state[linears[2]]
    adapter = PEAAdapter(
        in_dim=w1.shape[1], hidden_dim=w1.shape[0], out_dim=w3.shape[0],
        context_dim=state[linears[3]].shape[0] if has_proj else None,
        mlp_bias=(linears[0][: -len("weight")] + "bias") in state,
    )
    return adapter.load_released_weights(path)


def _read_state_dict(path: Path) -> OrderedDict[str, torch.Tensor]:
    """Read a pickled state dict safely (weights_only) or a safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"adapter weights {path} do not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise BenchError(f"{path}: cannot read adapter weights ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BenchError(f"{path}: not a state dict of tensors")
    # DataParallel/DeepSpeed wrappers prefix every key; the order of the file is the module order.
    return OrderedDict((re.sub(r"^(module\.|model\.)", "", k), v) for k, v in state.items())


def _linear_keys(state: dict[str, torch.Tensor]) -> list[str]:
    """Keys of 2-D weights, in module order (the order torch.save wrote them)."""
    return [k for k, v in state.items() if k.endswith("weight") and v.ndim == 2]


def _map_released_keys(state: dict[str, torch.Tensor], has_proj: bool, path: Path) -> dict[str, torch.Tensor]:
    """Rename the released file's keys to ours by structure: one LayerNorm, then the Linears in order."""
    norms = [k for k, v in state.items() if k.endswith("weight") and v.ndim == 1]
    linears = _linear_keys(state)
    want = 4 if has_proj else 3
    if len(norms) != 1 or len(linears) != want:
        raise BenchError(f"{path}: expected one LayerNorm and {want} Linear layers, found {len(norms)} "
                         f"norm(s) and {len(linears)} Linear(s) ({', '.join(state)[:200]})")
    ours = ["mlp.0", "mlp.2", "mlp.4", "proj"][:want]
    mapped = {"norm.weight": state[norms[0]]}
    norm_bias = norms[0][: -len("weight")] + "bias"
    if norm_bias in state:
        mapped["norm.bias"] = state[norm_bias]
    for theirs, mine in zip(linears, ours, strict=True):
        mapped[f"{mine}.weight"] = state[theirs]
        bias = theirs[: -len("weight")] + "bias"
        if bias in state:
            mapped[f"{mine}.bias"] = state[bias]
    unused = set(state) - {norms[0], norm_bias} - set(linears) - {k[: -len("weight")] + "bias" for k in linears}
    if unused:
        log.warning("%s: ignoring unexpected keys %s", path, sorted(unused))
    return mapped
