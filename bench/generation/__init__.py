"""The generation stage: a frozen GenerateConfig -> a run folder of images and metadata.jsonl.

    from bench.generation import GenerateConfig, generate, run_dir_for
    run = generate(GenerateConfig(model="tiny-pea-zh", prompts="culture", lang="zh", steps=4))

May import: bench.prompts, bench.models, bench.core.
Add here: a scheduler (schedulers.py); the run folder's format lives in runfolder.py (writer) and runs.py (reader).
"""

from bench.generation.config import GenerateConfig
from bench.generation.harness import generate, plan, run_dir_for
from bench.generation.runfolder import read_metadata
from bench.generation.seeds import image_seed

__all__ = ["GenerateConfig", "generate", "image_seed", "plan", "read_metadata", "run_dir_for"]
