"""The frozen inputs of distillation (student states, teacher embeddings, latent moments), cached on disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.config import stable_hash
from bench.core.tensorfiles import save_tensors

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when what a cache file holds changes
BUILD_ROWS = 16  # rows per forward pass while a cache is built


class FrozenCache:
    """Frozen per-row tensors (text embeddings, latent moments) in shards on disk, read row by row via mmap.

    cache_dir(kind)/<key>/shard-NNNNN.safetensors holds rows [N*shard_rows, (N+1)*shard_rows); each shard is
    written whole and atomically, so a killed build resumes at the first missing shard, and memory stays at
    one shard however large the corpus is.
    """

    def __init__(self, folder: Path, rows: int, shard_rows: int) -> None:
        from safetensors import safe_open

        self.folder, self.rows, self.shard_rows = folder, rows, shard_rows
        self.handles = [safe_open(str(f), framework="pt") for f in self._shards()]
        self.names = list(self.handles[0].keys()) if self.handles else []  # noqa: SIM118

    def _shards(self) -> list[Path]:
        return [paths.frozen_cache_shard(self.folder, n) for n in range(-(-self.rows // self.shard_rows))]

    def take(self, index: list[int]) -> dict[str, Any]:
        """Rows `index` of every tensor, stacked in that order."""
        import torch

        out: dict[str, list] = {name: [] for name in self.names}
        for i in index:
            handle, offset = self.handles[i // self.shard_rows], i % self.shard_rows
            for name in self.names:
                out[name].append(handle.get_slice(name)[offset:offset + 1])
        return {name: torch.cat(parts) for name, parts in out.items()}

    @staticmethod
    def key(kind: str, **parts: Any) -> str:
        """The cache folder's name: every input that decides the cached values, hashed."""
        return f"{kind}-{stable_hash({'format': CACHE_FORMAT, 'kind': kind, **parts}, length=16)}"

    @classmethod
    def load_or_build(cls, kind: str, key: str, ids: list[str], build: Callable[[list[int]], dict[str, Any]],
                      shard_rows: int = 1024) -> FrozenCache:
        """Open cache_dir(kind)/<key>/, computing build(row indices) for each shard that is missing or stale."""
        from safetensors import safe_open

        folder = paths.frozen_cache_dir(kind, key)
        cache = cls.__new__(cls)
        cache.folder, cache.rows, cache.shard_rows = folder, len(ids), shard_rows
        built = 0
        from bench.core.progress import track

        shards = list(enumerate(cache._shards()))
        for n, path in track(shards, f"{kind} cache", "rows", total=len(ids), enabled=len(shards) > 1,
                             weight=lambda item: min(len(ids), (item[0] + 1) * shard_rows) - item[0] * shard_rows):
            rows = list(range(n * shard_rows, min(len(ids), (n + 1) * shard_rows)))
            ids_hash = stable_hash([ids[i] for i in rows], length=16)
            if path.exists():
                with safe_open(str(path), framework="pt") as fh:
                    if (fh.metadata() or {}).get("ids_hash") == ids_hash:
                        continue
            tensors = {k: v.contiguous().cpu() for k, v in build(rows).items()}
            meta = {"ids_hash": ids_hash, "first_id": ids[rows[0]], "rows": str(len(rows))}
            save_tensors(path, tensors, meta, durable=False)  # a cache: redone when lost
            built += len(rows)
        log.info("%s cache %s: %d rows computed, %d reused", kind, key, built, len(ids) - built)
        return cls(folder, len(ids), shard_rows)


def model_key(model_id: str) -> str:
    """What names a model's exact weights for cache keys: zoo folder (with version), a local folder's content
    hash (not its path: a moved folder keeps its caches, an edited one gets new ones), hub snapshot."""
    from bench.models import weights, zoo

    if zoo.is_zoo(model_id):
        return Path(zoo.resolve(model_id)).name
    if Path(model_id).exists():
        return f"sha256:{weights.folder_hash(Path(model_id))}"
    try:
        snapshot = weights.hub_snapshot(model_id, probe="config.json") or weights.hub_snapshot(model_id)
    except ValueError:  # not a hub id at all (a custom loader's own label)
        snapshot = None
    return f"{model_id}@{snapshot.name}" if snapshot is not None else model_id


