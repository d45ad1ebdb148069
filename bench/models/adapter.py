"""The PEA adapter: an MLP mapping a student encoder's token states into a base UNet's text space."""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from bench.core.errors import BenchError

log = logging.getLogger(__name__)

# The public PEA-Diffusion code saves `torch.save(self.proj.state_dict())` of a module with these names;
# ours are on the right. SD1.5 adapters have no `fc` (their MLP output is the context).
PUBLIC_NAMES = {
    "layernorm.weight": "norm.weight", "layernorm.bias": "norm.bias",
    "projector.0.weight": "mlp.0.weight", "projector.2.weight": "mlp.2.weight",
    "projector.4.weight": "mlp.4.weight", "fc.weight": "proj.weight", "fc.bias": "proj.bias",
}
OWN_NAMES = {v: k for k, v in PUBLIC_NAMES.items()}
_SD15_KEYS = ("norm.weight", "norm.bias", "mlp.0.weight", "mlp.2.weight", "mlp.4.weight")
_SDXL_KEYS = (*_SD15_KEYS, "proj.weight", "proj.bias")
# Symbolic shapes of every key; `context` only exists in the SDXL layout.
_SHAPES = {"norm.weight": ("in",), "norm.bias": ("in",), "mlp.0.weight": ("hidden", "in"),
           "mlp.2.weight": ("hidden", "hidden"), "mlp.4.weight": ("out", "hidden"),
           "proj.weight": ("context", "out"), "proj.bias": ("context",)}


class PEAAdapter(nn.Module):
    """LayerNorm -> three GELU-joined bias-free Linears; SDXL variant adds a pooled mean and a context projection.

    With `context_dim` (SDXL): x = MLP(states) (B x L x out_dim), pooled = mean of x over tokens (padding
    included, as the public code does), context = Linear(out_dim, context_dim)(GELU(x)).
    Without it (SD1.5): the MLP output is the context and there is no pooled embedding.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, context_dim: int | None = None) -> None:
        super().__init__()
        self.in_dim, self.hidden_dim, self.out_dim, self.context_dim = in_dim, hidden_dim, out_dim, context_dim
        self.norm = nn.LayerNorm(in_dim)
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=False), nn.GELU(),
            nn.Linear(hidden_dim, hidden_dim, bias=False), nn.GELU(),
            nn.Linear(hidden_dim, out_dim, bias=False),
        )
        self.proj = nn.Linear(out_dim, context_dim) if context_dim is not None else None

    @property
    def config(self) -> dict:
        """The constructor arguments, as stored in a checkpoint's config.json."""
        return {"in_dim": self.in_dim, "hidden_dim": self.hidden_dim, "out_dim": self.out_dim,
                "context_dim": self.context_dim}

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

    def load_weights(self, path: Path) -> PEAAdapter:
        """Load an adapter file (public or own key names, .bin or .safetensors) into this adapter."""
        state, spelled = _own_names(read_state_dict(path), path)
        found = adapter_config(state, path, spelled)
        if found != self.config:
            raise BenchError(f"{path}: holds an adapter {_describe(found)} but this one is {_describe(self.config)}")
        self.load_state_dict({k: v.to(self.norm.weight.dtype) for k, v in state.items()})
        return self

    load_released_weights = load_weights  # the name earlier callers use


def parameter_count(module: nn.Module) -> int:
    """Number of parameters of a module."""
    return sum(p.numel() for p in module.parameters())


def load_adapter_weights(path: Path) -> PEAAdapter:
    """Build an adapter with the widths the file holds (fp16 -> float32), load it, and log what it is."""
    state, spelled = _own_names(read_state_dict(path), path)
    adapter = PEAAdapter(**adapter_config(state, path, spelled))
    adapter.load_state_dict({k: v.float() for k, v in state.items()})
    log.info("%s: PEA adapter %s, %s parameters", path, _describe(adapter.config), f"{parameter_count(adapter):,}")
    return adapter


load_released_weights = load_adapter_weights  # the name earlier callers use


def public_state_dict(adapter: PEAAdapter) -> dict[str, torch.Tensor]:
    """The adapter's weights under the public code's key names (its MLP's load_state_dict takes them)."""
    return {OWN_NAMES[k]: v for k, v in adapter.state_dict().items()}


def adapter_config(state: dict[str, torch.Tensor], path: Path | str = "adapter",
                   spelled: dict[str, str] | None = None) -> dict:
    """Widths of the adapter a state dict (own key names) holds; a clear error when the shapes disagree.

    `spelled` maps our key names to the file's (errors name the key as the file spells it)."""
    spelled = spelled or {}

    def width(key: str, axis: int) -> int:
        shape = tuple(state[key].shape)
        return shape[axis] if len(shape) == len(_SHAPES[key]) else -1  # -1: reported below as a misfit

    dims = {"in": width("norm.weight", 0), "hidden": width("mlp.0.weight", 0), "out": width("mlp.4.weight", 0)}
    if "proj.weight" in state:
        dims["context"] = width("proj.weight", 0)
    wrong = [f"{spelled.get(k, k)} {tuple(v.shape)} (expected {_expected(k, dims)})" for k, v in state.items()
             if tuple(v.shape) != tuple(dims[d] for d in _SHAPES[k]) or 0 in v.shape]
    if wrong:
        raise BenchError(f"{path}: the adapter's shapes do not fit together: {', '.join(wrong)}")
    return {"in_dim": dims["in"], "hidden_dim": dims["hidden"], "out_dim": dims["out"],
            "context_dim": dims.get("context")}


