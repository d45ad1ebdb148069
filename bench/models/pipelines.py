"""Every text-to-image system the benchmark compares, by name: what it is, whether it is here, how to build it.

A system is a SystemSpec in SYSTEMS. Kinds:
  pea        base model + student encoder + PEA adapter (a `bench train` checkpoint, or released weights)
  translate  native prompt machine-translated to English, then the English base model
  asis       native prompt fed unchanged to the English base model
  english    the English oracle: the base model given the English pivot prompt
  public     a published multilingual pipeline (AltDiffusion, Taiyi) loaded as diffusers ships it
Adding a system is one `register_system(SystemSpec(...))`; a new base gets its standard set with
`register_standard_systems(base)`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.registry import Registry
from bench.models import weights
from bench.models.bases import base_from_argument, get_base

log = logging.getLogger(__name__)

KINDS = ("pea", "translate", "asis", "english", "public")

# Languages of the public multilingual models, as their model cards list them.
ALTDIFFUSION_M18_LANGS = ("en", "zh", "fr", "es", "de", "pt", "ja", "ko", "ru", "it", "nl", "ar", "th", "vi",
                          "tr", "pl", "hi", "uk")
PEA_LANGS = ("zh", "ko", "ja", "ru", "it")  # the languages the PEA-Diffusion paper trained adapters for
RELEASED_PEA = "OPPOer/PEA-Diffusion"  # released zh adapter for SDXL


@dataclass(frozen=True)
class SystemSpec:
    """A registered text-to-image system: everything needed to list, check and build it."""

    name: str
    kind: str  # one of KINDS
    tier: str  # "real" or "tiny"
    base: str | None = None  # BASES name for pea/translate/asis/english
    languages: tuple[str, ...] = ()  # prompt languages it takes; () = every language
    prompt_field: str = "text"  # what the model consumes: the native "text" or the English "text_en"
    translator: str | None = None  # translate: translator registry name
    checkpoint: str | None = None  # pea: checkpoint name under checkpoints_dir()
    released: str | None = None  # pea: released adapter weights used when no checkpoint exists
    model_id: str | None = None  # public: hub id, local folder or zoo:<name>
    pipeline: str | None = None  # public: diffusers pipeline class name
    resolution: int | None = None  # default image side; None = the base model's
    description: str = ""

    def default_size(self) -> int:
        """Square image side used when a run does not say."""
        if self.resolution:
            return self.resolution
        if self.base:
            return get_base(self.base).resolution
        raise ValueError(f"system {self.name} has neither a resolution nor a base")

    def supports(self, lang: str) -> bool:
        """True when the system takes prompts in `lang`."""
        if self.kind == "translate" and lang == "en":
            return False
        return not self.languages or lang in self.languages

    def checkpoint_dir(self) -> Path | None:
        """The checkpoint folder of a pea system, when it exists: the named one, else the newest that
        `bench train` wrote under its default name for this base and language (pea-<lang>-<base>-...)."""
        if self.checkpoint is None:
            return None
        if Path(self.checkpoint).is_absolute():  # --model pea:<path> or a checkpoint folder
            folder = Path(self.checkpoint)
            return folder if (folder / "config.json").exists() else None
        folder = paths.child(paths.checkpoints_dir(), self.checkpoint, what="checkpoint name")
        if (folder / "config.json").exists():
            return folder
        if self.base and len(self.languages) == 1:
            from bench.models.resolve import default_checkpoint

            return default_checkpoint(self.checkpoint, self.base, self.languages[0])
        return None

    def weights(self) -> dict[str, str]:
        """The weights it needs, by role: model ids, checkpoint folders, translator names."""
        out: dict[str, str] = {}
        if self.base:
            out["base"] = get_base(self.base).model_id
        if self.model_id:
            out["model"] = self.model_id
        if self.translator:
            out["translator"] = self.translator
        if self.kind == "pea":
            ckpt = self.checkpoint_dir()
            if ckpt is not None:
                out["adapter"] = str(ckpt)
            elif self.released:
                out["adapter"] = self.released
            else:
                out["adapter"] = f"checkpoint {self.checkpoint} (not trained yet)"
        return out

    def missing(self) -> str | None:
        """Why the system cannot be built here, or None when everything is available offline."""
        released_here = bool(self.released) and weights.available_offline(self.released, probe="README.md")
        if self.kind == "pea" and self.checkpoint_dir() is None and not released_here:
            where = paths.checkpoints_dir() / str(self.checkpoint)
            extra = f" and the released weights '{self.released}' are not cached" if self.released else ""
            lang = self.languages[0] if self.languages else "<lang>"
            return (f"system '{self.name}' needs a PEA checkpoint at {where}{extra}; train one with "
                    f"`bench train --lang {lang} --base {self.base}` (its default name pea-{lang}-{self.base}-... "
                    f"is found; or pass --name {self.checkpoint}), or use --model pea:<checkpoint or folder>")
        for role, model_id in (("base", self._base_id()), ("model", self.model_id)):
            if model_id and not weights.available_offline(model_id):
                return (f"{role} weights '{model_id}' of system '{self.name}' are not available offline: "
                        f"download them where the hub is reachable (huggingface-cli download {model_id}) "
                        f"or register a local folder")
        return None

    def available_offline(self) -> bool:
        """True when every weight it needs is a zoo model, a local folder or in the HF cache."""
        return self.missing() is None

    def require_available(self) -> None:
        """Raise NotAvailableOffline with what to do when the system cannot be built here."""
        problem = self.missing()
        if problem:
            raise NotAvailableOffline(problem)

    def describe(self) -> dict[str, Any]:
        """The spec as plain JSON (for run specs and `bench models --json`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "description"}

    def _base_id(self) -> str | None:
        return get_base(self.base).model_id if self.base else None


