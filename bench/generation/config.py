"""The generation stage's frozen config: every sampling setting with its one default and range."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.config import check_settings, setting

DTYPES = ("auto", "float32", "float16", "bfloat16")
BATCHINGS = ("per-image", "batched")
# How far a batched run's pixels may be from the per-image run's (matrix kernels block differently per batch
# size): measured up to 1/255 between batch sizes 1 and 8 after decoding; the test allows this many levels.
BATCHED_ROUNDING_LEVELS = 2


@dataclass(frozen=True)
class GenerateConfig:
    """One generation run: a system, a prompt set in one language, and the sampling settings."""

    model: str = setting(help="System to run (bench models lists them).", short="-m")
    prompts: str = setting(help="Prompt set name (bench prompts list).", short="-p")
    lang: str = setting(help="Prompt language (ISO 639-1).", short="-l")
    samples: int = setting(4, "Images per prompt.", min=1)
    steps: int = setting(30, "Denoising steps.", min=1)
    guidance: float = setting(7.5, "Classifier-free guidance scale (1 or less: no guidance).", min=0)
    size: int | None = setting(None, "Square image side in pixels, a multiple of 8 up to 4096 (default: the "
                               "system's).", min=8, max=4096, multiple_of=8)
    scheduler: str = setting("dpmpp", "Sampler: dpmpp, ddim, euler, euler-a, unipc, pndm, default.")
    batch_size: int = setting(8, "Images per batch (per-image: prompts encoded together, images unchanged; "
                              "batched: images per pipeline call, part of the run's identity).", min=1,
                              hashed=False)
    batching: str = setting("per-image", "per-image: one pipeline call per image, so no image depends on the "
                            "batch; batched: --batch-size images per call (faster on a GPU; its own run id, pixels "
                            "within rounding, 2/255, of per-image).", choices=BATCHINGS)
    seed: int = setting(0, "Run seed; each image's seed derives from it, the prompt id and the sample.", min=0)
    dtype: str = setting("auto", "auto (fp16 on GPU, fp32 on CPU), float32, float16, bfloat16.", choices=DTYPES)
    compile: bool = setting(False, "torch.compile the UNet.", hashed=False)
    limit: int | None = setting(None, "Only the first N prompts of the set.", min=1)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise a one-line BenchError for values no run can use (names are checked by their registries)."""
        check_settings(self)
