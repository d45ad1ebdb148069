"""The generation stage's frozen config and its up-front validation."""

from __future__ import annotations

from dataclasses import dataclass

from bench.errors import BenchError

# Fields that change how fast images are made, never which images: left out of the run hash.
NOT_HASHED = ("batch_size", "compile")
DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class GenerateConfig:
    """One generation run: a system, a prompt set in one language, and the sampling settings."""

    model: str
    prompts: str
    lang: str
    samples: int = 4
    steps: int = 30
    guidance: float = 7.5
    size: int | None = None  # square image side in pixels; None = the system's default resolution
    scheduler: str = "dpmpp"
    batch_size: int = 8
    seed: int = 0
    dtype: str = "auto"
    compile: bool = False
    limit: int | None = None  # only the first `limit` prompts of the set

    def check(self) -> None:
        """Raise a one-line BenchError for values no run can use (names are checked by their registries)."""
        for name in ("samples", "steps", "batch_size"):
            if getattr(self, name) < 1:
                raise BenchError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.guidance < 0:
            raise BenchError(f"--guidance must be >= 0, got {self.guidance}")
        if self.seed < 0:
            raise BenchError(f"--seed must be >= 0, got {self.seed}")
        if self.size is not None and (self.size < 8 or self.size % 8):
            raise BenchError(f"--size must be a positive multiple of 8, got {self.size}")
        if self.limit is not None and self.limit < 1:
            raise BenchError(f"--limit must be at least 1, got {self.limit}")
        if self.dtype not in DTYPES:
            raise BenchError(f"unknown dtype '{self.dtype}' (one of {', '.join(DTYPES)})")
