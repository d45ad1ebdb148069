"""Named reference statistics for FID, KID and CMMD: built once from a folder or dataset, reused by name.

A file under cache/refstats/ is named <name>_<mode>_<extractor>_<resolution>.npz and holds the
features (for KID and CMMD) with their mean and covariance (for FID); a .json beside it says where
the images came from. Judge embeddings for CMMD use extractor 'judge-<judge>' and mode 'judge'.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.config import check_settings, setting
from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.registry import Registry
from bench.instruments.judges import TIER_DEFAULTS

log = logging.getLogger(__name__)

JUDGE_MODE = "judge"

# Statistics a plug-in builds itself (the toy world's 'world'): name -> the command that builds them, so the
# hint for missing statistics names it instead of `bench refstats build`.
REFSTATS_BUILDERS: Registry[str] = Registry("reference statistics builder")
# Below this many images (run or reference) KID and CMMD carry a warning: a project choice, documented in
# docs/evaluation.md, because their spread over subsets grows quickly in small sets. FID warns below the feature
# dimension, where the covariance is singular.
MIN_SET_IMAGES = 100


def build_hint(name: str) -> str:
    """The command that builds the statistics called `name`."""
    if name in REFSTATS_BUILDERS:
        return REFSTATS_BUILDERS.get(name)
    return f"bench refstats build --name {name} --images DIR"


def judge_extractor(judge: str) -> str:
    """Extractor name under which a judge's image embeddings are stored."""
    return f"judge-{judge}"


@dataclass(frozen=True)
class RefstatsConfig:
    """What to build: a name, where the images are (a folder or hf:<dataset id>[:split]), which networks."""

    name: str
    images: str
    extractor: str | None = TIER_DEFAULTS["real"]["extractor"]  # FID/KID network; None skips
    mode: str = "clean"
    judge: str | None = TIER_DEFAULTS["real"]["cmmd_judge"]  # CMMD embeddings (the CMMD reference's model); None skips
    size: int | None = setting(None, "Center-crop and resize references to this size first (match generated "
                               "size).", min=8)
    limit: int | None = setting(None, "Use at most this many images.", min=1)
    image_column: str = "image"
    device: str = "auto"  # auto: cuda when available

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class Refstats:
    """Loaded reference statistics."""

    path: Path
    meta: dict
    feats: object  # np.ndarray
    mu: object
    sigma: object

    @property
    def summary(self) -> dict:
        """What a result summary records about these statistics (no dates: summaries must be reproducible)."""
        keys = ("name", "mode", "extractor", "resolution", "n", "source", "sha256", "weights")
        return {k: self.meta.get(k) for k in keys} | {"file": self.path.name}


def image_files(folder: Path) -> list[Path]:
    """The images of `folder` exactly as clean-fid's get_folder_features lists them.

    Its rules (cleanfid 0.1.35): a case-sensitive glob per extension in cleanfid.utils.EXTENSIONS
    (so .png, .PNG and .JPG count, .Png does not), recursive through subfolders, hidden files and
    folders skipped (glob's default), and the full path strings sorted (so 'a-1.png' < 'a.png').
    """
    import glob
    import os

    from cleanfid.utils import EXTENSIONS

    root = str(folder)
    files = sorted(f for ext in EXTENSIONS for f in glob.glob(os.path.join(root, f"**/*.{ext}"), recursive=True))
    return [Path(f) for f in files]


def _materialise(cfg: RefstatsConfig, tmp: Path) -> tuple[list[Path], str]:
    """The reference image files (resized or exported from a dataset into `tmp` when needed), and their source."""
    if cfg.images.startswith("hf:"):
        files = _export_dataset(cfg.images[3:], cfg.image_column, tmp / "hf", cfg.limit)
        source = cfg.images
    else:
        folder = Path(cfg.images)
        if not folder.is_dir():
            raise BenchError(f"reference image folder {folder} does not exist")
        files = image_files(folder)
        source = paths.portable(folder)
    if cfg.limit is not None:
        files = files[:cfg.limit]
    if not files:
        raise BenchError(f"no images found in {cfg.images}")
    if cfg.size:
        files = _resized(files, cfg.size, tmp / "resized")
    return files, source


