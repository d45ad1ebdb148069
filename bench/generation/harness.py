"""prompts x samples -> images: resumable, sharded over processes, identical images however it is run."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.generation import runfolder
from bench.generation.config import GenerateConfig
from bench.generation.schedulers import check_scheduler, set_scheduler
from bench.generation.seeds import SEED_RULE, generators, image_seed
from bench.generation.sharding import Processes, shard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """A checked config with its prompts, spec and run folder (no model loaded yet)."""

    cfg: GenerateConfig
    prompts: tuple  # bench.prompts.Prompt rows, limited
    spec: dict[str, Any]
    run: Path
    device: str
    dtype: str

    @property
    def keys(self) -> list[tuple[str, int]]:
        """(prompt id, sample) of every image, in prompt-set order."""
        return [(p.id, s) for p in self.prompts for s in range(self.cfg.samples)]


@functools.cache
def _identity(model: str, lang: str) -> str:
    """The system's identity as canonical JSON, computed once per process (weights hashing is not free)."""
    from bench.core.config import canonical_json
    from bench.models.pipelines import get_system, identity

    return canonical_json(identity(get_system(model), lang))


def plan(cfg: GenerateConfig, device: str | None = None) -> Plan:
    """Validate everything a run needs before any model loads; user errors are one-line BenchErrors."""
    import json

    from bench.core.runtime import default_device, resolve_dtype
    from bench.models.pipelines import check_language, get_system
    from bench.prompts import load_prompt_set

    cfg.check()
    check_scheduler(cfg.scheduler)
    system = get_system(cfg.model)
    check_language(system, cfg.lang)
    prompt_set = load_prompt_set(cfg.prompts, cfg.lang)
    system.require_available()
    prompts = prompt_set.prompts[: cfg.limit] if cfg.limit else prompt_set.prompts
    device = device or default_device()
    dtype = resolve_dtype(cfg.dtype, device)
    spec = {
        "format": runfolder.FORMAT_VERSION,
        "model": json.loads(_identity(cfg.model, cfg.lang)),
        "model_name": cfg.model,
        "tier": system.tier,
        "prompts": {"name": prompt_set.name, "version": prompt_set.version, "lang": prompt_set.lang,
                    "content_hash": prompt_set.content_hash, "limit": cfg.limit, "count": len(prompts)},
        "lang": cfg.lang,
        "samples": cfg.samples,
        "seed": cfg.seed,
        "seed_rule": SEED_RULE,
        "scheduler": cfg.scheduler,
        "steps": cfg.steps,
        "guidance": cfg.guidance,
        "size": cfg.size or system.default_size(),
        "dtype": dtype,
        "negative_prompt": "",
    }
    if cfg.batching == "batched":  # per-image runs keep the spec (and run ids) they had before batching existed
        spec["batching"] = {"mode": "batched", "batch_size": cfg.batch_size}
    run = paths.run_dir(runfolder.run_id(cfg.model, cfg.prompts, cfg.lang, spec))
    return Plan(cfg, tuple(prompts), spec, run, device, dtype)


def run_dir_for(cfg: GenerateConfig) -> Path:
    """The run folder a config generates into (nothing is loaded or written)."""
    return plan(cfg).run


def generate(cfg: GenerateConfig, progress: bool = True) -> Path:
    """Generate every missing image of the run `cfg` describes and return its folder.

    Under torchrun / accelerate launch every process calls this; images are sharded by key and rank 0
    merges metadata. One process holds the run's lock, so an unrelated second launch fails at once.
    """
    procs = Processes.from_env()
    # Rank 0 plans first: planning hashes weights and so builds missing zoo models, which one process
    # must do alone; the others then find them built.
    p = plan(cfg) if procs.is_main else None
    procs.barrier()
    p = p or plan(cfg)
    with contextlib.ExitStack() as stack:
        problem = None
        if procs.is_main:
            try:
                stack.enter_context(paths.locked(paths.run_lock(p.run), what=f"run {p.run.name}"))
            except paths.LockHeld as exc:
                problem = str(exc)
        problem = procs.broadcast(problem)
        if problem:
            raise paths.LockHeld(problem)
        _generate_locked(p, procs, progress)
    procs.barrier()  # metadata.jsonl is complete on every rank's return
    return p.run


