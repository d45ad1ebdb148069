"""FID (and KID) between two image folders, or a folder and named reference statistics: clean-fid's one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core.errors import BenchError


def _folder_features(folder: Path, extractor: str, mode: str, device: str) -> Any:
    """Features of every image under `folder` (clean-fid's sorted folder order)."""
    from bench.instruments.features import extract_features
    from bench.instruments.refstats import image_files

    folder = Path(folder)
    if not folder.is_dir():
        raise BenchError(f"image folder {folder} does not exist")
    files = image_files(folder)
    if len(files) < 2:
        raise BenchError(f"{folder} holds {len(files)} image(s); FID needs at least 2")
    return extract_features(files, extractor, mode, device=device)


def folder_fid(dir_a: Path, dir_b: Path | None = None, refstats: str | None = None, extractor: str = "inception",
               mode: str = "clean", device: str = "auto", kid: bool = True) -> dict[str, Any]:
    """{'fid', 'kid', 'n_a', 'n_b', ...} of folder A against folder B or the reference statistics `refstats`."""
    from bench.evaluation.evaluate import resolve_device
    from bench.instruments.features import EXTRACTORS, FID_MODES
    from bench.metrics.fid import fid_value, kid_value

    if (dir_b is None) == (refstats is None):
        raise BenchError("give a second folder or --refstats NAME (not both)")
    if mode not in FID_MODES:
        from bench.core.errors import unknown_name

        raise unknown_name("FID mode", mode, FID_MODES)
    EXTRACTORS.get(extractor).available(mode)
    device = resolve_device(device)
    feats_a = _folder_features(dir_a, extractor, mode, device)
    feats_b: Any
    if refstats is not None:
        from bench.instruments.refstats import find_refstats, load_refstats

        ref = load_refstats(find_refstats(refstats, mode, extractor))
        mu, sigma, feats_b, against = ref.mu, ref.sigma, ref.feats, f"refstats {ref.path.name}"
    else:
        import numpy as np

        feats_b = _folder_features(dir_b, extractor, mode, device)
        mu, sigma, against = np.mean(feats_b, axis=0), np.cov(feats_b, rowvar=False), str(dir_b)
    if feats_a.shape[1] != feats_b.shape[1]:
        raise BenchError(f"{against} has {feats_b.shape[1]}-d features but {extractor} gives {feats_a.shape[1]}-d")
    out = {"fid": fid_value(feats_a, mu, sigma), "n_a": int(len(feats_a)), "n_b": int(len(feats_b)),
           "extractor": extractor, "mode": mode, "a": str(dir_a), "b": against}
    if kid:
        out["kid"] = kid_value(feats_a, feats_b)
    return out