def _export_dataset(spec: str, column: str, out: Path, limit: int | None) -> list[Path]:
    """Write the images of a datasets dataset (hub id or local path, offline-aware) as PNGs."""
    dataset_id, _, split = spec.partition(":")
    try:
        from datasets import load_dataset

        ds = load_dataset(dataset_id, split=split or "train")
    except Exception as exc:  # datasets raises many kinds; offline mode is the usual one here
        raise NotAvailableOffline(f"dataset '{dataset_id}' is not available offline or could not be loaded "
                                  f"({type(exc).__name__}); pass a local image folder with --images DIR") from None
    if column not in ds.column_names:
        raise BenchError(f"dataset '{dataset_id}' has no column '{column}' (columns: {', '.join(ds.column_names)})")
    out.mkdir(parents=True)
    files = []
    for i, row in enumerate(ds):
        if limit is not None and i >= limit:
            break
        path = out / f"{i:07d}.png"
        row[column].convert("RGB").save(path)
        files.append(path)
    return files


def _resized(files: list[Path], size: int, out: Path) -> list[Path]:
    """Center-crop to a square and resize (PIL bicubic) so references match the generated resolution."""
    from PIL import Image

    from bench.instruments.features import load_images

    out.mkdir(parents=True)
    result = []
    for i, (file, img) in enumerate(zip(files, load_images(files), strict=True)):
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
        path = out / f"{i:07d}_{file.stem[:50]}.png"
        img.save(path)
        result.append(path)
    return result


