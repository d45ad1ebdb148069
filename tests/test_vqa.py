"""VQA judges and their metrics: P("Yes") recomputed by hand from the tiny Qwen2.5-VL's logits, the questions of
the language table, and vqascore / culture-vqa / concept-present against their definitions."""

from __future__ import annotations

import math

import evalkit
import numpy as np
import pytest
import torch
from PIL import Image

from bench.core.errors import BenchError

TINY = "tiny-qwen2.5-vl"


@pytest.fixture
def tiny_judge():
    from bench.instruments.vqa import load_vqa_judge

    return load_vqa_judge(TINY)


def _images():
    return [evalkit.draw(1, 32), evalkit.draw(2, 48), Image.new("RGB", (40, 32), (200, 30, 30))]


def _hand_p_yes(judge, image, question: str) -> float:
    """One unpadded example: the chat text written out, a full forward pass, softmax over the last logits."""
    processor, model = judge.processor, judge.model
    text = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            f"<|vision_start|><|image_pad|><|vision_end|>{question}<|im_end|>\n<|im_start|>assistant\n")
    assert judge.prompt(question) == text
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    assert int(inputs["attention_mask"].min()) == 1  # one example: no padding
    with torch.inference_mode():
        logits = model(**inputs).logits[0, -1].double().numpy()
    yes = processor.tokenizer.convert_tokens_to_ids("Yes")
    assert processor.tokenizer.encode("Yes", add_special_tokens=False) == [yes]  # one token in the tiny vocabulary
    shifted = logits - logits.max()
    return float(math.exp(shifted[yes]) / np.exp(shifted).sum())


def test_p_yes_is_the_softmax_of_the_first_answer_logits_in_left_padded_batches(tiny_judge):
    from bench.instruments.vqa import ask

    questions = [ask("en", "a red circle"), ask("zh", "左上角有一个很长很长的红色圆形"), ask("ko", "원")]
    images = _images()
    batched = tiny_judge.yes_probabilities(images, questions)  # different lengths: left padding in one batch
    by_hand = [_hand_p_yes(tiny_judge, im, q) for im, q in zip(images, questions, strict=True)]
    assert np.allclose(batched, by_hand, rtol=1e-4, atol=0)
    assert len(set(np.round(batched, 9))) == 3  # the image and question change the answer
    assert tiny_judge.processor.tokenizer.padding_side == "left"


def test_questions_come_from_the_language_table():
    from bench.core.languages import AI_WRITTEN, LANGUAGES, VQASCORE
    from bench.instruments.vqa import ask, ask_concept

    assert ask("en", "a cat") == 'Does this figure show "a cat"? Please answer yes or no.'
    assert ask_concept("en", "jiaozi") == "Does this image show jiaozi? Please answer yes or no."
    assert ask("zh", "一只猫") == "这张图是否展示了“一只猫”？请用 Yes 或 No 回答。"
    for code, lang in LANGUAGES.items():
        assert "{text}" in lang.vqa_question and "{label}" in lang.vqa_concept, code
        assert "Yes" in lang.vqa_question or code == "en", code  # the answer word stays the English token
        assert lang.vqa_written_by == (VQASCORE if code == "en" else AI_WRITTEN)


def test_a_language_without_questions_is_one_clear_error():
    from bench.core.languages import LANGUAGES, Language
    from bench.instruments.vqa import ask

    LANGUAGES.register("xx", Language("xx", "Test", "Latn", "xxx_Latn", "xx", "TEST", None, None, "clip-l", "clip-l"))
    with pytest.raises(BenchError, match="no VQA question.*vqascore-en"):
        ask("xx", "text")


def test_strict_top_counts_ties_as_wrong():
    from bench.metrics.culture_vqa import strict_top

    assert strict_top([0.9, 0.2, 0.1]) == (0, 1)
    assert strict_top([0.4, 0.4, 0.1]) == (0, 2)  # a tie: the true concept (index 0) is not strictly highest
    assert strict_top([0.1, 0.7, 0.7]) == (1, 2)


