"""A trained PEA adapter plugged into its base pipeline: native prompts -> prompt_embeds (+ pooled for SDXL)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.models.bases import BaseModel, get_base, load_base_pipeline
from bench.models.encoders import StudentEncoder, get_student_spec, load_student_encoder

log = logging.getLogger(__name__)


class PEAConditioner:
    """Student encoder + adapter: turns native-language prompts into the base UNet's text conditioning."""

    def __init__(self, adapter: Any, student: StudentEncoder, base: BaseModel, config: dict | None = None) -> None:
        if student.width != adapter.in_dim:
            raise BenchError(f"student encoder '{student.name}' gives {student.width}-d states but the adapter "
                             f"takes {adapter.in_dim}-d inputs")
        got = adapter.context_dim if adapter.context_dim is not None else adapter.out_dim
        if got != base.context_dim or (base.is_sdxl and adapter.out_dim != base.pooled_dim):
            raise BenchError(f"adapter {adapter.config} does not fit base '{base.name}' "
                             f"(context {base.context_dim}, pooled {base.pooled_dim})")
        self.adapter = adapter.eval().requires_grad_(False)
        self.student = student
        self.base = base
        self.config = config or {}

    @classmethod
    def from_checkpoint(cls, folder: Path | str) -> PEAConditioner:
        """Load a `bench train` checkpoint folder (its base and encoder must be registered names)."""
        from bench.models.checkpoint import load_adapter, read_config

        folder = Path(folder)
        config = read_config(folder)
        base = get_base(config["base"])
        if base.model_id != config["base_model"]:
            log.warning("%s was trained on %s; base '%s' is now %s", folder, config["base_model"], base.name,
                        base.model_id)
        spec = get_student_spec(config["encoder"])
        if spec.model_id != config["encoder_model"]:
            raise BenchError(f"{folder} was trained with encoder {config['encoder_model']}, but "
                             f"'{config['encoder']}' is now {spec.model_id}")
        return cls(load_adapter(folder), load_student_encoder(config["encoder"]), base, config)

    @property
    def lang(self) -> str | None:
        return self.config.get("lang")

    def to(self, device=None, dtype=None) -> PEAConditioner:
        """Move the student and the adapter (returns self)."""
        self.student.to(device=device)
        self.adapter.to(device=device)
        self._dtype = dtype
        return self

    def embed(self, prompts: list[str]):
        """prompts -> (context, pooled or None) as float32 tensors."""
        import torch

        states, _mask = self.student.encode(list(prompts))
        with torch.no_grad():
            return self.adapter(states.to(next(self.adapter.parameters()).device))

    def encode(self, prompts: list[str]) -> dict:
        """Keyword arguments for a diffusers pipeline call: prompt_embeds (+ pooled_prompt_embeds for SDXL)."""
        context, pooled = self.embed(prompts)
        dtype = getattr(self, "_dtype", None)
        out = {"prompt_embeds": context.to(dtype) if dtype else context}
        if self.base.is_sdxl:
            out["pooled_prompt_embeds"] = pooled.to(dtype) if dtype else pooled
        return out

    def negative(self, batch: int, prompt: str = "") -> dict:
        """The unconditional side of guidance: the empty (or given) native prompt through the same path."""
        encoded = self.encode([prompt] * batch)
        return {f"negative_{k}": v for k, v in encoded.items()}

    def pipeline_kwargs(self, prompts: list[str], negative_prompt: str = "") -> dict:
        """encode(prompts) plus the matching negative embeddings: pass straight to the pipeline call."""
        return {**self.encode(prompts), **self.negative(len(prompts), negative_prompt)}

    def load_base_pipeline(self, torch_dtype=None, keep_text_encoders: bool = False):
        """The base diffusers pipeline, without its English text encoders unless asked for."""
        return load_base_pipeline(self.base, torch_dtype, text_encoders=keep_text_encoders)
