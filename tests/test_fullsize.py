"""Full-size architectures from their published configs, on the meta device: counts, shapes, key names."""

from __future__ import annotations

import functools

import pytest
import torch

from bench.models import fullsize
from bench.models.fullsize import COMPONENTS, build_student_tower, parameter_count

build = functools.cache(fullsize.build)  # meta models cost no memory; building SDXL's UNet takes seconds


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_parameter_count_matches_the_published_count(name):
    comp = COMPONENTS[name]
    model = build(name)
    count = parameter_count(model)
    if name == "mt5-xl":  # mT5 keeps a separate output head (vocab x d_model) besides the shared embedding
        count += model.config.vocab_size * model.config.d_model
    assert abs(count - comp.published) <= comp.tolerance, (name, count, comp.published, comp.source)


@pytest.mark.parametrize(("student", "length", "width", "count"), [
    ("chinese-clip", 52, 1024, 324_472_832), ("altclip-m18", 77, 768, 559_630_080),
    ("mt5-xl", 77, 2048, 1_669_958_656)])
def test_student_towers_give_the_widths_the_registered_encoders_declare(student, length, width, count):
    from bench.models.encoders import get_student_spec

    tower = build_student_tower(student)
    assert parameter_count(tower) == count  # the part a PEA student keeps in memory
    ids = torch.zeros(2, length, dtype=torch.long, device="meta")
    states = tower(input_ids=ids).last_hidden_state
    assert tuple(states.shape) == (2, length, width)
    assert get_student_spec(student).width == width == fullsize.STUDENT_TOWERS[student][1]


def test_sdxl_teacher_adapter_and_feature_hooks_see_the_published_shapes():
    from bench.models.adapter import PEAAdapter
    from bench.models.bases import get_base
    from bench.models.encoders import default_hidden_dim, get_student_spec
    from bench.training.distill import FeatureTap, feature_modules

    base = get_base("sdxl")
    ids = torch.zeros(2, 77, dtype=torch.long, device="meta")
    te1, te2 = build("sdxl/text_encoder"), build("sdxl/text_encoder_2")
    out1, out2 = te1(ids, output_hidden_states=True), te2(ids, output_hidden_states=True)
    # The teacher: both encoders' penultimate states joined; pooled from text_encoder_2.
    context = torch.cat([out1.hidden_states[-2], out2.hidden_states[-2]], dim=-1)
    assert tuple(context.shape) == (2, 77, base.context_dim) and tuple(out2.text_embeds.shape) == (2, base.pooled_dim)

    spec = get_student_spec("chinese-clip")
    with torch.device("meta"):
        adapter = PEAAdapter(spec.width, default_hidden_dim(spec, "sdxl", "real"), base.pooled_dim, base.context_dim)
        student_ctx, student_pooled = adapter(torch.zeros(2, 52, spec.width))
    assert tuple(student_ctx.shape) == (2, 52, 2048) and tuple(student_pooled.shape) == (2, 1280)

    unet = build("sdxl/unet")
    assert unet.config.cross_attention_dim == base.context_dim
    # Added conditioning: pooled text (1280) + six time ids x 256 = the published 2816.
    assert unet.add_embedding.linear_1.in_features == base.pooled_dim + 6 * unet.config.addition_time_embed_dim
    tap = FeatureTap(feature_modules(unet))
    with torch.device("meta"):
        latents, t = torch.zeros(2, 4, 16, 16), torch.tensor([10, 500])
        added = {"text_embeds": student_pooled, "time_ids": torch.zeros(2, 6)}
    out, feats = tap.run(unet, latents, t, student_ctx, added_cond_kwargs=added)
    assert tuple(out.sample.shape) == (2, 4, 16, 16)
    assert [tuple(f.shape[1:]) for f in feats] == [(320, 8, 8), (640, 4, 4), (1280, 4, 4), (1280, 4, 4),
                                                   (1280, 8, 8), (640, 16, 16), (320, 16, 16)]


def test_sd15_adapter_output_is_the_unets_context():
    from bench.models.adapter import PEAAdapter
    from bench.models.bases import get_base
    from bench.models.encoders import default_hidden_dim, get_student_spec

    base, spec = get_base("sd15"), get_student_spec("chinese-clip")
    unet = build("sd15/unet")
    assert unet.config.cross_attention_dim == base.context_dim == 768
    with torch.device("meta"):
        adapter = PEAAdapter(spec.width, default_hidden_dim(spec, "sd15", "real"), base.context_dim)
    assert parameter_count(adapter) == 7_866_368  # the paper's SD1.5 adapter
    assert len(unet.down_blocks) + 1 + len(unet.up_blocks) == 9  # 4 + 1 + 4 feature hooks