def _generate_locked(p: Plan, procs: Processes, progress: bool) -> None:
    """Generate this process's share of the missing images, then merge metadata on rank 0.

    The model is loaded only by processes with work (or rank 0 when spec.json is missing), so rerunning a
    finished run, as `bench evaluate` does, costs a directory scan and a CRC check of each PNG.
    """
    from bench.models.loading import load_system

    started = time.perf_counter()
    if procs.is_main and runfolder.clean_partial(p.run):
        log.info("run %s: removed temporary files of an interrupted writer", p.run.name)
    if procs.is_main:
        runfolder.drop_broken(p.run, p.keys, p.spec["size"])
    procs.barrier()  # broken images are gone before any process lists what is missing
    pending = [k for k in p.keys if not runfolder.is_done(p.run, *k)]
    procs.barrier()  # every process has listed what is missing before anyone writes
    missing = set(pending)
    batches = my_batches(p, missing, procs.rank, procs.world)
    mine = [k for batch in batches for k in batch if k in missing]
    write_spec = procs.is_main and (pending or not (p.run / paths.RUN_SPEC).exists())
    made, gen_seconds, pipe_seconds, load_seconds = 0, 0.0, 0.0, 0.0
    if mine or write_spec:
        system = load_system(p.cfg.model, lang=p.cfg.lang, device=p.device, dtype=p.dtype)
        scheduler = set_scheduler(system.pipe, p.cfg.scheduler)
        if p.cfg.compile:
            import torch

            system.pipe.unet = torch.compile(system.pipe.unet)
        if write_spec:
            runfolder.write_spec(p.run, {**p.spec, "resolved": {"scheduler": scheduler}})
        load_seconds = time.perf_counter() - started
        log.info("run %s: %d images, %d missing, %d for rank %d of %d", p.run.name, len(p.keys), len(pending),
                 len(mine), procs.rank, procs.world)
        gen_started = time.perf_counter()
        made, pipe_seconds = _generate_items(p, system, batches, set(mine), progress and procs.is_main, procs)
        gen_seconds = time.perf_counter() - gen_started
    procs.barrier()  # every image is on disk before rank 0 merges
    shares = procs.gather({"rank": procs.rank, "images": made, "seconds": round(gen_seconds, 3),
                           "pipeline_seconds": round(pipe_seconds, 3), "load_seconds": round(load_seconds, 3)})
    if procs.is_main:
        rows = runfolder.merge_metadata(p.run, p.keys)
        total = sum(s["images"] for s in shares)
        slowest = max(s["seconds"] for s in shares)
        runfolder.append_timing(p.run, {
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "processes": procs.world, "device": p.device, "batch_size": p.cfg.batch_size, "batching": p.cfg.batching,
            "compile": p.cfg.compile, "images": total, "wall_seconds": round(time.perf_counter() - started, 3),
            "images_per_second": round(total / slowest, 4) if total and slowest else None, "ranks": shares,
        })
        log.info("run %s: %d/%d images, metadata.jsonl written", p.run.name, rows, len(p.keys))


def my_batches(p: Plan, pending: set[tuple[str, int]], rank: int, world: int) -> list[list[tuple[str, int]]]:
    """This process's batches. Per-image: its share of the missing images, cut into batch_size groups (a
    batch decides nothing). Batched: the run's fixed groups of batch_size images in prompt-set order that
    miss an image, so a resumed or sharded run makes each image in the same batch as an uninterrupted one."""
    size = p.cfg.batch_size
    if p.cfg.batching == "batched":
        groups = [p.keys[i:i + size] for i in range(0, len(p.keys), size)]
        todo = [i for i, group in enumerate(groups) if any(k in pending for k in group)]
        return [groups[i] for i in shard(todo, rank, world)]
    order = {key: i for i, key in enumerate(p.keys)}
    mine = [p.keys[i] for i in shard([order[k] for k in pending], rank, world)]
    return [mine[i:i + size] for i in range(0, len(mine), size)]


def _generate_items(p: Plan, system, batches: list[list[tuple[str, int]]], missing: set[tuple[str, int]],
                    show: bool, procs: Processes) -> tuple[int, float]:
    """Generate each batch, saving its missing images as soon as it is done; return (count, pipeline s)."""
    from bench.generation.progress import image_progress

    prompts = {q.id: q for q in p.prompts}
    size = p.spec["size"]
    done, in_pipeline = 0, 0.0
    label = "generating" if procs.world == 1 else f"generating (rank 0 of {procs.world})"
    batched = p.cfg.batching == "batched"
    with image_progress(label, total=len(missing), enabled=show) as advance:
        for batch in batches:
            rows = [prompts[pid] for pid, _ in batch]
            seeds = [image_seed(p.cfg.seed, pid, s) for pid, s in batch]
            t0 = time.perf_counter()
            inputs = system.model_inputs(rows)
            t1 = time.perf_counter()
            images = pipeline_images(system.pipe, inputs, seeds, p.cfg.steps, p.cfg.guidance, size, batched)
            in_pipeline += time.perf_counter() - t1
            seconds = (time.perf_counter() - t0) / len(batch)
            saved = 0
            for (pid, sample), prompt, text_in, seed, image in zip(batch, rows, inputs, seeds, images, strict=True):
                if (pid, sample) not in missing:  # made again only to keep its batch whole; already on disk
                    continue
                saved += 1
                runfolder.save_image(p.run, image, {
                    "prompt_id": pid, "sample": sample, "seed": seed, "file": paths.run_image_name(pid, sample),
                    "lang": p.cfg.lang, "text": prompt.text, "text_en": prompt.text_en, "model_input": text_in,
                    "concept": prompt.concept, "category": prompt.category, "confusers": list(prompt.confusers),
                    "tags": list(prompt.tags), "seconds": round(seconds, 4),
                })
            done += saved
            advance(saved)
    return done, in_pipeline


def pipeline_images(pipe, inputs: list, seeds: list[int], steps: int, guidance: float, size: int,
                    batched: bool = False) -> list:
    """The images for `inputs`: one pipeline call each (so an image never depends on its batch), or one call
    for all of them when `batched`, each image still drawing its noise from its own seed's generator.

    A batched forward rounds differently from a single one (matrix kernels pick other blockings for other
    batch sizes: up to 1/255 apart after decoding, measured between batch sizes 1 and 8), so batching lets
    the batch size change pixels: a batched run's batch size is part of its identity, and its batches are
    fixed groups of the run's images. Cost measured in tests/perf and gpu-bench.
    """
    if batched:
        return pipe(prompt=list(inputs), num_inference_steps=steps, guidance_scale=guidance, height=size,
                    width=size, generator=generators(list(seeds)), output_type="pil").images
    images = []
    for text, seed in zip(inputs, seeds, strict=True):
        images += pipe(prompt=[text], num_inference_steps=steps, guidance_scale=guidance, height=size,
                       width=size, generator=generators([seed]), output_type="pil").images
    return images
