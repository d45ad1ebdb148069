"""VQA judges: P("Yes") from a vision-language model asked a yes/no question about an image (VQAScore's recipe).

The judge sees the chat template's user turn (the image, then the question), the assistant prefix opened, and
reads the logits of the answer's first token: P("Yes") is the softmax over the whole vocabulary at that position,
taken at the first token of "Yes" (VQAScore, linzhiqiu/t2v_metrics, takes generate()'s first scores, which are
these logits unless a generation config adds processors such as a repetition penalty). Questions come from the
language table (bench.core.languages: vqa_question, vqa_concept).

Qwen2-VL and Qwen2.5-VL load through transformers (Qwen2VLForConditionalGeneration /
Qwen2_5_VLForConditionalGeneration and AutoProcessor, no remote code): the registered names, or any hub id or
local folder of those families given as the VQA judge. Batches are left-padded so the last position is every
row's answer position; bf16 (fp16 where bf16 is missing) on a GPU, float32 on a CPU. Other families plug in as
JudgeSpec(kind="vqa", loader=fn) where fn(spec) returns an object with yes_probabilities(images, questions).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.core.errors import BenchError
from bench.instruments.judges import JUDGES, VQA_KINDS, JudgeSpec, register_judge

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

ANSWER = "Yes"  # the answer whose first token's probability is the score
BATCH_SIZE = 16
# config.json model_type -> the transformers class that loads it
_CLASSES = {"qwen2_vl": "Qwen2VLForConditionalGeneration", "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration"}
DEFAULT_VQA_JUDGE = {"real": "qwen2.5-vl-7b", "tiny": "tiny-qwen2.5-vl"}


def is_vqa(spec: JudgeSpec) -> bool:
    """True for a VQA judge (answers questions), False for a CLIP-like one (embeds)."""
    return spec.kind in VQA_KINDS


def default_vqa_judge(tier: str) -> str:
    """The VQA judge of a tier: Qwen2.5-VL-7B-Instruct for real runs, the zoo's tiny Qwen2.5-VL for tiny ones."""
    return DEFAULT_VQA_JUDGE["tiny" if tier == "tiny" else "real"]


def resolve_vqa_judge(value: str) -> str:
    """A registered VQA judge's name, or a Qwen2-VL / Qwen2.5-VL hub id or local folder registered under its id."""
    if value in JUDGES:
        spec = JUDGES.get(value)
        if not is_vqa(spec):
            raise BenchError(f"judge '{value}' is a {spec.kind} judge, not a VQA judge; VQA judges: "
                             f"{', '.join(vqa_judge_names())}, or a Qwen2-VL / Qwen2.5-VL hub id or folder")
        return value
    if "/" in value or Path(value).is_dir():
        register_judge(JudgeSpec(value, value, "qwen2.5-vl" if "2.5" in value else "qwen2-vl", "real"))
        return value
    JUDGES.get(value)  # did-you-mean error
    return value


def vqa_judge_names() -> list[str]:
    """Every registered VQA judge."""
    return [name for name, spec in JUDGES.items() if is_vqa(spec)]


def question(lang: str, kind: str = "text") -> str:
    """The language's VQAScore question ('text': {text} is the prompt) or concept question ('concept': {label})."""
    from bench.core.languages import get_language

    language = get_language(lang)
    template = language.vqa_question if kind == "text" else language.vqa_concept
    if not template:
        raise BenchError(f"language '{lang}' has no VQA question in the language table (bench/core/languages.py "
                         "vqa_question / vqa_concept); add one, or score the English pivot with vqascore-en")
    return template


def ask(lang: str, text: str) -> str:
    """The VQAScore question about `text` in `lang`."""
    return question(lang, "text").format(text=text)


def ask_concept(lang: str, label: str) -> str:
    """The concept question about `label` in `lang`."""
    return question(lang, "concept").format(label=label)


def templates_key(lang: str) -> dict[str, str]:
    """The questions a language's VQA scores depend on (part of the metric cache key)."""
    return {"question": question(lang, "text"), "concept": question(lang, "concept"), "answer": ANSWER}