# Key names and shapes as they are in the released checkpoint files (a few per file, the ones code touches).
KEYS = {
    "sdxl/unet": {"down_blocks.2.attentions.1.transformer_blocks.9.attn2.to_k.weight": (1280, 2048),
                  "add_embedding.linear_1.weight": (1280, 2816), "conv_in.weight": (320, 4, 3, 3),
                  "mid_block.attentions.0.transformer_blocks.9.ff.net.0.proj.weight": (10240, 1280)},
    "sdxl/text_encoder_2": {"text_projection.weight": (1280, 1280),
                            "text_model.encoder.layers.31.mlp.fc2.weight": (1280, 5120),
                            "text_model.embeddings.token_embedding.weight": (49408, 1280)},
    "sdxl/text_encoder": {"text_model.final_layer_norm.weight": (768,),
                          "text_model.embeddings.position_embedding.weight": (77, 768)},
    "sdxl/vae": {"encoder.mid_block.attentions.0.to_q.weight": (512, 512), "quant_conv.weight": (8, 8, 1, 1),
                 "decoder.up_blocks.3.resnets.2.conv2.weight": (128, 128, 3, 3)},
    "sd15/unet": {"down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight": (320, 768),
                  "down_blocks.0.attentions.0.proj_in.weight": (320, 320, 1, 1)},
    "chinese-clip": {"text_model.embeddings.word_embeddings.weight": (21128, 1024),
                     "text_model.encoder.layer.23.output.dense.weight": (1024, 4096),
                     "text_projection.weight": (1024, 1024), "vision_model.embeddings.patch_embedding.weight":
                     (1280, 3, 14, 14)},
    "altclip-m18": {"text_model.roberta.embeddings.word_embeddings.weight": (250002, 1024),
                    "text_model.transformation.weight": (768, 1024), "text_projection.weight": (768, 768)},
    "mt5-xl": {"shared.weight": (250112, 2048), "encoder.block.23.layer.1.DenseReluDense.wi_0.weight": (5120, 2048),
               "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight": (32, 32)},
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_state_dict_keys_are_those_of_the_released_files(name):
    state = build(name).state_dict()
    for key, shape in KEYS[name].items():
        # transformers 5 keeps CLIP's text tower at the top of CLIPTextModel; its loader maps the file's prefix.
        here = key if key in state else key.removeprefix("text_model.")
        assert here in state, (name, key)
        assert tuple(state[here].shape) == shape, (name, key)
    assert COMPONENTS[name].weights.endswith((".safetensors", ".bin"))


def test_clip_text_files_with_the_released_prefix_load_without_missing_keys(tmp_path):
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(**{**fullsize.load_config("sdxl/text_encoder"), "hidden_size": 8, "intermediate_size": 16,
                               "num_attention_heads": 2, "num_hidden_layers": 2})
    model = CLIPTextModel(config)
    # The released file's names: every key under text_model., as in SD's text_encoder/model.safetensors.
    state = {f"text_model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    config.save_pretrained(tmp_path)
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    loaded, info = CLIPTextModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    torch.testing.assert_close(loaded.state_dict()["final_layer_norm.weight"],
                               state["text_model.final_layer_norm.weight"])


def test_sdxl_folder_layout_is_what_from_pretrained_reads():
    files = {COMPONENTS[n].weights for n in COMPONENTS if n.startswith("sdxl/")}
    assert files == {"unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                     "text_encoder/model.safetensors", "text_encoder_2/model.safetensors"}
    assert {COMPONENTS[n].repo for n in COMPONENTS if n.startswith("sdxl/")} == {
        __import__("bench.models.bases", fromlist=["get_base"]).get_base("sdxl").model_id}


def test_clip_tokenizer_from_open_clips_bpe_gives_clips_ids():
    from bench.models.real_tokenizers import clip_tokenizer

    tok = clip_tokenizer()
    assert len(tok) == 49408 == build("sdxl/text_encoder").config.vocab_size
    ids = tok("a photo of a cat", padding="max_length", max_length=77).input_ids
    assert ids[:7] == [49406, 320, 1125, 539, 320, 2368, 49407]  # CLIP's published ids
    assert len(ids) == 77 and ids[7:] == [49407] * 70  # SD pads with <|endoftext|>
    assert clip_tokenizer(pad_token="!")("cat", padding="max_length", max_length=5).input_ids == [
        49406, 2368, 49407, 0, 0]  # SDXL's tokenizer_2 pads with "!" (id 0)


def test_chinese_clip_tokenizer_from_the_cn_clip_vocabulary():
    from bench.models.real_tokenizers import CN_CLIP_CONTEXT, chinese_clip_tokenizer

    tok = chinese_clip_tokenizer()
    assert len(tok) == 21128 == fullsize.load_config("chinese-clip")["text_config"]["vocab_size"]
    batch = tok(["一只红色的猫在草地上", ""], padding="max_length", max_length=CN_CLIP_CONTEXT, truncation=True)
    ids = batch.input_ids[0]
    assert len(ids) == 52 and ids[0] == tok.cls_token_id == 101 and ids[11] == tok.sep_token_id == 102
    assert 100 not in ids[1:11] and ids[12:] == [0] * 40  # every character known; padding is id 0
    assert batch.input_ids[1][:3] == [101, 102, 0]


# The reward judges: key names and shapes of the released files (PickScore_v1's model.safetensors, HPS v2.1's
# state_dict, ImageReward.pt), and the architecture each judge's loader builds is the one counted above.
REWARD_KEYS = {
    "pickscore": {"vision_model.encoder.layers.31.mlp.fc1.weight": (5120, 1280), "visual_projection.weight": (1024, 1280),
                  "text_model.embeddings.token_embedding.weight": (49408, 1024), "logit_scale": ()},
    "hpsv2": {"visual.transformer.resblocks.31.attn.in_proj_weight": (3840, 1280), "visual.proj": (1280, 1024),
              "text_projection": (1024, 1024), "token_embedding.weight": (49408, 1024), "positional_embedding": (77, 1024)},
    "imagereward": {"blip.visual_encoder.blocks.23.attn.qkv.weight": (3072, 1024),
                    "blip.visual_encoder.pos_embed": (1, 197, 1024),
                    "blip.text_encoder.encoder.layer.11.crossattention.self.key.weight": (768, 1024),
                    "blip.text_encoder.embeddings.word_embeddings.weight": (30524, 768),
                    "mlp.layers.0.weight": (1024, 768), "mlp.layers.7.weight": (1, 16)},
}


@pytest.mark.parametrize("name", sorted(REWARD_KEYS))
def test_reward_judges_state_dict_keys_are_those_of_the_released_files(name):
    state = build(name).state_dict()
    for key, shape in REWARD_KEYS[name].items():
        assert key in state and tuple(state[key].shape) == shape, (name, key)


def test_reward_judges_build_the_architectures_counted_here():
    import open_clip

    from bench.instruments.rewards.hps import ARCHITECTURE, model_config
    from bench.models.blip import TextConfig, VisionConfig

    assert model_config(None) == open_clip.get_model_config(ARCHITECTURE) == fullsize.load_config("hpsv2")
    config = fullsize.load_config("imagereward")
    assert VisionConfig() == VisionConfig(**config["vision"])  # ImageReward's ViT-L/16 when a folder names none
    assert TextConfig.from_dict(config["text"], encoder_width=1024) == TextConfig()
    model = build("pickscore")
    assert model.config.text_config.max_position_embeddings == 77 and model.config.vision_config.patch_size == 14


def test_qwen25_vl_judge_sees_the_published_image_token_counts():
    """The VQA judge's full-size processor: 14 px patches merged 2 x 2, so SDXL's 1024 px images are 1369 tokens."""
    from PIL import Image
    from transformers import Qwen2VLImageProcessor

    processor = Qwen2VLImageProcessor(**fullsize.load_config("qwen2.5-vl-7b/preprocessor"))
    model = build("qwen2.5-vl-7b")
    for side, tokens in ((1024, 37 * 37), (512, 18 * 18)):
        grid = processor(images=[Image.new("RGB", (side, side))], return_tensors="pt")["image_grid_thw"][0]
        assert int(grid.prod()) // processor.merge_size ** 2 == tokens
    assert model.config.vision_config.out_hidden_size == model.config.text_config.hidden_size == 3584
    assert model.lm_head.out_features == 152064 and not model.config.tie_word_embeddings


def test_gpu_bench_full_size_vqa_judge_wires_the_offline_tokenizer_to_the_published_model():
    from PIL import Image

    from bench.perf.vqa_throughput import full_size_judge

    judge = full_size_judge("meta", torch.bfloat16)
    assert parameter_count(judge.model) == COMPONENTS["qwen2.5-vl-7b"].published
    batch = judge.processor(text=[judge.prompt("a question")], images=[Image.new("RGB", (1024, 1024))],
                            return_tensors="pt")
    assert int((batch["input_ids"] == judge.model.config.image_token_id).sum()) == 37 * 37
    assert int(batch["input_ids"].max()) < judge.model.config.text_config.vocab_size
    assert judge.yes_id == judge.processor.tokenizer.convert_tokens_to_ids("Yes")