SYSTEMS: Registry[SystemSpec] = Registry("model", hint="bench models lists them")
CHECKPOINT_PREFIX = "pea:"  # `--model pea:<checkpoint>`: any `bench train` checkpoint, base and language from it


def register_system(spec: SystemSpec) -> SystemSpec:
    """Add one system to the registry (checked for a known kind)."""
    if spec.kind not in KINDS:
        raise ValueError(f"system kind {spec.kind!r} is not one of {KINDS}")
    if spec.name.startswith(CHECKPOINT_PREFIX):  # get_system() reads these as checkpoints: it would never be found
        raise BenchError(f"system name {spec.name!r}: names starting with '{CHECKPOINT_PREFIX}' are the "
                         "checkpoints' (pea:<checkpoint>); choose another")
    return SYSTEMS.register(spec.name, spec)


def register_standard_systems(base: str, translator: str = "nllb", pea_languages: tuple[str, ...] = (),
                              pea_prefix: str = "", released: dict[str, str] | None = None) -> list[str]:
    """Register translate-<base>, asis-<base>, <base>-en and <pea_prefix>pea-<lang> for a base; return the names."""
    b = get_base(base)
    specs = [
        SystemSpec(f"translate-{base}", "translate", b.tier, base=base, translator=translator,
                   description=f"native prompt translated to English ({translator}), then {base}"),
        SystemSpec(f"asis-{base}", "asis", b.tier, base=base,
                   description=f"native prompt fed unchanged to {base}"),
        SystemSpec(f"{base}-en", "english", b.tier, base=base, prompt_field="text_en",
                   description=f"English oracle: {base} given the English pivot prompt"),
    ]
    for lang in pea_languages:
        name = f"{pea_prefix}pea-{lang}"
        specs.append(SystemSpec(name, "pea", b.tier, base=base, languages=(lang,), checkpoint=name,
                                released=(released or {}).get(lang),
                                description=f"{base} + student encoder + PEA adapter for {lang}"))
    for spec in specs:
        register_system(spec)
    return [s.name for s in specs]


