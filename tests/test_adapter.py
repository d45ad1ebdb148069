"""The PEA adapter, student and teacher encoders, and the feature hooks on real UNet layouts."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

from bench.core.errors import BenchError
from bench.models.adapter import PEAAdapter, load_released_weights, parameter_count


def test_parameter_counts_match_the_paper():
    assert parameter_count(PEAAdapter(in_dim=1024, hidden_dim=1024, out_dim=1280, context_dim=2048)) == 6_033_408
    assert parameter_count(PEAAdapter(1024, 2048, 768)) == 7_866_368
    assert parameter_count(PEAAdapter(1024, 2048, 1280, 2048)) == 11_538_432


def test_sdxl_variant_pools_the_mlp_output_and_projects_its_gelu():
    torch.manual_seed(0)
    adapter = PEAAdapter(8, 16, 12, context_dim=20)
    states = torch.randn(3, 5, 8)
    context, pooled = adapter(states)
    x = adapter.mlp(adapter.norm(states))
    assert context.shape == (3, 5, 20) and pooled.shape == (3, 12)
    torch.testing.assert_close(pooled, x.mean(dim=1))
    torch.testing.assert_close(context, adapter.proj(torch.nn.functional.gelu(x)))
    assert all(layer.bias is None for layer in adapter.mlp if isinstance(layer, torch.nn.Linear))

    sd15 = PEAAdapter(8, 16, 12)
    context, pooled = sd15(states)
    assert context.shape == (3, 5, 12) and pooled is None


def test_wrong_state_width_is_a_clear_error():
    with pytest.raises(BenchError, match="7-d but the adapter expects 8-d"):
        PEAAdapter(8, 16, 12)(torch.randn(1, 2, 7))


def _public_state(in_dim=8, hidden=16, out=12, ctx=20, seed=1):
    """A state dict as the public code's torch.save(self.proj.state_dict()) writes it, in fp16."""
    gen = torch.Generator().manual_seed(seed)
    shapes = {"layernorm.weight": (in_dim,), "layernorm.bias": (in_dim,), "projector.0.weight": (hidden, in_dim),
              "projector.2.weight": (hidden, hidden), "projector.4.weight": (out, hidden)}
    if ctx is not None:
        shapes.update({"fc.weight": (ctx, out), "fc.bias": (ctx,)})
    return OrderedDict((k, torch.randn(shape, generator=gen).half()) for k, shape in shapes.items())


def _reference_forward(s, x):
    """The public MLP's forward written straight from the file's tensors: (pooled, context)."""
    s = {k: v.float() for k, v in s.items()}
    h = torch.nn.functional.layer_norm(x, (x.shape[-1],), s["layernorm.weight"], s["layernorm.bias"])
    h = torch.nn.functional.gelu(h @ s["projector.0.weight"].T)
    h = torch.nn.functional.gelu(h @ s["projector.2.weight"].T)
    h = h @ s["projector.4.weight"].T
    if "fc.weight" not in s:
        return None, h
    return h.mean(1), torch.nn.functional.gelu(h) @ s["fc.weight"].T + s["fc.bias"]


def _save(state, path):
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize("order", ["module", "sorted", "reversed"])
@pytest.mark.parametrize("suffix", [".bin", ".safetensors"])
def test_public_checkpoint_loads_by_name_in_any_key_order_and_format(tmp_path, order, suffix):
    state = _public_state()
    keys = {"module": list(state), "sorted": sorted(state), "reversed": list(reversed(state))}[order]
    path = _save(OrderedDict((k, state[k]) for k in keys), tmp_path / f"pytorch_model{suffix}")
    adapter = load_released_weights(path)
    assert adapter.config == {"in_dim": 8, "hidden_dim": 16, "out_dim": 12, "context_dim": 20}
    x = torch.randn(2, 4, 8)
    ref_pooled, ref_context = _reference_forward(state, x)
    context, pooled = adapter(x)
    torch.testing.assert_close(context, ref_context, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pooled, ref_pooled, rtol=1e-5, atol=1e-5)
    # An adapter built beforehand takes the same file through its own method.
    again = PEAAdapter(8, 16, 12, 20).load_weights(path)
    torch.testing.assert_close(again(x)[0], ref_context, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("hidden", "params"), [(768, 4_984_832), (1024, 6_033_408), (2048, 11_538_432)])
