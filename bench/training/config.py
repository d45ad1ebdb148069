"""The training stage's frozen config: every setting of a PEA run with its one default and range, and its hash.

Settings left at None are filled from the named recipe (bench.training.recipes) and the base's family when the
config is built, so the run hash, the checkpoint's config.json and the trainer all see the values in effect.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bench.core.config import check_settings, config_hash, not_hashed, setting
from bench.core.errors import BenchError
from bench.training.defaults import DEFAULT_BASE

# The --help sections of bench train.
RUN, OPT, LOSS, OPS = "What to train", "Optimiser and schedule", "Adapter and losses", "Running, checkpoints and logs"

# The --kd ablation switch: (kd_output, kd_features, kd_text_weight) of each named variant.
KD_MODES = {"both": (True, True, 0.0), "output": (True, False, 0.0), "features": (False, True, 0.0),
            "text": (False, False, 1.0), "all": (True, True, 1.0)}


def _base_names() -> list[str]:
    """The built-in bases for --base's help (listing plug-ins would import them: bench --help must stay fast)."""
    from bench.models.bases import BASES

    return sorted(BASES._entries) + ["plug-in bases such as the toy world's 'world' (bench models lists all)"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a PEA training run; every switch is recorded in the checkpoint."""

    lang: str = setting(help="Language of the native captions (ISO 639-1).", panel=RUN)
    base: str = setting(DEFAULT_BASE, f"Base model: a registered name ({', '.join(_base_names())}), "
                        "zoo:<name>, a hub id or a local diffusers pipeline folder (its family read from "
                        "model_index.json).", panel=RUN)
    corpus: str | None = setting(None, "Corpus folder (corpora/NAME) or corpus name (default cc3m-<lang>, what "
                                 "bench build-corpus --lang writes).", panel=RUN)
    encoder: str | None = setting(None, "Student encoder: chinese-clip, altclip-m18, mt5-xl, tiny, world, "
                                  "zoo:<name>, a hub id or a transformers folder (default: the language's).",
                                  panel=RUN)
    name: str | None = setting(None, "Checkpoint name (default pea-<lang>-<base>-<encoder>-<hash>).", hashed=False,
                               panel=RUN)
    recipe: str = setting("official", "Named set of training settings: official (the public code's effective "
                          "behaviour) or paper (the paper's stated values); explicit options override it.",
                          choices=("official", "paper"), panel=RUN)
    steps: int = setting(1000, "Optimizer steps.", min=1, panel=OPT)
    batch_size: int = setting(4, "Micro-batch size per process.", min=1, panel=OPT)
    grad_accum: int = setting(1, "Micro-batches per optimizer step.", min=1, panel=OPT)
    lr: float = setting(1e-5, "Peak learning rate (AdamW).", above=0, panel=OPT)
    weight_decay: float | None = setting(None, "AdamW weight decay (default: the recipe's).", min=0, panel=OPT)
    warmup_steps: int = setting(100, "Linear warm-up steps (clamped to --steps, with a warning).", min=0, panel=OPT)
    lr_power: float = setting(1.0, "Degree of the polynomial decay after warm-up.", above=0, panel=OPT)
    lr_end: float | None = setting(None, "Learning rate the decay ends at (default: the recipe's).", min=0, panel=OPT)
    lr_decay_steps: int | None = setting(None, "Step at which the decay reaches --lr-end (default: the recipe's; "
                                         "the paper recipe: --steps).", min=1, panel=OPT)
    max_grad_norm: float = setting(1.0, "Gradient clipping norm (0: off).", min=0, panel=OPT)
    hidden_dim: int | None = setting(None, "Adapter hidden width (default: the paper's).", min=1, panel=LOSS)
    kd: str | None = setting(None, "Distillation ablation: both (output + features, the default), output, "
                             "features, text (adapter vs teacher embeddings only), all; sets kd_output, "
                             "kd_features and kd_text_weight.", choices=tuple(KD_MODES), panel=LOSS)
    kd_output: bool = setting(True, "MSE between student and teacher noise predictions.", cli=False)
    kd_features: bool = setting(True, "+ feature_weight x MSEs at every down, mid and up block output.", cli=False)
    feature_weight: float = setting(0.1, "Weight of the feature distillation loss.", min=0, panel=LOSS)
    kd_text_weight: float = setting(0.0, "> 0 adds MSE(adapter output, teacher text embeddings): the ablation's "
                                    "text KD.", min=0, cli=False)
    hybrid: bool = setting(True, "Denoising loss for native-only rows (else they are skipped).", panel=LOSS)
    cfg_dropout: float = setting(0.1, "Share of rows trained with the empty prompt (teacher and student alike).",
                                 min=0, below=1, panel=LOSS)
    cfg_dropout_pooled: bool | None = setting(None, "SDXL: CFG dropout also empties the pooled text embedding "
                                              "(default: the recipe's; official: context only).", panel=LOSS)
    noise_offset: float | None = setting(None, "Offset-noise strength (default: the recipe's for the base).", min=0,
                                         panel=LOSS)
    aspect_buckets: bool | None = setting(None, "SDXL: train on aspect-ratio buckets (448..896 px) with the true "
                                          "original size and crop in the time ids (default: the recipe's).",
                                          panel=LOSS)
    resolution: int | None = setting(None, "Training image side, a multiple of 8 up to 4096 (default: the base's).",
                                     min=8, max=4096, multiple_of=8, panel=LOSS)
    seed: int = setting(0, "Seed of the initial weights, batch order, noise and dropout.", min=0, panel=OPT)
    mixed_precision: str = setting("fp16", "Mixed precision on GPU (a CPU trains in float32 unless bf16 is asked for).",
                                   choices=("no", "fp16", "bf16"), panel=OPS)
    threads: int = setting(1, "CPU threads torch uses while training. Part of the run's identity: on a CPU the "
                           "thread count decides how float sums are split, so the weights' last bits follow it "
                           "(OMP_NUM_THREADS and the core count do not reach training).", min=1, max=1024,
                           panel=OPS)
    gradient_checkpointing: bool = setting(False, "Recompute UNet activations in the backward pass.", panel=OPS)
    cache: bool = setting(True, "Compute frozen embeddings and latents once and reuse them.", hashed=False, panel=OPS)
    val_rows: int = setting(8, "Held-out parallel rows for the validation loss.", min=0, panel=OPS)
    val_every: int = setting(100, "Validate every N steps (0: only at the start and the end).", min=0,
                             hashed=False, panel=OPS)
    save_every: int = setting(500, "Checkpoint every N steps (and at the end).", min=1, hashed=False, panel=OPS)
    keep_checkpoints: int = setting(2, "Step checkpoints kept.", min=1, hashed=False, panel=OPS)
    log_every: int = setting(1, "Log every N steps.", min=1, hashed=False, panel=OPS)
    init_adapter: str | None = setting(None, "Start from a checkpoint folder or released pytorch_model.bin.",
                                       panel=RUN)
    stop_after: int | None = setting(None, "Stop (with a checkpoint) after this many steps.", min=1, hashed=False,
                                     panel=OPS)
    resume: bool = setting(False, "Continue the run in the checkpoint folder exactly.", hashed=False, panel=RUN)
    limit_rows: int | None = setting(None, "Use only the first N usable rows of the corpus.", min=1, panel=RUN)

    def __post_init__(self) -> None:
        check_settings(self)
        from bench.core.languages import get_language
        from bench.models.bases import get_base
        from bench.training.defaults import train_corpus
        from bench.training.recipes import recipe_values

        language = get_language(self.lang)
        fill: dict[str, Any] = {"lang": language.code, "corpus": train_corpus(language.code, self.corpus)}
        if self.encoder is None:
            fill["encoder"] = language.student_encoder
        if self.kd is not None:
            fill.update(zip(("kd_output", "kd_features", "kd_text_weight"), KD_MODES[self.kd], strict=True))
        for key, value in recipe_values(self.recipe, get_base(self.base).family, self.steps).items():
            if getattr(self, key) is None:
                fill[key] = value
        for key, value in fill.items():
            object.__setattr__(self, key, value)
        if self.lr_end is not None and self.lr_end >= self.lr:
            raise BenchError(f"--lr-end ({self.lr_end}) must be below --lr ({self.lr})")
        if not (self.kd_output or self.kd_features or self.kd_text_weight > 0 or self.hybrid):
            raise BenchError("nothing to train: output, feature and text distillation and hybrid are all off")

    def replace(self, **changes) -> TrainConfig:
        """A copy with `changes`; recipe-filled settings are filled again when the recipe or base changes."""
        from bench.training.recipes import RECIPE_FIELDS

        if {"recipe", "base", "steps"} & changes.keys():
            changes = {**{k: None for k in RECIPE_FIELDS if k not in changes}, **changes}
        return dataclasses.replace(self, **changes)

    @property
    def warmup(self) -> int:
        """The warm-up in effect: never longer than the run."""
        return min(self.warmup_steps, self.steps)

    @property
    def run_hash(self) -> str:
        """Hash of the fields that decide the weights."""
        return config_hash(self, exclude=NOT_IN_HASH)

    def run_name(self) -> str:
        """--name, else pea-<lang>-<base>-<encoder>-<hash> (what system pea-<lang> finds for that base)."""
        if self.name is not None:
            if not self.name.strip():
                raise BenchError("--name is empty: give the checkpoint a name, or leave --name out for the default")
            return self.name
        from bench.models.bases import get_base
        from bench.models.encoders import get_student_spec
        from bench.models.resolve import slug

        base, encoder = slug(get_base(self.base).name), slug(get_student_spec(str(self.encoder)).name)
        return f"pea-{self.lang}-{base}-{encoder}-{self.run_hash[:8]}"


# Fields that do not change the trained weights: a run may be resumed with different values.
NOT_IN_HASH = not_hashed(TrainConfig)
