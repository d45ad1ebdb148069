"""`bench judge-check` for VQA judges: P("Yes") for each image with its own caption against another image's
caption, asked in the language (the language table's question) and in English about the English caption."""

from __future__ import annotations

from collections.abc import Sequence


def matched_vs_mismatched(matched: Sequence[float], mismatched: Sequence[float]) -> float:
    """Share of images whose own caption gets the higher P("Yes") (ties count half); chance is 0.5."""
    wins = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(matched, mismatched, strict=True)]
    return sum(wins) / len(wins)


def vqa_check(name: str, lang: str, images: list, native: list[str], english: list[str]) -> dict:
    """Mean P("Yes") for matched and mismatched pairs and the matched-wins share, native and English."""
    from bench.instruments.judges import JUDGES
    from bench.instruments.vqa import ask, load_vqa_judge, templates_key

    judge = load_vqa_judge(name)
    n = len(images)
    other = [(i + 1) % n for i in range(n)]  # each image against the next image's caption
    out: dict = {"kind": "vqa", "judge": name, "model_id": JUDGES.get(name).model_id, "lang": lang, "n": n,
                 "reads_lang": JUDGES.get(name).reads(lang), "question": templates_key(lang)["question"],
                 "chance": 0.5}
    for key, asked_in, texts in (("native", lang, native), ("english", "en", english)):
        questions = [ask(asked_in, t) for t in texts]
        p = judge.yes_probabilities(images + images, questions + [questions[j] for j in other])
        matched, mismatched = [float(x) for x in p[:n]], [float(x) for x in p[n:]]
        out[f"p_matched_{key}"] = sum(matched) / n
        out[f"p_mismatched_{key}"] = sum(mismatched) / n
        out[f"wins_{key}"] = matched_vs_mismatched(matched, mismatched)
    return out
