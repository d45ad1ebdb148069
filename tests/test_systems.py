"""The system registry: every tiny system builds and generates; native-prompt pipelines, LoRA and ControlNet."""

from __future__ import annotations

import json

import numpy as np
import pytest
from generate_helpers import write_prompt_set, write_untrained_checkpoint

from bench.generation import GenerateConfig, generate
from bench.models.loading import load_pipeline, load_system
from bench.models.pipelines import SYSTEMS

# The toy world's systems (base "world") are tested with the world (tests/test_world*.py).
TINY = [name for name, spec in SYSTEMS.items() if spec.tier == "tiny" and spec.base != "world"]
LANGS = ("zh", "ko", "ja", "ru", "it", "en")
CALL = dict(num_inference_steps=2, height=16, width=16, output_type="np")




@pytest.fixture
def prompts_dir(tmp_path, monkeypatch):
    root = tmp_path / "prompts"
    write_prompt_set(root, langs=LANGS)
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(root))
    return root


def seeded(seed: int = 7):
    import torch

    return torch.Generator("cpu").manual_seed(seed)


def test_registry_has_every_kind_of_system_with_a_tiny_variant():
    names = set(SYSTEMS.names())
    for lang in ("zh", "ko", "ja", "ru", "it"):
        assert {f"pea-{lang}", f"tiny-pea-{lang}"} <= names
    for base in ("sdxl", "sd15", "tiny-sdxl", "tiny-sd15"):
        assert {f"translate-{base}", f"asis-{base}", f"{base}-en"} <= names
    assert {"altdiffusion-m18", "taiyi-zh", "tiny-altdiffusion-m18", "tiny-taiyi-zh"} <= names


@pytest.mark.parametrize("name", TINY)
def test_every_tiny_system_builds_and_generates(name, bench_home, prompts_dir):
    spec = SYSTEMS.get(name)
    lang = spec.languages[0] if spec.languages else "zh"
    if spec.kind == "pea":
        write_untrained_checkpoint(spec.checkpoint, lang=lang, base=spec.base)
    run = generate(GenerateConfig(model=name, prompts="mini", lang=lang, samples=1, steps=2, size=16, limit=1),
                   progress=False)
    row = json.loads((run / "metadata.jsonl").read_text(encoding="utf-8"))
    from PIL import Image

    image = np.asarray(Image.open(run / row["file"]))
    assert image.shape == (16, 16, 3) and image.std() > 0
    expected = row["text_en"] if spec.prompt_field == "text_en" else row["text"]
    if spec.kind == "translate":
        assert row["model_input"] != row["text"]  # the tiny translator's (meaningless) English
    else:
        assert row["model_input"] == expected
    assert json.loads((run / "spec.json").read_text())["tier"] == "tiny"


def test_pea_pipeline_takes_native_prompts_like_precomputed_embeddings(bench_home):
    write_untrained_checkpoint("tiny-pea-zh")
    system = load_system("tiny-pea-zh", device="cpu")
    pipe = load_pipeline("tiny-pea-zh", device="cpu")
    assert type(pipe).__name__ == "NativeStableDiffusionXLPipeline" and pipe.text_encoder is None
    conditioner = system.pipe.native_route.conditioner
    kwargs = conditioner.pipeline_kwargs(["一只猫"])
    reference = system.pipe(**kwargs, generator=seeded(), **CALL).images
    native = pipe(prompt="一只猫", generator=seeded(), **CALL).images
    np.testing.assert_allclose(native, reference, atol=1e-5)
    other = pipe(prompt="长城上的日出", generator=seeded(), **CALL).images
    assert np.abs(other - native).max() > 1e-3  # the prompt reaches the UNet


def test_translate_pipeline_translates_then_runs_the_base(bench_home, monkeypatch):
    system = load_system("translate-tiny-sd15", lang="zh", device="cpu")
    english = system.translator.translate(["一只猫"])
    native = system.native_pipeline()(prompt=["一只猫"], generator=seeded(), **CALL).images
    base = load_system("asis-tiny-sd15", lang="zh", device="cpu").pipe
    reference = base(prompt=english, generator=seeded(), **CALL).images
    np.testing.assert_allclose(native, reference, atol=1e-5)

    # Cached: a new translator object answers from disk without running the model.
    from bench.models import translations

    def refuse(*args, **kwargs):
        raise AssertionError("translated again instead of reading the cache")

    again = translations.CachedTranslator("tiny", "zh")
    monkeypatch.setattr(translations, "_translator", refuse)
    assert again.translate(["一只猫"]) == english