register_standard_systems("sdxl", "nllb", PEA_LANGS, released={"zh": RELEASED_PEA})
register_standard_systems("sd15", "nllb")
register_standard_systems("tiny-sdxl", "tiny", PEA_LANGS, pea_prefix="tiny-")
register_standard_systems("tiny-sd15", "tiny")
register_system(SystemSpec(
    "altdiffusion-m18", "public", "real", languages=ALTDIFFUSION_M18_LANGS, model_id="BAAI/AltDiffusion-m18",
    pipeline="AltDiffusionPipeline", resolution=512, description="BAAI AltDiffusion (XLM-R text encoder, 18 languages)"))
register_system(SystemSpec(
    "taiyi-zh", "public", "real", languages=("zh",),
    model_id="IDEA-CCNL/Taiyi-Stable-Diffusion-1B-Chinese-v0.1", pipeline="StableDiffusionPipeline", resolution=512,
    description="IDEA-CCNL Taiyi Stable Diffusion (Chinese BERT text encoder)"))
register_system(SystemSpec(
    "tiny-altdiffusion-m18", "public", "tiny", languages=ALTDIFFUSION_M18_LANGS,
    model_id="zoo:tiny-altdiffusion", pipeline="AltDiffusionPipeline", resolution=64,
    description="tiny offline AltDiffusion-like pipeline (XLM-R-like encoder)"))
register_system(SystemSpec(
    "tiny-taiyi-zh", "public", "tiny", languages=("zh",), model_id="zoo:tiny-taiyi",
    pipeline="StableDiffusionPipeline", resolution=64, description="tiny offline Taiyi-like pipeline (BERT-like encoder)"))




def get_system(name: str) -> SystemSpec:
    """Look a system up by name, with did-you-mean; 'pea:<checkpoint>' builds one from a training checkpoint."""
    if name not in SYSTEMS:
        from bench.models.resolve import looks_like_model

        if name.startswith(CHECKPOINT_PREFIX) or looks_like_model(name):
            return system_from_argument(name)  # pea:<name or folder>, a checkpoint or pipeline folder, a hub id
    return SYSTEMS.get(name)


def checkpoint_systems() -> list[SystemSpec]:
    """A 'pea:<name>' system for every readable checkpoint under checkpoints_dir()."""
    root = paths.checkpoints_dir()
    out = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if (folder / "config.json").is_file():
            try:
                out.append(checkpoint_system(folder.name))
            except (BenchError, KeyError):  # a broken or foreign folder is not a system; listing goes on
                log.debug("skipping %s: not a usable checkpoint", folder)
    return out


def checkpoint_system(checkpoint: str) -> SystemSpec:
    """A pea system for checkpoints/<checkpoint>/ (its config.json names base and language)."""
    folder = paths.child(paths.checkpoints_dir(), checkpoint, what="checkpoint name")
    if not (folder / "config.json").is_file():
        raise BenchError(f"no checkpoint '{checkpoint}' in {paths.checkpoints_dir()} (bench train writes them)")
    config = paths.read_json(folder / "config.json")
    if not config.get("lang") or not config.get("base"):
        raise BenchError(f"{folder / 'config.json'} does not name its base and lang")
    base = get_base(config["base"])
    return SystemSpec(f"{CHECKPOINT_PREFIX}{checkpoint}", "pea", base.tier, base=base.name,
                      languages=(config["lang"],), checkpoint=checkpoint,
                      description=f"{base.name} + PEA checkpoint {checkpoint}")


def system_from_argument(value: str):
    """A SystemSpec for a checkpoint folder (or pea:<path>), a diffusers pipeline folder or a cached hub id."""
    from bench.models import resolve

    raw = value[len(CHECKPOINT_PREFIX):] if value.startswith(CHECKPOINT_PREFIX) else value
    if Path(raw).is_dir() and resolve.is_checkpoint(Path(raw)):
        return checkpoint_folder_system(Path(raw))
    if value.startswith(CHECKPOINT_PREFIX):
        return checkpoint_system(raw)
    folder = resolve.local_folder(value, "model_index.json")
    if folder is None or not (folder / "model_index.json").is_file():
        raise resolve.not_found("model", value, "model_index.json (or a bench train checkpoint)")
    index = paths.read_json(folder / "model_index.json")
    base = None
    if index.get("_class_name") in resolve.PIPELINE_FAMILIES:
        base = base_from_argument(value)
    resolution = base.resolution if base else 512
    name = str(Path(value).resolve()) if Path(value).exists() else value
    return SystemSpec(name, "public", resolve.tier_of(value), model_id=name, pipeline=index["_class_name"],
                      resolution=resolution, description=f"pipeline {index['_class_name']} from {resolve.slug(value)}")