class QwenVqaJudge:
    """A loaded Qwen2-VL / Qwen2.5-VL judge: P(first answer token = "Yes") per (image, question)."""

    def __init__(self, spec: JudgeSpec, model, processor, device: str = "cpu", batch_size: int = BATCH_SIZE) -> None:
        self.spec = spec
        self.device = device
        self.model = model.eval().to(device)
        self.processor = processor
        self.processor.tokenizer.padding_side = "left"  # the last position is every row's answer position
        self.batch_size = batch_size
        ids = processor.tokenizer.encode(ANSWER, add_special_tokens=False)
        if not ids:
            raise BenchError(f"VQA judge '{spec.name}': its tokenizer has no token for {ANSWER!r}")
        self.yes_id = int(ids[0])

    def prompt(self, question: str) -> str:
        """The chat-templated text of one question about one image, the assistant turn opened."""
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        return self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def batch_inputs(self, images: Sequence, questions: Sequence[str]):
        """Processor outputs (left-padded ids, pixel values, grids) on the judge's device."""
        batch = self.processor(text=[self.prompt(q) for q in questions], images=list(images), padding=True,
                               return_tensors="pt")
        dtype = next(self.model.parameters()).dtype
        return {k: (v.to(self.device, dtype) if k == "pixel_values" else v.to(self.device)) for k, v in batch.items()}

    def answer_logits(self, images: Sequence, questions: Sequence[str]):
        """Logits over the vocabulary at the answer's first position, one row per pair (float32)."""
        import torch

        with torch.inference_mode():
            out = self.model(**self.batch_inputs(images, questions), logits_to_keep=1)
        return out.logits[:, -1, :].float()

    def yes_probabilities(self, images: Sequence, questions: Sequence[str]) -> np.ndarray:
        """P("Yes") per (image, question) pair: softmax of the answer position's logits at the Yes token."""
        import numpy as np
        import torch

        if len(images) != len(questions):
            raise ValueError("one question per image")
        out = []
        for start in range(0, len(images), self.batch_size):
            stop = start + self.batch_size
            logits = self.answer_logits(images[start:stop], questions[start:stop])
            out.append(torch.softmax(logits, dim=-1)[:, self.yes_id].double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)


def vqa_dtype(device: str):
    """bf16 on a GPU that has it, else fp16 on a GPU; float32 on a CPU."""
    import torch

    if str(device).startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def model_class(folder: str, name: str):
    """The transformers class for a Qwen2-VL / Qwen2.5-VL folder, from its config.json's model_type."""
    import transformers

    config = Path(folder) / "config.json"
    model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type") if config.is_file() else None
    if model_type not in _CLASSES:
        raise BenchError(f"VQA judge '{name}' is a {model_type or 'unknown'} model; the built-in VQA judges load "
                         f"{', '.join(_CLASSES)} (Qwen2-VL, Qwen2.5-VL); register another family as "
                         "JudgeSpec(kind='vqa', loader=fn) from a plug-in")
    return getattr(transformers, _CLASSES[model_type])


_LOADED: dict[tuple[str, str], Any] = {}


def load_vqa_judge(name: str, device: str = "cpu", dtype=None):
    """Load VQA judge `name` on `device` (kept per process: judges are read-only)."""
    key = (name, f"{device}:{dtype}")
    if key in _LOADED:
        return _LOADED[key]
    spec = JUDGES.get(name)
    if not is_vqa(spec):
        raise BenchError(f"judge '{name}' is not a VQA judge (VQA judges: {', '.join(vqa_judge_names())})")
    loader: Callable | None = spec.loader
    if loader is not None:
        judge = loader(spec)
    else:
        from transformers import AutoProcessor

        from bench.instruments.judges import require_available
        from bench.models.weights import load_path

        require_available(spec)
        folder = load_path(spec.model_id, probe="config.json")
        cls = model_class(folder, name)
        try:
            model = cls.from_pretrained(folder, dtype=dtype or vqa_dtype(device))
            processor = AutoProcessor.from_pretrained(folder)
        except OSError as exc:
            raise BenchError(f"VQA judge '{name}' could not be loaded from {folder}: "
                             f"{str(exc).splitlines()[0]}") from None
        log.info("loaded VQA judge %s from %s", name, folder)
        judge = QwenVqaJudge(spec, model, processor, device)
    _LOADED.clear()  # one multi-gigabyte judge in memory at a time
    _LOADED[key] = judge
    return judge


def answer_pairs(name: str, files: Sequence[Path], pairs: Sequence[tuple[int, str]], device: str = "cpu",
                 progress: bool = True) -> list[float]:
    """P("Yes") per (index into `files`, question) pair by VQA judge `name`, images loaded one batch at a time."""
    from bench.core.progress import track
    from bench.instruments.features import load_images

    judge = load_vqa_judge(name, device)
    size = int(getattr(judge, "batch_size", BATCH_SIZE))
    out: list[float] = []
    starts = range(0, len(pairs), size)
    for start in track(starts, f"{name} answers", "q", total=len(pairs),
                       weight=lambda s: min(size, len(pairs) - s), enabled=progress and len(starts) > 1):
        chunk = pairs[start:start + size]
        images = load_images([files[i] for i, _ in chunk])
        out.extend(float(p) for p in judge.yes_probabilities(images, [q for _, q in chunk]))
    return out
