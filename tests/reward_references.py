"""The installed image-reward and hpsv2 packages' own code, loaded as references for the ports and judges.

Neither package imports as a whole here (image-reward imports OpenAI's `clip` at start-up and its BERT file
names transformers 4 helpers; hpsv2 imports `clint`), so their model files are loaded by path as packages of
their own, skipping the package __init__. For image-reward's BERT, the transformers 4 helpers it names are
supplied (the functions transformers 4 had, used only to build and call the module); its forward code runs
unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types


def _package(alias: str, folder: str) -> None:
    """Register `folder` as package `alias` without running its __init__.py."""
    if alias not in sys.modules:
        module = types.ModuleType(alias)
        module.__path__ = [folder]
        sys.modules[alias] = module


def hpsv2_open_clip(name: str):
    """A module of hpsv2's vendored open_clip (hpsv2/src/open_clip/<name>.py)."""
    root = importlib.util.find_spec("hpsv2").submodule_search_locations[0]
    _package("hpsv2_ref", f"{root}/src/open_clip")
    return importlib.import_module(f"hpsv2_ref.{name}")


def _transformers4_helpers() -> None:
    import torch
    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils

    for name in ("apply_chunking_to_forward", "prune_linear_layer"):
        if not hasattr(modeling_utils, name):
            setattr(modeling_utils, name, getattr(pytorch_utils, name))
    if not hasattr(modeling_utils, "find_pruneable_heads_and_indices"):
        modeling_utils.find_pruneable_heads_and_indices = lambda *a, **k: None  # head pruning: never called

    def invert_attention_mask(self, mask):  # transformers 4's ModuleUtilsMixin.invert_attention_mask
        ext = mask[:, None, :, :] if mask.dim() == 3 else mask[:, None, None, :]
        ext = ext.to(dtype=self.dtype)
        return (1.0 - ext) * torch.finfo(self.dtype).min

    return invert_attention_mask


def imagereward_modules():
    """(vit, med, ImageReward module) of the image-reward package."""
    invert = _transformers4_helpers()
    root = importlib.util.find_spec("ImageReward").submodule_search_locations[0]
    _package("imagereward_ref", root)
    _package("imagereward_ref.models", f"{root}/models")  # its __init__ imports OpenAI's clip
    vit = importlib.import_module("imagereward_ref.models.BLIP.vit")
    med = importlib.import_module("imagereward_ref.models.BLIP.med")
    med.BertPreTrainedModel.init_weights = lambda self: None  # weights are loaded from the port below
    med.BertPreTrainedModel.invert_attention_mask = invert
    med.BertPreTrainedModel.get_head_mask = lambda self, head_mask, n: [None] * n
    reward = importlib.import_module("imagereward_ref.ImageReward")
    return vit, med, reward


def imagereward_reference(folder):
    """The package's ImageReward object (its __init__, MLP, mean/std, preprocess and score_gard) at the zoo
    model's size, with the zoo model's weights."""
    import json

    import torch
    from safetensors.torch import load_file

    vit, med, reward = imagereward_modules()
    vision = json.loads((folder / "config.json").read_text())["vision"]
    config = med.BertConfig.from_json_file(str(folder / "med_config.json"))
    config.encoder_width = vision["width"]
    blip = torch.nn.Module()
    blip.visual_encoder = vit.VisionTransformer(img_size=vision["image_size"], patch_size=vision["patch_size"],
                                                embed_dim=vision["width"], depth=vision["layers"],
                                                num_heads=vision["heads"])
    blip.text_encoder = med.BertModel(config=config, add_pooling_layer=False)
    blip.vision_proj = torch.nn.Linear(vision["width"], 256)
    blip.text_proj = torch.nn.Linear(config.hidden_size, 256)
    reward.BLIP_Pretrain = lambda **kwargs: blip  # the package builds ViT-L + BERT-base; this is the zoo's size
    model = reward.ImageReward(med_config=None, device="cpu")  # its own __init__: preprocess, mean and std
    model.mlp = reward.MLP(config.hidden_size)  # the package's head class at the zoo's width (it fixes 768)
    state = load_file(str(folder / "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and not [k for k in missing if not k.endswith("position_ids")], (missing, unexpected)
    return model.eval(), reward


def imagereward_transform(size: int):
    """image-reward's own preprocessing (its module-level _transform(n_px)) at `size` pixels."""
    _, _, reward = imagereward_modules()
    return getattr(reward, "_transform")(size)  # noqa: B009  (the package names it privately)