def _save(path: Path, feats, meta: dict) -> Path:
    """Write features, mean and covariance atomically, then the .json that describes them."""
    import numpy as np

    from bench.instruments.features import _savez

    feats = np.asarray(feats)
    mu = np.mean(feats, axis=0)
    sigma = np.cov(feats, rowvar=False)
    paths.atomic_write(path, lambda tmp: _savez(tmp, feats=feats, mu=mu, sigma=sigma))
    meta = meta | {"n": int(feats.shape[0]), "dim": int(feats.shape[1]),
                   "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}
    paths.write_json(path.with_suffix(".json"), meta)
    log.info("wrote reference statistics %s (%d images)", path, feats.shape[0])
    return path


def build_refstats(cfg: RefstatsConfig) -> list[Path]:
    """Compute and store reference statistics for every network the config names; returns the files."""
    from bench.instruments.features import (
        EXTRACTORS,
        extract_features,
        judge_image_features,
        load_extractor,
    )

    paths.safe_id(cfg.name, what="reference statistics name")
    if cfg.extractor is None and cfg.judge is None:
        raise BenchError("nothing to build: give an extractor, a judge, or both")
    if cfg.extractor is not None:
        EXTRACTORS.get(cfg.extractor).available(cfg.mode)
        load_extractor(cfg.extractor, cfg.mode, "cpu")  # fail on unknown mode or missing weights before any work
    if cfg.judge is not None:
        from bench.instruments.judges import JUDGES, require_available

        require_available(JUDGES.get(cfg.judge))
    from bench.core.runtime import resolve_device

    device = resolve_device(cfg.device)
    resolution = cfg.size or "native"
    written = []
    tmp = Path(tempfile.mkdtemp(prefix="refstats-"))
    try:
        files, source = _materialise(cfg, tmp)
        if len(files) < 2:
            raise BenchError(f"reference statistics need at least 2 images; {cfg.images} gave {len(files)}")
        base = {"name": cfg.name, "resolution": resolution, "source": source,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        if cfg.extractor is not None:
            feats = extract_features(files, cfg.extractor, cfg.mode, device=device)
            _warn_small(cfg.name, len(files), feats.shape[1])
            path = paths.refstats_path(cfg.name, cfg.mode, cfg.extractor, resolution)
            weights = EXTRACTORS.get(cfg.extractor).weights(cfg.mode)
            written.append(_save(path, feats, base | {"mode": cfg.mode, "extractor": cfg.extractor,
                                                      "weights": weights}))
        if cfg.judge is not None:
            from bench.instruments.judges import judge_fingerprint

            feats = judge_image_features(files, cfg.judge, device=device)
            extractor = judge_extractor(cfg.judge)
            path = paths.refstats_path(cfg.name, JUDGE_MODE, extractor, resolution)
            written.append(_save(path, feats, base | {"mode": JUDGE_MODE, "extractor": extractor,
                                                      "weights": judge_fingerprint(cfg.judge)}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written


def _warn_small(name: str, n: int, dim: int) -> None:
    """Say when statistics come from too few images to give FID/KID/CMMD values comparable with others'."""
    if n < dim:
        log.warning("reference statistics '%s' come from %d images, fewer than the %d-d features: FID's "
                    "covariance is singular and KID/CMMD vary a lot (at least %d images, ideally thousands)",
                    name, n, dim, max(dim, MIN_SET_IMAGES))
    elif n < MIN_SET_IMAGES:
        log.warning("reference statistics '%s' come from %d images, fewer than the documented minimum %d for "
                    "KID and CMMD", name, n, MIN_SET_IMAGES)


def list_refstats() -> list[dict]:
    """Every stored reference statistic's description, sorted by file name."""
    folder = paths.cache_dir("refstats")
    if not folder.is_dir():
        return []
    out = []
    for meta_path in sorted(folder.glob("*.json")):
        if meta_path.with_suffix(".npz").is_file():
            out.append(paths.read_json(meta_path) | {"file": meta_path.with_suffix(".npz").name})
    return out


def find_refstats(name: str, mode: str, extractor: str, resolution: int | None = None,
                  other_resolution: bool = False) -> Path:
    """The file for (name, mode, extractor) at `resolution`; never another size silently.

    Statistics at the images' native size are used when no file has the run's size (the summary says so);
    statistics that exist only at other sizes are an error listing them, unless `other_resolution`.
    """
    matches = [m for m in list_refstats()
               if (m["name"], m["mode"], m["extractor"]) == (name, mode, extractor)]
    if not matches:
        names = sorted({m["name"] for m in list_refstats()})
        known = f"known: {', '.join(names)}" if names else "none built yet"
        raise BenchError(f"no reference statistics '{name}' for {extractor} ({mode}) ({known}; "
                         f"build them with `{build_hint(name)}`)")
    if resolution is not None:
        exact = [m for m in matches if m["resolution"] == resolution]
        native = [m for m in matches if m["resolution"] == "native"]
        if exact or native:
            matches = exact or native
        elif not other_resolution:
            sizes = ", ".join(str(m["resolution"]) for m in matches)
            raise BenchError(f"reference statistics '{name}' for {extractor} ({mode}) exist only at {sizes} px, "
                             f"the run is {resolution} px: build them with --size {resolution}, or pass "
                             "--refstats-any-size to accept another size (recorded in the summary)")
    if len(matches) == 1:
        return paths.cache_dir("refstats") / matches[0]["file"]
    options = ", ".join(str(m["resolution"]) for m in matches)
    raise BenchError(f"reference statistics '{name}' exist at several resolutions ({options}); pick one")


def resolution_warning(meta: dict, resolution: int | None) -> str | None:
    """What a summary says when statistics of another (or unknown, native) size scored a run of `resolution`."""
    if resolution is None or meta.get("resolution") == resolution:
        return None
    return (f"reference statistics '{meta.get('name')}' ({meta.get('extractor')}) are at "
            f"{meta.get('resolution')} resolution, the run is {resolution} px")


def load_refstats(path: Path) -> Refstats:
    """Load one statistics file and its description."""
    from bench.core.tensorfiles import read_npz

    arrays = read_npz(Path(path), ("feats", "mu", "sigma"))
    return Refstats(path, paths.read_json(path.with_suffix(".json")), arrays["feats"], arrays["mu"], arrays["sigma"])
