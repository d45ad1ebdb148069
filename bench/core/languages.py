"""One row per language: codes for every translator family, script, normaliser, default models."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from bench.core.registry import Registry


@dataclass(frozen=True)
class Language:
    """A language the toolkit knows; translator-specific codes live here and nowhere else."""

    code: str  # ISO 639-1, used everywhere in the toolkit
    name: str
    script: str  # ISO 15924
    nllb: str  # NLLB-200 code, e.g. kor_Hang
    m2m100: str  # M2M100 code
    lingua: str  # lingua-language-detector's Language enum name
    opus_mt_from_en: str | None  # Marian opus-mt hub id translating English into this language
    opus_mt_to_en: str | None  # Marian opus-mt hub id translating this language into English
    student_encoder: str  # default registered student encoder for PEA
    judge: str  # default registered multilingual CLIP judge
    # The VQA judge's questions in this language (bench.instruments.vqa): {text} is the prompt, {label} a concept
    # label; the answer is asked for in English Yes/No in every language, so P("Yes") is one token everywhere.
    vqa_question: str = ""
    vqa_concept: str = ""
    vqa_written_by: str = ""  # who wrote the questions: VQAScore's own template, or an AI translation

    def normalise(self, text: str) -> str:
        """NFKC, collapsed whitespace, and for Chinese traditional -> simplified characters."""
        text = unicodedata.normalize("NFKC", text)
        text = _WHITESPACE.sub(" ", text).strip()
        if self.code == "zh":
            text = _to_simplified(text)
        return text


_WHITESPACE = re.compile(r"\s+")


@functools.cache
def _opencc():
    """The traditional -> simplified converter, built once (its tables take ~50 ms to load)."""
    import opencc

    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified ones."""
    return _opencc().convert(text)


LANGUAGES: Registry[Language] = Registry("language", hint="bench languages lists them")


VQASCORE = "VQAScore's template (linzhiqiu/t2v_metrics)"
AI_WRITTEN = "AI-written translation of VQAScore's template, not yet checked by a native speaker"
# code -> (VQAScore question, concept question). English is VQAScore's own template; every other row is an
# AI-written translation (AI_WRITTEN) that keeps the answer words Yes / No in English.
_VQA: dict[str, tuple[str, str]] = {
    "en": ('Does this figure show "{text}"? Please answer yes or no.',
           "Does this image show {label}? Please answer yes or no."),
    "zh": ("这张图是否展示了“{text}”？请用 Yes 或 No 回答。", "这张图片是否展示了{label}？请用 Yes 或 No 回答。"),
    "ko": ('이 그림이 "{text}"을(를) 보여 줍니까? Yes 또는 No로 답해 주세요.',
           "이 이미지가 {label}을(를) 보여 줍니까? Yes 또는 No로 답해 주세요."),
    "ja": ("この図は「{text}」を示していますか？Yes か No で答えてください。",
           "この画像は{label}を示していますか？Yes か No で答えてください。"),
    "ru": ("Изображено ли на этой картинке «{text}»? Ответьте Yes или No.",
           "Есть ли на этом изображении следующее: {label}? Ответьте Yes или No."),
    "it": ('Questa figura mostra "{text}"? Rispondi Yes o No.',
           "In questa immagine si vede questo: {label}? Rispondi Yes o No."),
    "de": ("Zeigt diese Abbildung „{text}“? Bitte antworte mit Yes oder No.",
           "Zeigt dieses Bild Folgendes: {label}? Bitte antworte mit Yes oder No."),
    "fr": ("Cette figure montre-t-elle « {text} » ? Répondez par Yes ou No.",
           "Cette image montre-t-elle ceci : {label} ? Répondez par Yes ou No."),
    "es": ('¿Esta figura muestra "{text}"? Responde Yes o No.',
           "¿Esta imagen muestra lo siguiente: {label}? Responde Yes o No."),
    "ar": ('هل يُظهر هذا الشكل "{text}"؟ أجب بـ Yes أو No.', "هل تُظهر هذه الصورة {label}؟ أجب بـ Yes أو No."),
    "hi": ('क्या यह चित्र "{text}" दिखाता है? कृपया Yes या No में उत्तर दें।',
           "क्या यह छवि {label} दिखाती है? कृपया Yes या No में उत्तर दें।"),
    "th": ('ภาพนี้แสดง "{text}" หรือไม่? กรุณาตอบ Yes หรือ No', "ภาพนี้แสดง{label}หรือไม่? กรุณาตอบ Yes หรือ No"),
    "vi": ('Hình này có thể hiện "{text}" không? Hãy trả lời Yes hoặc No.',
           "Hình ảnh này có thể hiện {label} không? Hãy trả lời Yes hoặc No."),
}


def _add(code, name, script, nllb, lingua, from_en, to_en, encoder="altclip-m18", judge="altclip-m18"):
    question, concept = _VQA[code]
    LANGUAGES.register(
        code,
        Language(code, name, script, nllb, code, lingua, from_en, to_en, encoder, judge, question, concept,
                 VQASCORE if code == "en" else AI_WRITTEN),
    )


_H = "Helsinki-NLP/opus-mt-"
_add("en", "English", "Latn", "eng_Latn", "ENGLISH", None, None, encoder="clip-l", judge="clip-l")
_add("zh", "Chinese", "Hans", "zho_Hans", "CHINESE", _H + "en-zh", _H + "zh-en",
     encoder="chinese-clip", judge="chinese-clip-l14")
_add("ko", "Korean", "Hang", "kor_Hang", "KOREAN", _H + "tc-big-en-ko", _H + "ko-en")
_add("ja", "Japanese", "Jpan", "jpn_Jpan", "JAPANESE", _H + "en-jap", _H + "ja-en")
_add("ru", "Russian", "Cyrl", "rus_Cyrl", "RUSSIAN", _H + "en-ru", _H + "ru-en")
_add("it", "Italian", "Latn", "ita_Latn", "ITALIAN", _H + "en-it", _H + "it-en")
_add("de", "German", "Latn", "deu_Latn", "GERMAN", _H + "en-de", _H + "de-en")
_add("fr", "French", "Latn", "fra_Latn", "FRENCH", _H + "en-fr", _H + "fr-en")
_add("es", "Spanish", "Latn", "spa_Latn", "SPANISH", _H + "en-es", _H + "es-en")
_add("ar", "Arabic", "Arab", "arb_Arab", "ARABIC", _H + "en-ar", _H + "ar-en")
_add("hi", "Hindi", "Deva", "hin_Deva", "HINDI", _H + "en-hi", _H + "hi-en")
_add("th", "Thai", "Thai", "tha_Thai", "THAI", None, _H + "th-en")
_add("vi", "Vietnamese", "Latn", "vie_Latn", "VIETNAMESE", _H + "en-vi", _H + "vi-en")


def get_language(code: str) -> Language:
    """Look a language up by ISO code, with a did-you-mean error."""
    return LANGUAGES.get(code)
