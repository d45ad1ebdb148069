"""Make a stock diffusers SD/SDXL pipeline take native-language prompts, keeping LoRA and ControlNet working.

A route decides how native text reaches the UNet: TranslateRoute rewrites the text into English before the
pipeline's own text encoders; EmbeddingRoute (PEA) replaces the English encoders with student encoder + adapter.
Only `encode_prompt` changes, so everything else the pipeline offers (LoRA loading, schedulers, ControlNet via
`with_controlnet`, callbacks) is untouched.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Protocol


class TranslateRoute:
    """Native text -> English text through a translator, before the base model's own encoders."""

    def __init__(self, translate) -> None:
        self.translate = translate  # callable list[str] -> list[str]

    def to(self, *args, **kwargs) -> TranslateRoute:
        """Translators run where they were loaded; nothing to move."""
        return self


class Conditioner(Protocol):
    """What EmbeddingRoute needs: B's PEAConditioner satisfies it."""

    def encode(self, prompts: list[str]) -> dict[str, Any]: ...


class EmbeddingRoute:
    """Native text -> UNet conditioning through a student encoder and PEA adapter."""

    def __init__(self, conditioner: Conditioner) -> None:
        self.conditioner = conditioner

    def to(self, *args, **kwargs) -> EmbeddingRoute:
        """Move the conditioner along with the pipeline when it is a module."""
        move = getattr(self.conditioner, "to", None)
        if callable(move):
            moved = move(*args, **kwargs)
            if moved is not None:
                self.conditioner = moved
        return self

    def encode(self, prompts: list[str], device, dtype) -> dict[str, Any]:
        """Conditioning tensors for `prompts` on the UNet's device and dtype."""
        import torch

        with torch.no_grad():
            out = self.conditioner.encode(list(prompts))
        return {k: v.to(device=device, dtype=dtype) for k, v in out.items() if v is not None}


class NativePromptMixin:
    """Overrides encode_prompt so native prompts go through `self.native_route`."""

    native_route: TranslateRoute | EmbeddingRoute
    # Provided by the diffusers pipeline this mixin is combined with.
    _execution_device: Any
    unet: Any

    def to(self, *args, **kwargs):
        """Move the pipeline, then the route's encoder to the UNet's device and dtype."""
        out = super().to(*args, **kwargs)  # type: ignore[misc]
        self.native_route.to(self.unet.device, self.unet.dtype)
        return out

    def encode_prompt(self, *args, **kwargs):
        """The parent's encode_prompt, with prompts translated or encoded by the PEA route first."""
        parent = super().encode_prompt  # type: ignore[misc]
        bound = inspect.signature(parent).bind(*args, **kwargs)
        bound.apply_defaults()
        a = dict(bound.arguments)
        route = self.native_route
        if isinstance(route, TranslateRoute):
            for key in ("prompt", "negative_prompt"):
                if a.get(key) is not None:
                    texts = [a[key]] if isinstance(a[key], str) else list(a[key])
                    a[key] = route.translate(texts)
            return parent(**a)
        if a.get("prompt_embeds") is not None:  # caller already computed the conditioning
            return parent(**a)
        return self._pea_encode(route, a)

    def _pea_encode(self, route: EmbeddingRoute, a: dict):
        """Student encoder + adapter for the prompt and (under guidance) the negative prompt."""
        prompts = [a["prompt"]] if isinstance(a["prompt"], str) else list(a["prompt"])
        device = a.get("device") or self._execution_device
        dtype = self.unet.dtype
        n = a.get("num_images_per_prompt") or 1
        cond = route.encode(prompts, device, dtype)
        negative = None
        if a.get("do_classifier_free_guidance"):
            neg = a.get("negative_prompt")
            neg = [""] * len(prompts) if neg is None else ([neg] * len(prompts) if isinstance(neg, str) else list(neg))
            # The student saw the empty native prompt under CFG dropout, so that is the unconditional input.
            negative = route.encode(neg, device, dtype)
        sdxl = "pooled_prompt_embeds" in a
        out = [_repeat(cond["prompt_embeds"], n), _repeat(negative["prompt_embeds"], n) if negative else None]
        if sdxl:
            out += [_repeat(cond["pooled_prompt_embeds"], n),
                    _repeat(negative["pooled_prompt_embeds"], n) if negative else None]
        return tuple(out)


def _repeat(t, n: int):
    """Repeat each row n times (num_images_per_prompt), keeping the prompt-major order diffusers uses."""
    return t if n == 1 else t.repeat_interleave(n, dim=0)


@functools.cache
def _native_class(cls: type) -> type:
    """A subclass of a diffusers pipeline class with native-prompt encoding (one per class)."""
    return type(f"Native{cls.__name__}", (NativePromptMixin, cls), {"__module__": __name__})


def make_native(pipe, route):
    """Give `pipe` native-prompt encoding in place (its class becomes a subclass; config and LoRA state kept)."""
    base = type(pipe)
    if isinstance(pipe, NativePromptMixin):
        base = base.__mro__[2]
    pipe.__class__ = _native_class(base)
    pipe.native_route = route
    return pipe


def with_controlnet(pipe, controlnet):
    """The matching ControlNet pipeline sharing `pipe`'s components, keeping its native-prompt route."""
    from diffusers import (
        StableDiffusionControlNetPipeline,
        StableDiffusionPipeline,
        StableDiffusionXLControlNetPipeline,
        StableDiffusionXLPipeline,
    )

    if isinstance(pipe, StableDiffusionXLPipeline):
        target = StableDiffusionXLControlNetPipeline
    elif isinstance(pipe, StableDiffusionPipeline):
        target = StableDiffusionControlNetPipeline
    else:
        from bench.core.errors import BenchError

        raise BenchError(f"{type(pipe).__name__} has no ControlNet counterpart (SD1.5 and SDXL bases do)")
    components = {k: v for k, v in pipe.components.items() if k in inspect.signature(target.__init__).parameters}
    out = target(**components, controlnet=controlnet)
    route = getattr(pipe, "native_route", None)
    return make_native(out, route) if route is not None else out