class FrozenInputs:
    """Per-row inputs no training step changes: computed on demand, or once into FrozenCache shards."""

    def __init__(self, pairs: Any, student: Any, teacher: Any, vae: Any, resolution: int, device: Any,
                 layout: Any = None) -> None:
        self.pairs, self.student, self.teacher, self.vae = pairs, student, teacher, vae
        self.resolution, self.device, self.layout = resolution, device, layout
        self.cached: list[FrozenCache] | None = None
        self.latents: dict[int, tuple[FrozenCache, dict[int, int]]] = {}  # bucket -> (cache, row -> its row)

    def student_states(self, idx: list[int]) -> dict[str, Any]:
        return {"student": self.student.encode([self.pairs.text[i] for i in idx])[0]}

    def teacher_embeddings(self, idx: list[int]) -> dict[str, Any]:
        ctx, pooled = self.teacher.encode([self.pairs.text_en[i] or "" for i in idx])
        return {"teacher": ctx, **({"teacher_pooled": pooled} if pooled is not None else {})}

    def latent_moments(self, idx: list[int]) -> dict[str, Any]:
        import torch

        from bench.training.data import to_pixels

        images = [self.pairs.image(i) for i in idx]
        pixels = (self.layout.pixels(images, idx) if self.layout is not None
                  else to_pixels(images, self.resolution)).to(self.device)
        with torch.no_grad():
            dist = self.vae.encode(pixels).latent_dist
        return {"latent_mean": dist.mean.float(), "latent_std": dist.std.float()}

    def compute(self, idx: list[int]) -> dict[str, Any]:
        """Every frozen input of rows `idx`, computed now."""
        return {**self.student_states(idx), **self.teacher_embeddings(idx), **self.latent_moments(idx)}

    def build_cache(self, common: dict[str, Any], student_key: dict[str, Any], teacher_key: dict[str, Any],
                    latent_key: dict[str, Any]) -> None:
        """Compute every row's frozen inputs once (batched); each cache is keyed by what decides its values."""
        import torch

        ids = self.pairs.ids

        def batched(fn):
            def build(rows: list[int]) -> dict[str, Any]:
                parts = [fn(rows[i:i + BUILD_ROWS]) for i in range(0, len(rows), BUILD_ROWS)]
                return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
            return build

        self.cached = [
            FrozenCache.load_or_build("text-embeddings", FrozenCache.key("student", **student_key, **common), ids,
                                      batched(self.student_states)),
            FrozenCache.load_or_build("text-embeddings", FrozenCache.key("teacher", **teacher_key, **common), ids,
                                      batched(self.teacher_embeddings)),
        ]
        if self.layout is None:
            self.cached.append(FrozenCache.load_or_build("latents", FrozenCache.key("latents", **latent_key,
                                                                                    **common), ids,
                                                         batched(self.latent_moments)))
            return
        # Latents differ in shape between buckets: one cache per bucket, over that bucket's rows.
        for b, rows in sorted(self.layout.groups(list(range(len(ids)))).items()):
            key = FrozenCache.key("latents", **latent_key, **common, bucket=self.layout.buckets[b])
            cache = FrozenCache.load_or_build("latents", key, [ids[r] for r in rows],
                                              batched(lambda local, rows=rows: self.latent_moments(
                                                  [rows[i] for i in local])))
            self.latents[b] = (cache, {r: n for n, r in enumerate(rows)})

    def take(self, idx: list[int]) -> dict[str, Any]:
        """Frozen inputs for rows idx on the device: from the cache, or computed (the same values either way)."""
        if self.cached is None:
            return self.compute(idx)
        out = {k: v for cache in self.cached for k, v in cache.take(idx).items()}
        if self.latents:
            cache, local = self.latents[self.layout.bucket[idx[0]]]
            out.update(cache.take([local[i] for i in idx]))
        return {k: v.to(self.device) for k, v in out.items()}


def load_frozen_models(base: Any, encoder: str, device: Any, weight_dtype: Any) -> tuple[Any, ...]:
    """(unet, vae, noise scheduler, student encoder, teacher encoder) of a run, frozen, on the device."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel

    from bench.models import zoo
    from bench.models.encoders import load_student_encoder
    from bench.models.teachers import TeacherEncoder

    model_path = zoo.resolve(base.model_id)
    try:
        # Loaded straight in the training dtype: a float32 SDXL UNet first would need 10 GB of host memory.
        unet = UNet2DConditionModel.from_pretrained(model_path, subfolder="unet", dtype=weight_dtype)
        vae = AutoencoderKL.from_pretrained(model_path, subfolder="vae")
        noise_scheduler = DDPMScheduler.from_pretrained(model_path, subfolder="scheduler")
    except OSError as exc:
        from bench.core.errors import NotAvailableOffline

        raise NotAvailableOffline(f"cannot load base '{base.name}' ({base.model_id}): "
                                  f"{str(exc).splitlines()[0][:160]}") from None
    unet.requires_grad_(False).eval().to(device, dtype=weight_dtype)
    # The SDXL VAE overflows in fp16; it runs once per image (cached), so float32 costs little.
    vae.requires_grad_(False).eval().to(device, dtype=torch.float32)
    student = load_student_encoder(encoder).to(device)
    teacher = TeacherEncoder.from_base(base).to(device, dtype=weight_dtype)
    return unet, vae, noise_scheduler, student, teacher
