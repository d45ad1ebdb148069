"""The generation stage: a frozen GenerateConfig -> a run folder of images and metadata.jsonl.

    from bench.generate import GenerateConfig, generate, run_dir_for
    run = generate(GenerateConfig(model="tiny-pea-zh", prompts="culture", lang="zh", steps=4))
"""

from bench.generate.config import GenerateConfig
from bench.generate.harness import generate, plan, run_dir_for
from bench.generate.runfolder import read_metadata
from bench.generate.seeds import image_seed

__all__ = ["GenerateConfig", "generate", "image_seed", "plan", "read_metadata", "run_dir_for"]