def _evaluate(tmp_path, monkeypatch, **cfg):
    from bench.evaluation.evaluate import EvalConfig, evaluate_run

    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(evalkit.write_prompt_set(tmp_path / "prompts")))
    run = evalkit.make_run(tmp_path / "runs", n_prompts=4, samples=1)
    summary = evaluate_run(run, EvalConfig(**cfg))
    return run, summary


def _rows(run, metric):
    import polars as pl

    return pl.read_parquet(run / "scores" / f"{metric}.parquet").to_dicts()


def test_vqa_metrics_match_their_definitions_on_the_tiny_judge(tmp_path, monkeypatch, tiny_judge):
    from bench.instruments.features import load_images
    from bench.instruments.vqa import ask, ask_concept
    from bench.prompts import load_concepts

    run, summary = _evaluate(tmp_path, monkeypatch, vqa_judge=TINY,
                             metrics=("vqascore", "vqascore-en", "culture-vqa", "concept-present"))
    from bench.generation.runs import read_run

    info = read_run(run)
    images = load_images(info.files)
    native = tiny_judge.yes_probabilities(images, [ask("zh", r["text"]) for r in info.rows])
    english = tiny_judge.yes_probabilities(images, [ask("en", r["text_en"]) for r in info.rows])
    m = summary["metrics"]
    assert m["vqascore"]["value"] == pytest.approx(float(np.mean(native)), rel=1e-9)
    assert m["vqascore-en"]["value"] == pytest.approx(float(np.mean(english)), rel=1e-9)
    assert [r["value"] for r in _rows(run, "vqascore")] == pytest.approx(list(native), rel=1e-9)

    concepts = load_concepts("culture")
    correct, present = [], []
    for image, row in zip(images, info.rows, strict=True):
        ids = [row["concept"], *row["confusers"]]
        labels = [concepts[c].label_native for c in ids]  # zh prompts read the native labels
        p = tiny_judge.yes_probabilities([image] * len(ids), [ask_concept("zh", lab) for lab in labels])
        correct.append(float(p[0] > max(p[1:])))
        present.append(float(p[0] > 0.5))
    assert m["culture-vqa"]["value"] == pytest.approx(float(np.mean(correct)))
    assert m["concept-present"]["value"] == pytest.approx(float(np.mean(present)))
    assert set(m["culture-vqa"]["per_category"]) == {"food", "clothing"}
    assert m["culture-vqa"]["chance"] == pytest.approx(np.mean([1 / (1 + len(r["confusers"])) for r in info.rows]))
    assert summary["judges"][TINY]["weights"].startswith("sha256:")
    assert m["vqascore"]["settings"]["question"] == "这张图是否展示了“{text}”？请用 Yes 或 No 回答。"
    assert m["vqascore-en"]["settings"]["question"] == 'Does this figure show "{text}"? Please answer yes or no.'


def test_vqa_metrics_are_opt_in_and_take_a_folder_as_judge(tmp_path, monkeypatch):
    from bench.models import zoo

    _, summary = _evaluate(tmp_path, monkeypatch, metrics=None)
    assert "no --vqa-judge" in summary["skipped"]["vqascore"] and "vqascore" not in summary["metrics"]
    folder = str(zoo.ensure(TINY))
    run, by_folder = _evaluate(tmp_path / "b", monkeypatch, vqa_judge=folder, metrics=("vqascore",))
    _, by_name = _evaluate(tmp_path / "c", monkeypatch, vqa_judge=TINY, metrics=("vqascore",))
    assert by_folder["metrics"]["vqascore"]["value"] == pytest.approx(by_name["metrics"]["vqascore"]["value"])
    assert by_folder["judges"][folder]["weights"] == by_name["judges"][TINY]["weights"]  # same content, same identity


def test_wrong_vqa_judges_are_clear_errors(tmp_path):
    from bench.instruments.judges import load_judge
    from bench.instruments.vqa import load_vqa_judge, resolve_vqa_judge

    with pytest.raises(BenchError, match="not a VQA judge"):
        resolve_vqa_judge("tiny-clip")
    with pytest.raises(BenchError, match="VQA judge.*--vqa-judge"):
        load_judge(TINY)
    folder = tmp_path / "not-qwen"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llava"}')
    with pytest.raises(BenchError, match="llava model.*kind='vqa'"):
        load_vqa_judge(resolve_vqa_judge(str(folder)))