def _tiny_lora(unet, folder, pipeline_cls):
    """Random (non-zero) LoRA weights on the UNet's attention projections, saved the diffusers way."""
    import torch
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(3)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    for name, param in unet.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.5)  # gaussian init leaves B at zero: make the LoRA do something
    pipeline_cls.save_lora_weights(folder, unet_lora_layers=get_peft_model_state_dict(unet))
    unet.delete_adapters("default")


@pytest.mark.parametrize("name", ["tiny-pea-zh", "asis-tiny-sd15"])
def test_lora_loads_on_a_native_pipeline(name, bench_home, tmp_path):
    if name.startswith("tiny-pea"):
        write_untrained_checkpoint(name)
    pipe = load_pipeline(name, lang="zh", device="cpu")
    before = pipe(prompt="一只猫", generator=seeded(), **CALL).images
    lora = tmp_path / "lora"
    _tiny_lora(pipe.unet, lora, type(pipe))
    pipe.load_lora_weights(lora)
    after = pipe(prompt="一只猫", generator=seeded(), **CALL).images
    assert np.abs(after - before).max() > 1e-3
    pipe.set_adapters([pipe.get_active_adapters()[0]], adapter_weights=[0.0])
    unloaded = pipe(prompt="一只猫", generator=seeded(), **CALL).images
    np.testing.assert_allclose(unloaded, before, atol=1e-5)


@pytest.mark.parametrize("name", ["tiny-pea-zh", "asis-tiny-sd15"])
def test_controlnet_keeps_native_prompts(name, bench_home):
    """A freshly made ControlNet has zero output convolutions, so it must not change the image at all."""
    import torch
    from diffusers import ControlNetModel

    from bench.models.native import with_controlnet

    if name.startswith("tiny-pea"):
        write_untrained_checkpoint(name)
    pipe = load_pipeline(name, lang="zh", device="cpu")
    plain = pipe(prompt="一只猫", generator=seeded(), **CALL).images
    torch.manual_seed(0)
    controlled = with_controlnet(pipe, ControlNetModel.from_unet(pipe.unet, conditioning_embedding_out_channels=(16, 32)))
    assert "ControlNet" in type(controlled).__name__
    assert type(controlled).__name__.startswith("Native") == name.startswith("tiny-pea")
    image = torch.zeros(1, 3, 16, 16)
    out = controlled(prompt="一只猫", image=image, generator=seeded(), **CALL).images
    np.testing.assert_allclose(out, plain, atol=1e-5)


def test_any_training_checkpoint_is_a_system(bench_home, prompts_dir):
    write_untrained_checkpoint("my-run", lang="ko", base="tiny-sd15")
    run = generate(GenerateConfig(model="pea:my-run", prompts="mini", lang="ko", samples=1, steps=1, size=16, limit=1),
                   progress=False)
    assert run.name.startswith("pea-my-run-mini-ko-")
    from bench.models.pipelines import checkpoint_systems

    assert [s.name for s in checkpoint_systems()] == ["pea:my-run"]
    spec = json.loads((run / "spec.json").read_text())
    assert spec["model"]["adapter"]["checkpoint"] == "my-run" and spec["model"]["adapter"]["config"]["lang"] == "ko"
    from bench.core.errors import BenchError

    with pytest.raises(BenchError, match="does not take 'zh' prompts"):
        generate(GenerateConfig(model="pea:my-run", prompts="mini", lang="zh"), progress=False)
    with pytest.raises(BenchError, match="no checkpoint 'nope'"):
        generate(GenerateConfig(model="pea:nope", prompts="mini", lang="zh"), progress=False)


def test_hub_ids_load_from_the_local_hf_cache(bench_home, tmp_path, monkeypatch, prompts_dir):
    """A real-tier system whose weights sit in the HF cache loads offline, and its spec names the snapshot."""
    import shutil

    from huggingface_hub import constants

    from bench.models import zoo

    repo, commit = "stable-diffusion-v1-5/stable-diffusion-v1-5", "a" * 40
    entry = tmp_path / "hub" / f"models--{repo.replace('/', '--')}"
    shutil.copytree(zoo.ensure("tiny-sd15"), entry / "snapshots" / commit)  # tiny weights under the real id
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    assert not SYSTEMS.get("sd15-en").available_offline()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert SYSTEMS.get("sd15-en").available_offline()
    run = generate(GenerateConfig(model="sd15-en", prompts="mini", lang="zh", samples=1, steps=1, size=16, limit=1),
                   progress=False)
    spec = json.loads((run / "spec.json").read_text())
    assert spec["model"]["base"] == {"id": repo, "revision": commit} and spec["tier"] == "real"
