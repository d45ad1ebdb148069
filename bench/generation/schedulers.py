"""Sampler names -> diffusers scheduler classes, built from the pipeline's own scheduler config."""

from __future__ import annotations

import math

from bench.core.registry import Registry

SCHEDULERS: Registry[tuple[str, dict]] = Registry("scheduler", hint="dpmpp, ddim, euler, euler-a, unipc, pndm or default")
SCHEDULERS.register("dpmpp", ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}))
SCHEDULERS.register("ddim", ("DDIMScheduler", {}))
SCHEDULERS.register("euler", ("EulerDiscreteScheduler", {}))
SCHEDULERS.register("euler-a", ("EulerAncestralDiscreteScheduler", {}))
SCHEDULERS.register("unipc", ("UniPCMultistepScheduler", {}))
SCHEDULERS.register("pndm", ("PNDMScheduler", {}))
SCHEDULERS.register("default", ("", {}))  # whatever the system ships with


def check_scheduler(name: str) -> None:
    """Raise the did-you-mean error for an unknown sampler name."""
    SCHEDULERS.get(name)


def set_scheduler(pipe, name: str) -> dict:
    """Replace pipe.scheduler with sampler `name`; return its class and config for the run spec."""
    import diffusers

    cls_name, overrides = SCHEDULERS.get(name)
    if cls_name:
        cls = getattr(diffusers, cls_name)
        pipe.scheduler = cls.from_config(pipe.scheduler.config, **overrides)
    config = {k: _finite(v) for k, v in dict(pipe.scheduler.config).items() if not k.startswith("_")}
    return {"name": name, "class": type(pipe.scheduler).__name__, "config": config}


def _finite(value):
    """JSON has no infinities: write them as strings ('-inf') so spec.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
