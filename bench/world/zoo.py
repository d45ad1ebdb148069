"""The toy world's models as zoo components (registered by bench.world.plugins): teacher, student, CLIP."""

from __future__ import annotations

from pathlib import Path

STUDENT_WIDTH = 64
STUDENT_MAX_LENGTH = 32


def build_world_teacher(folder: Path) -> None:
    """The shipped StableDiffusionPipeline folder (stored in float16), written back as float32 for the CPU."""
    import torch
    from diffusers import StableDiffusionPipeline

    from bench.core.errors import BenchError
    from bench.world.teacher import SHIPPED

    if not (SHIPPED / "model_index.json").is_file():
        raise BenchError(f"the toy-world teacher's weights are missing from {SHIPPED}; rebuild them with "
                         "python -m bench.world.teacher")
    pipe = StableDiffusionPipeline.from_pretrained(SHIPPED, dtype=torch.float32)
    pipe.save_pretrained(folder, safe_serialization=True)


def build_world_student(folder: Path) -> None:
    """A frozen random XLM-R-like encoder whose sentencepiece tokenizer was trained on world captions in 6 languages."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizer

    from bench.models.zoo.students import sentencepiece_vocab
    from bench.models.zoo.tokenizers import sentencepiece_model
    from bench.world import captions, draw

    lines = sorted({captions.caption(s, lang, t) for s in draw.all_scenes(jitter=False)
                    for lang in captions.LANGS for t in range(captions.N_TEMPLATES)})
    # Every attribute word is one piece, as a real multilingual vocabulary would have it; without this the
    # unigram model glues whole zh/ja phrases ("a small red cross") into single pieces.
    model = sentencepiece_model(lines, vocab_size=300, user_symbols=captions.native_words())
    tokenizer = XLMRobertaTokenizer(vocab=sentencepiece_vocab(model), model_max_length=STUDENT_MAX_LENGTH)
    torch.manual_seed(5)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=STUDENT_WIDTH, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=2 * STUDENT_WIDTH, max_position_embeddings=STUDENT_MAX_LENGTH + 2,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    XLMRobertaModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def build_world_clip(folder: Path) -> None:
    """The shipped world CLIP (a transformers CLIPModel folder with tokenizer and image processor)."""
    import shutil

    from bench.core.errors import BenchError
    from bench.world.judge import SHIPPED

    if not (SHIPPED / "config.json").is_file():
        raise BenchError(f"the toy-world CLIP's weights are missing from {SHIPPED}; rebuild them with "
                         "python -m bench.world.judge")
    shutil.copytree(SHIPPED, folder, dirs_exist_ok=True)
