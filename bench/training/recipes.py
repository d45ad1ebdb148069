"""Named training recipes: the public PEA code's effective settings ("official") and the paper's ("paper").

Each recipe is a set of TrainConfig values; a value given explicitly wins over the recipe. Facts read from the
public training scripts of OPPO-Mente-Lab/PEA-Diffusion (train_sdxl_zh.py, utils/model_utils.py,
utils/custom_dataset_sdxl.py) and from the paper (arXiv 2311.17086):

- The scripts build the optimizer from one parameter group without a weight_decay key, so the group takes
  the optimizer's default, 0.0 (DeepSpeed's FusedAdam under the launch script's deepspeed strategy, or
  transformers' AdamW): the launch script's `--weight_decay 1e-1` is never read. The paper states 0.1.
- The scripts hard-code total_steps = 2,232,142 for a polynomial schedule (power 1) ending at
  min_learning_rate 5e-8, so over a 50k-step run the rate stays within 3% of its peak. The paper states
  warm-up then polynomial decay, which this toolkit reads as decay to 0 over the run.
- CFG dropout (10%) replaces the student's and the teacher's context embeddings with the empty prompt's; the
  pooled `text_embeds` stay conditional for both. The paper describes empty prompts for both, all inputs.
- Offset noise: the SDXL script adds noise_offset x one Gaussian per image and channel, with
  `--noise_offset` defaulting to 0.5 (utils/universal.py); the SD1.5 script adds none. The paper states none.
- SDXL images are bucketed by aspect ratio (448x896 .. 896x448, 9 buckets), resized to cover the bucket and
  randomly cropped, with the true original size, crop corner and bucket size in the time ids. The paper
  states no training resolution scheme; its reading here is a centre crop at the base's resolution.
"""

from __future__ import annotations

from typing import Any

from bench.core.errors import unknown_name

OFFICIAL_DECAY_STEPS = 2_232_142  # total_steps hard-coded in the public train scripts' setup()
OFFICIAL_LR_END = 5e-8  # min_learning_rate default of the public scripts' add_module_args
SDXL_BUCKETS = ((448, 896), (448, 832), (512, 768), (576, 704), (640, 640), (704, 576), (768, 512), (832, 448),
                (896, 448))  # (width, height) of the public SDXL dataset's aspect-ratio buckets

# Per recipe: a value, or a dict by base family, or "steps" (the run's own length).
RECIPES: dict[str, dict[str, Any]] = {
    "official": {
        "weight_decay": 0.0,
        "lr_decay_steps": OFFICIAL_DECAY_STEPS,
        "lr_end": OFFICIAL_LR_END,
        "cfg_dropout_pooled": False,
        "noise_offset": {"sdxl": 0.5, "sd15": 0.0},
        "aspect_buckets": {"sdxl": True, "sd15": False},
    },
    "paper": {
        "weight_decay": 0.1,
        "lr_decay_steps": "steps",
        "lr_end": 0.0,
        "cfg_dropout_pooled": True,
        "noise_offset": 0.0,
        "aspect_buckets": False,
    },
}
RECIPE_FIELDS = tuple(RECIPES["official"])

# Why each setting differs between the recipes; docs/training.md's table is built from the same facts.
WHY = {
    "weight_decay": "the public optimizer's parameter group has no weight_decay key, so 0 applies; the paper "
                    "states 0.1",
    "lr_decay_steps": "the public scripts hard-code 2,232,142 total steps; the paper describes decay over the run",
    "lr_end": "the public scripts' min_learning_rate is 5e-8; decay to 0 in the paper's reading",
    "cfg_dropout_pooled": "the public SDXL script drops only the context embeddings; the paper empties the prompt",
    "noise_offset": "the public SDXL script uses offset noise, the SD1.5 script none; the paper states none",
    "aspect_buckets": "the public SDXL data loader buckets by aspect ratio; the paper states no scheme",
}


def recipe_values(recipe: str, family: str, steps: int) -> dict[str, Any]:
    """The TrainConfig values of `recipe` for a base of `family` and a run of `steps` steps."""
    if recipe not in RECIPES:
        raise unknown_name("recipe", recipe, RECIPES)
    out = {}
    for key, value in RECIPES[recipe].items():
        if isinstance(value, dict):
            value = value.get(family, value.get("sd15"))
        out[key] = steps if value == "steps" else value
    return out


# Where the code follows the public implementation or had to choose; recorded in every config.json.
CHOICES = {
    "pooled": "mean of the MLP output over all tokens, padding included (public code)",
    "cfg_dropout_teacher": "empty English prompt through the teacher encoders (not zeros)",
    "time_ids": "SDXL with aspect buckets: (original h, w, crop top, left, bucket h, w) per image, as diffusers "
                "orders them (the public code passes sizes as (w, h)); otherwise (R, R, 0, 0, R, R), a centre crop",
    "bucket_crop": "the crop corner is drawn once per row from (seed, row id), so cached latents are reused",
    "latents": "sampled from the VAE posterior with the step's generator, times scaling_factor",
    "feature_loss": "MSE at each down block's hidden-state output, the mid block and each up block",
    "val_loss": "held-out parallel rows, noise-prediction MSE only, fixed noise/timesteps, no dropout",
}