def test_full_size_released_layouts_load_with_the_widths_of_the_file(tmp_path, hidden, params):
    # Chinese-CLIP (1024-d) into SDXL (pooled 1280, context 2048): the released 9.98 MB file is hidden 768.
    state = _public_state(1024, hidden, 1280, 2048)
    adapter = load_released_weights(_save(state, tmp_path / "pytorch_model.bin"))
    assert adapter.config == {"in_dim": 1024, "hidden_dim": hidden, "out_dim": 1280, "context_dim": 2048}
    assert parameter_count(adapter) == params
    assert (tmp_path / "pytorch_model.bin").stat().st_size == pytest.approx(2 * params, rel=0.002)
    x = torch.randn(1, 3, 1024)
    torch.testing.assert_close(adapter(x)[1], _reference_forward(state, x)[0], rtol=1e-4, atol=1e-4)


def test_sd15_layout_own_names_and_public_export_round_trip(tmp_path):
    from bench.models.adapter import public_state_dict

    state = _public_state(8, 16, 12, ctx=None)
    adapter = load_released_weights(_save(state, tmp_path / "sd15.bin"))
    assert adapter.config["context_dim"] is None
    x = torch.randn(2, 4, 8)
    torch.testing.assert_close(adapter(x)[0], _reference_forward(state, x)[1], rtol=1e-5, atol=1e-5)
    # Our own names (a bench train checkpoint's adapter.safetensors) and the public export both load.
    sdxl = PEAAdapter(8, 16, 12, 20)
    own = _save(sdxl.state_dict(), tmp_path / "adapter.safetensors")
    torch.testing.assert_close(load_released_weights(own)(x)[0], sdxl(x)[0])
    public = _save(public_state_dict(sdxl), tmp_path / "public.bin")
    assert set(torch.load(public, weights_only=True)) == set(_public_state())
    torch.testing.assert_close(load_released_weights(public)(x)[0], sdxl(x)[0])
    # A whole-module save (`proj.` prefix) and a DataParallel one (`module.`) are recognised too.
    prefixed = _save({f"module.proj.{k}": v for k, v in state.items()}, tmp_path / "wrapped.bin")
    assert load_released_weights(prefixed).config == adapter.config


def test_a_file_that_fits_no_adapter_is_a_one_line_error(tmp_path):
    state = _public_state()
    state["projector.0.bias"] = torch.zeros(16)  # the public code's projector Linears have no bias
    with pytest.raises(BenchError) as err:
        load_released_weights(_save(state, tmp_path / "biased.bin"))
    message = str(err.value)
    assert "\n" not in message and "projector.0.bias (16,)" in message
    assert "expected the keys layernorm.weight (in,)" in message and "fc.weight (context, out)" in message

    unet_like = {"conv_in.weight": torch.zeros(4, 4, 3, 3), "conv_in.bias": torch.zeros(4)}
    with pytest.raises(BenchError, match=r"not a PEA adapter: .*found .*conv_in.weight \(4, 4, 3, 3\)"):
        load_released_weights(_save(unet_like, tmp_path / "unet.safetensors"))

    broken = _public_state()
    broken["projector.2.weight"] = torch.zeros(16, 15)
    with pytest.raises(BenchError, match=r"projector.2.weight \(16, 15\) \(expected \(16, 16\)\)"):
        load_released_weights(_save(broken, tmp_path / "broken.bin"))

    path = _save(_public_state(), tmp_path / "ok.bin")
    with pytest.raises(BenchError, match="holds an adapter in 8, hidden 16, out 12, context 20 but this one is "
                                         "in 8, hidden 24"):
        PEAAdapter(8, 24, 12, 20).load_weights(path)
    (tmp_path / "junk.bin").write_bytes(b"not a pickle")
    with pytest.raises(BenchError, match="cannot read adapter weights"):
        load_released_weights(tmp_path / "junk.bin")


