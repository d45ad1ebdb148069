"""Image features shared by metrics: computed once per run and extractor, cached in the run folder.

The preprocessing that decides FID's value (resize filter, quantisation) is clean-fid's own: features
go through cleanfid.fid.get_files_features, so numbers equal clean-fid's on the same files and network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core import paths
from bench.core.config import stable_hash
from bench.core.errors import BenchError
from bench.core.registry import Registry

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

FID_MODES = ("clean", "legacy_tensorflow", "legacy_pytorch")
BATCH_SIZE = 32  # clean-fid compute_fid's default, so batches (and float rounding) match its folder path


@dataclass(frozen=True)
class Extractor:
    """A feature network for FID/KID: load(mode) returns fn(float batch 0..255, N x 3 x H x W) -> features."""

    name: str
    tier: str
    load: Callable[[str, str], Callable]  # (mode, device) -> feature function
    available: Callable[[str], None] = lambda mode: None  # raises NotAvailableOffline when it cannot load
    # identity of the weights for `mode` (a file's sha256): cache keys and reference statistics carry it
    fingerprint: Callable[[str], str] | None = None

    def weights(self, mode: str) -> str:
        """The weights' fingerprint for `mode` (the name when the extractor declares none)."""
        return self.fingerprint(mode) if self.fingerprint else f"name:{self.name}"


EXTRACTORS: Registry[Extractor] = Registry("feature extractor", hint="known: inception, tiny-inception")


def register_extractor(extractor: Extractor) -> Extractor:
    """Add a feature extractor (the plug-in point for toy-world or custom networks)."""
    EXTRACTORS.register(extractor.name, extractor)
    return extractor


def _inception_available(mode: str) -> None:
    from bench.instruments import inception

    inception.available(mode)


def _load_inception(mode: str, device: str = "cpu") -> Callable:
    from bench.instruments import inception

    return inception.load(mode, device)


def _inception_fingerprint(mode: str) -> str:
    from bench.instruments import inception

    return inception.fingerprint(mode)


def zoo_fingerprint(component: str) -> Callable[[str], str]:
    """A fingerprint function for an extractor built from a zoo component: the content hash of its files."""

    def fingerprint(mode: str) -> str:
        from bench.models import zoo
        from bench.models.weights import folder_hash

        return f"sha256:{folder_hash(zoo.ensure(component))}"

    return fingerprint


def _load_tiny_inception(mode: str, device: str = "cpu") -> Callable:
    import torch

    from bench.models import zoo
    from bench.models.zoo.judges import load_tiny_inception

    model = load_tiny_inception(zoo.ensure("tiny-inception")).to(device)

    def features(batch: torch.Tensor) -> torch.Tensor:
        return model(batch)

    return features


register_extractor(Extractor("inception", "real", _load_inception, _inception_available, _inception_fingerprint))
register_extractor(Extractor("tiny-inception", "tiny", _load_tiny_inception,
                             fingerprint=zoo_fingerprint("tiny-inception")))

_loaded_extractors: dict[tuple[str, str, str], Callable] = {}


def load_extractor(name: str, mode: str, device: str = "cpu") -> Callable:
    """The feature function of extractor `name` in clean-fid mode `mode` on `device` (cached per process)."""
    if mode not in FID_MODES:
        from bench.core.errors import unknown_name

        raise unknown_name("FID mode", mode, FID_MODES)
    key = (name, mode, device)
    if key not in _loaded_extractors:
        _loaded_extractors[key] = EXTRACTORS.get(name).load(mode, device)
    return _loaded_extractors[key]


def check_images(files: Sequence[Path]) -> None:
    """Decode every image once; a missing or corrupt file is named in a one-line error."""
    from PIL import Image

    for file in files:
        try:
            with Image.open(file) as img:
                img.convert("RGB").load()
        except FileNotFoundError:
            raise BenchError(f"image {file} is missing") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise BenchError(f"image {file} is corrupt or not an image ({type(exc).__name__})") from None