def read_state_dict(path: Path) -> StateDict:
    """Read a state dict safely: torch.load(weights_only=True) or safetensors; a folder's adapter file."""
    path = Path(path)
    if path.is_dir():
        names = ("adapter.safetensors", "pytorch_model.bin", "model.safetensors", "diffusion_pytorch_model.safetensors")
        files = [path / n for n in names if (path / n).is_file()]
        if not files:
            raise BenchError(f"{path} holds no adapter file (looked for {', '.join(names)})")
        path = files[0]
    if not path.is_file():
        raise BenchError(f"adapter weights {path} do not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():  # torch names the Python object it refused to build
            raise BenchError(f"{path}: cannot read adapter weights (not a torch file: "
                             f"{' '.join(str(exc).split())[:120]})") from None
        # torch's own text runs to a dozen lines; what matters: the file holds Python objects, not tensors.
        raise BenchError(f"{path}: refused: the file holds pickled Python objects that torch.load(weights_only=True) "
                         "will not run; use a safetensors file or a plain tensor state dict") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        what = ("not a safetensors file (a pickle or a truncated file under a .safetensors name?)"
                if path.suffix == ".safetensors" else "cannot read adapter weights")
        raise BenchError(f"{path}: {what} ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BenchError(f"{path}: not a state dict of tensors")
    for key, value in state.items():
        # Converting integers (or booleans) to floats would load a different adapter than the one saved.
        if not value.is_floating_point():
            raise BenchError(f"{path}: tensor {key} is {str(value.dtype).removeprefix('torch.')}; adapter weights "
                             "are floating point (float32, float16 or bfloat16), an integer tensor is refused")
        if not bool(torch.isfinite(value).all()):
            raise BenchError(f"{path}: tensor {key} holds NaN or infinite values; the adapter would only make noise")
    # DataParallel/DeepSpeed/torch.compile wrappers prefix every key; a whole-module save prefixes `proj.`.
    out = StateDict({re.sub(r"^(module\.|_orig_mod\.|model\.)+", "", k): v for k, v in state.items()})
    out.file_keys = {re.sub(r"^(module\.|_orig_mod\.|model\.)+", "", k): k for k in state}
    return out


class StateDict(dict):
    """A state dict read from a file, remembering each key as the file spells it (`file_keys`)."""

    file_keys: dict[str, str]


def _own_names(state: dict[str, torch.Tensor], path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Rename public keys to ours, and map ours to the keys as the file spells them (for messages);
    anything but exactly one adapter layout is a one-line error."""
    file_key = getattr(state, "file_keys", {})  # read_state_dict's record of the wrappers' prefixes it removed
    bare = {k: k for k in state}  # key without a whole-module `proj.` prefix -> key in `state`
    if state and all(k.startswith("proj.") and k[5:] in PUBLIC_NAMES for k in state):
        bare = {k[5:]: k for k in state}
    own = {PUBLIC_NAMES.get(b, b): state[k] for b, k in bare.items()}
    if len(own) == len(state) and set(own) in (set(_SD15_KEYS), set(_SDXL_KEYS)):
        return own, {PUBLIC_NAMES.get(b, b): file_key.get(k, k) for b, k in bare.items()}
    expected = ", ".join(f"{OWN_NAMES[k]} {_symbolic(k)}" for k in _SDXL_KEYS)
    found = ", ".join(f"{k} {tuple(v.shape)}" for k, v in list(state.items())[:12])
    more = f" and {len(state) - 12} more" if len(state) > 12 else ""
    raise BenchError(f"{path} is not a PEA adapter: expected the keys {expected} (fc.* only for SDXL; or our "
                     f"names {', '.join(_SDXL_KEYS)}), found {found or 'nothing'}{more}")


def _expected(key: str, dims: dict[str, int]) -> str:
    """The shape `key` should have, in numbers where the other keys fix them."""
    return "(" + ", ".join(str(dims[d]) if dims[d] > 0 else d for d in _SHAPES[key]) + \
        ("," if len(_SHAPES[key]) == 1 else "") + ")"


def _symbolic(key: str) -> str:
    return "(" + ", ".join(_SHAPES[key]) + ("," if len(_SHAPES[key]) == 1 else "") + ")"


def _describe(config: dict) -> str:
    dims = f"in {config['in_dim']}, hidden {config['hidden_dim']}, out {config['out_dim']}"
    return dims + (f", context {config['context_dim']}" if config.get("context_dim") else " (SD1.5 layout)")
