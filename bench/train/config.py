"""The training stage's frozen config: every setting of a PEA run, its validation and its hash."""

from __future__ import annotations

from dataclasses import dataclass

from bench.config import config_hash
from bench.errors import BenchError

# Fields that do not change the trained weights: a run may be resumed with different values.
NOT_IN_HASH = ("name", "resume", "stop_after", "save_every", "val_every", "keep_checkpoints", "cache",
               "log_every")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a PEA training run (PAPER.md defaults; every switch is recorded)."""

    lang: str
    base: str  # registered base name (bench.models.bases)
    encoder: str  # registered student encoder name (bench.models.encoders)
    corpus: str  # corpora/<name> folder or a corpus name
    name: str | None = None  # checkpoint folder name; default pea-<lang>-<base>-<encoder>-<hash>
    steps: int = 1000
    batch_size: int = 4  # per micro-batch and process
    grad_accum: int = 1
    lr: float = 1e-5
    weight_decay: float = 0.1
    warmup_steps: int = 100
    lr_power: float = 1.0  # polynomial decay after warm-up
    lr_end: float = 0.0
    max_grad_norm: float = 1.0
    hidden_dim: int | None = None  # default: the paper's width for this encoder and base
    kd_output: bool = True  # MSE between student and teacher noise predictions
    kd_features: bool = True  # + feature_weight x sum of MSEs at every down, mid and up block output
    feature_weight: float = 0.1
    kd_text_weight: float = 0.0  # > 0 adds MSE(adapter output, teacher text embeddings): the ablation's text KD
    hybrid: bool = True  # native-only rows get the ordinary denoising loss (else they are skipped)
    cfg_dropout: float = 0.1  # one mask: teacher gets "" in English, student "" in the native language
    noise_offset: float = 0.5  # the public code's value
    resolution: int | None = None  # default: the base's resolution
    seed: int = 0
    mixed_precision: str = "fp16"  # on GPU; the CPU always trains in float32
    gradient_checkpointing: bool = False
    cache: bool = True  # compute frozen embeddings and latents once and reuse them
    val_rows: int = 8  # held-out parallel rows for the validation loss
    val_every: int = 100
    save_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 1
    init_adapter: str | None = None  # start from a checkpoint folder or released pytorch_model.bin
    stop_after: int | None = None  # stop (with a checkpoint) after this many steps: time-boxed runs, tests
    resume: bool = False
    limit_rows: int | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise BenchError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.cfg_dropout < 1.0:
            raise BenchError(f"cfg dropout must be in [0, 1), got {self.cfg_dropout}")
        if not (self.kd_output or self.kd_features or self.kd_text_weight > 0 or self.hybrid):
            raise BenchError("nothing to train: output, feature and text distillation and hybrid are all off")
        if self.lr <= 0:
            raise BenchError(f"learning rate must be positive, got {self.lr}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise BenchError(f"mixed precision must be no, fp16 or bf16, got {self.mixed_precision!r}")

    @property
    def run_hash(self) -> str:
        """Hash of the fields that decide the weights."""
        return config_hash(self, exclude=NOT_IN_HASH)

    def run_name(self) -> str:
        """--name, else pea-<lang>-<base>-<encoder>-<hash> (what system pea-<lang> finds for that base)."""
        if self.name:
            return self.name
        from bench.models.bases import get_base
        from bench.models.encoders import get_student_spec
        from bench.models.resolve import slug

        base, encoder = slug(get_base(self.base).name), slug(get_student_spec(self.encoder).name)
        return f"pea-{self.lang}-{base}-{encoder}-{self.run_hash[:8]}"