def extract_features(files: Sequence[Path], extractor: str, mode: str = "clean",
                     batch_size: int = BATCH_SIZE, device: str = "cpu") -> np.ndarray:
    """Features of `files` (in the given order) through clean-fid's preprocessing and `extractor`."""
    import numpy as np
    import torch
    from cleanfid.fid import get_files_features

    from bench.core.progress import track

    fn = load_extractor(extractor, mode, device)
    names = [str(f) for f in files]
    # Whole batches per call, so every batch (and its float rounding) is the one clean-fid would form.
    step = batch_size * 16
    chunks = [names[i:i + step] for i in range(0, len(names), step)]
    out = []
    try:
        for chunk in track(chunks, f"{extractor} features", "img", total=len(names), weight=len,
                           enabled=len(chunks) > 1):
            out.append(get_files_features(chunk, model=fn, num_workers=0, batch_size=batch_size,
                                          device=torch.device(device), mode=mode, verbose=False))
    except (OSError, ValueError, SyntaxError):
        check_images(files)  # names the bad file; re-raise if every file decodes
        raise
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def load_images(files: Sequence[Path]):
    """Open images as RGB PIL images, naming any missing or corrupt file."""
    from PIL import Image

    out = []
    for file in files:
        try:
            with Image.open(file) as img:
                out.append(img.convert("RGB"))
        except FileNotFoundError:
            raise BenchError(f"image {file} is missing") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise BenchError(f"image {file} is corrupt or not an image ({type(exc).__name__})") from None
    return out


def judge_image_features(files: Sequence[Path], judge_name: str, batch_size: int = 32,
                         device: str = "cpu") -> np.ndarray:
    """Unit-norm image embeddings of `files` by a judge, loading images one batch at a time."""
    import numpy as np

    from bench.core.progress import track
    from bench.instruments.judges import load_judge

    judge = load_judge(judge_name, device)
    starts = range(0, len(files), batch_size)
    out = [judge.encode_images(load_images(files[i:i + batch_size]))
           for i in track(starts, f"{judge_name} image embeddings", "img", total=len(files),
                          weight=lambda i: len(files[i:i + batch_size]), enabled=len(starts) > 1)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def files_key(files: Sequence[Path]) -> str:
    """Identity of a list of files: each one's name and content hash (a copy or a touch keeps it, a byte
    changed does not)."""
    from bench.core.hashing import content_sha256

    rows = []
    for f in files:
        try:
            rows.append((Path(f).name, content_sha256(Path(f))))
        except FileNotFoundError:
            raise BenchError(f"image {f} is missing") from None
    return stable_hash(rows, length=16)


class RunFeatures:
    """Features of one run's images, computed once per extractor or judge and cached under features/."""

    def __init__(self, run: Path, files: Sequence[Path], mode: str = "clean", device: str = "cpu") -> None:
        self.run = Path(run)
        self.files = list(files)
        self.mode = mode
        self.device = device
        self._key = files_key(self.files)
        self._memory: dict[str, np.ndarray] = {}
        self.computed: list[str] = []  # what this evaluation had to compute (for timings and tests)

    def cached(self, name: str, weights: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """Features `name` of this run by `weights`: from memory, from the run folder when its key matches, else computed and stored."""
        import numpy as np

        if name in self._memory:
            return self._memory[name]
        path = paths.run_features_path(self.run, name)
        key = stable_hash({"files": self._key, "weights": weights}, length=16)  # new weights, new features
        if path.is_file():
            from bench.core.errors import BenchError
            from bench.core.tensorfiles import read_npz

            try:
                cached = read_npz(path, ("feats", "key"))
            except BenchError as exc:  # a cache: computed again, never trusted or fatal
                log.warning("%s; computing the features again", exc)
                cached = {"key": None}
            if str(cached["key"]) == key:
                self._memory[name] = cached["feats"]
                return self._memory[name]
        feats = np.asarray(compute())
        paths.atomic_write(path, lambda tmp: _savez(tmp, feats=feats, key=np.array(key)))
        self.computed.append(name)
        self._memory[name] = feats
        return feats

    def inception(self, extractor: str) -> np.ndarray:
        """FID/KID features of the run's images by `extractor` in this run's clean-fid mode."""
        return self.cached(f"{extractor}-{self.mode}", EXTRACTORS.get(extractor).weights(self.mode),
                            lambda: extract_features(self.files, extractor, self.mode, device=self.device))

    def judge_images(self, judge: str) -> np.ndarray:
        """Unit-norm judge embeddings of the run's images."""
        from bench.instruments.judges import judge_fingerprint

        return self.cached(f"judge-{judge}", judge_fingerprint(judge),
                            lambda: judge_image_features(self.files, judge, device=self.device))


def _savez(tmp: Path, **arrays) -> None:
    """np.savez to an exact path (np.savez appends .npz to names without it)."""
    import numpy as np

    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)