SD15_UNET = dict(
    sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, cross_attention_dim=768,
    attention_head_dim=8, down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
)
SDXL_UNET = dict(
    sample_size=128, block_out_channels=(320, 640, 1280), layers_per_block=2, cross_attention_dim=2048,
    attention_head_dim=(5, 10, 20), transformer_layers_per_block=(1, 2, 10), use_linear_projection=True,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
)


@pytest.mark.parametrize(("config", "expected"), [(SD15_UNET, (4, 1, 4)), (SDXL_UNET, (3, 1, 3))])
def test_feature_hooks_follow_the_real_unet_layout(config, expected):
    from diffusers import UNet2DConditionModel

    from bench.training.distill import FeatureTap, feature_modules

    with torch.device("meta"):  # the real architectures, no weights allocated, nothing downloaded
        unet = UNet2DConditionModel(**config)
    modules = feature_modules(unet)
    assert (len(unet.down_blocks), 1, len(unet.up_blocks)) == expected
    assert len(modules) == sum(expected)
    tap = FeatureTap(modules)
    assert len(tap.handles) == sum(expected)
    tap.remove()


def test_feature_tap_records_every_block_of_a_tiny_unet():
    from diffusers import UNet2DConditionModel

    from bench.models import zoo
    from bench.training.distill import FeatureTap, feature_modules

    unet = UNet2DConditionModel.from_pretrained(zoo.resolve("zoo:tiny-sd15"), subfolder="unet")
    tap = FeatureTap(feature_modules(unet))
    with torch.no_grad():
        out, feats = tap.run(unet, torch.randn(1, 4, 8, 8), torch.tensor([10]), torch.randn(1, 77, 32))
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 4, 4), (64, 4, 4), (64, 4, 4), (64, 8, 8), (32, 8, 8)]
    with torch.no_grad():
        unet(torch.randn(1, 4, 8, 8), torch.tensor([10]), torch.randn(1, 77, 32))
    assert len(tap.outputs) == 5  # recording is off outside run()


@pytest.mark.parametrize("base_name", ["tiny-sd15", "tiny-sdxl"])
def test_teacher_matches_the_pipelines_own_encode_prompt(base_name):
    from diffusers import DiffusionPipeline

    from bench.models import zoo
    from bench.models.bases import get_base
    from bench.models.teachers import TeacherEncoder

    base = get_base(base_name)
    teacher = TeacherEncoder.from_base(base)
    texts = ["a red cat", "two dogs on a beach"]
    context, pooled = teacher.encode(texts)
    pipe = DiffusionPipeline.from_pretrained(zoo.resolve(base.model_id))
    if base.is_sdxl:
        ref, _, ref_pooled, _ = pipe.encode_prompt(texts, device="cpu", do_classifier_free_guidance=False)
        torch.testing.assert_close(pooled, ref_pooled)
        assert pooled.shape == (2, base.pooled_dim)
    else:
        ref, _ = pipe.encode_prompt(texts, device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=False)
        assert pooled is None
    torch.testing.assert_close(context, ref)
    assert context.shape == (2, 77, base.context_dim)


def test_tiny_student_encodes_any_script_and_registers_in_one_call():
    from bench.models.encoders import (
        STUDENT_ENCODERS,
        StudentEncoder,
        StudentSpec,
        load_student_encoder,
        register_student,
    )

    student = load_student_encoder("tiny")
    states, mask = student.encode(["一只红色的猫", "빨간 고양이", ""])
    assert states.shape == (3, 16, 48) and student.width == 48 and student.model_id == "zoo:tiny-xlmr"
    assert mask[2].sum() == 2 and mask[0].sum() > 3  # "" is just <s></s>; CJK text is several pieces
    assert {"chinese-clip", "altclip-m18", "mt5-xl", "tiny"} <= set(STUDENT_ENCODERS.names())

    class Toy(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"last_hidden_state": torch.ones(*input_ids.shape, 6)})()

    def load(spec):
        return StudentEncoder(spec, student.tokenizer, Toy())

    register_student(StudentSpec("toy-test-student", "local:toy", "toy", 6, max_length=8, tier="tiny", loader=load))
    states, mask = load_student_encoder("toy-test-student").encode(["x"])
    assert states.shape == (1, 8, 6)
    with pytest.raises(BenchError, match="did you mean 'tiny'"):
        load_student_encoder("tinny")