def checkpoint_folder_system(folder: Path):
    """A pea system for a checkpoint folder anywhere (its config.json names base and language)."""
    folder = folder.resolve()
    config = paths.read_json(folder / "config.json")
    if not config.get("lang") or not config.get("base"):
        raise BenchError(f"{folder / 'config.json'} does not name its base and lang")
    base = get_base(config["base"])
    return SystemSpec(f"{CHECKPOINT_PREFIX}{folder}", "pea", base.tier, base=base.name, languages=(config["lang"],),
                      checkpoint=str(folder), description=f"{base.name} + PEA checkpoint {folder.name}")


def check_language(spec: SystemSpec, lang: str) -> None:
    """Raise a one-line BenchError when the system does not take prompts in `lang`."""
    from bench.core.languages import get_language

    get_language(lang)
    if not spec.supports(lang):
        takes = ", ".join(spec.languages) if spec.languages else "every language but English"
        raise BenchError(f"model '{spec.name}' does not take '{lang}' prompts (it takes: {takes})")


# ----------------------------------------------------------------------------------------------------------
# Identity: what goes into a run spec, computed without loading any pipeline.


def identity(spec: SystemSpec, lang: str) -> dict[str, Any]:
    """Everything about the system that decides its images: spec plus weight fingerprints."""
    spec.require_available()
    out: dict[str, Any] = {"system": spec.describe()}
    if spec.base:
        out["base"] = weights.fingerprint(get_base(spec.base).model_id)
    if spec.model_id:
        out["model"] = weights.fingerprint(spec.model_id)
    if spec.kind == "translate":
        from bench.models.translations import translator_identity

        out["translator"] = translator_identity(spec.translator, lang)
    if spec.kind == "pea":
        out["adapter"] = _adapter_identity(spec)
    return out


# The checkpoint config fields that, with adapter.safetensors, decide what a PEA system computes.
_ADAPTER_IDENTITY_KEYS = ("adapter", "base", "base_model", "family", "encoder", "encoder_model", "lang")


def _adapter_identity(spec: SystemSpec) -> dict[str, Any]:
    """Checkpoint content hash and config, or the released weights' revision."""
    ckpt = spec.checkpoint_dir()
    if ckpt is None:
        from bench.core.languages import get_language
        from bench.models.encoders import get_student_spec

        out: dict[str, Any] = {"released": weights.fingerprint(spec.released, probe="README.md")}
        encoder = get_student_spec(get_language(spec.languages[0]).student_encoder).model_id
    else:
        config = paths.read_json(ckpt / "config.json")
        # Only the weights and the fields that rebuild the model decide the images; the rest of config.json
        # (corpus path, time written, losses, git commit) differs between two trainings of the same adapter.
        out = {"checkpoint": ckpt.name, "sha256": weights.folder_hash(ckpt / "adapter.safetensors"),
               "config": {k: config[k] for k in _ADAPTER_IDENTITY_KEYS if k in config}}
        encoder = _encoder_model_id(config)
    # The student encoder's weights decide the images as much as the adapter's.
    if encoder and weights.available_offline(encoder, probe="config.json"):
        out["encoder"] = weights.fingerprint(encoder, probe="config.json")
    return out


def _encoder_model_id(config: dict) -> str | None:
    """The student encoder's model id as a `bench train` checkpoint config records it."""
    if config.get("encoder_model"):
        return config["encoder_model"]
    enc = config.get("encoder")
    return enc.get("model_id") if isinstance(enc, dict) else None
