"""Captions of the world's scenes in English and in zh, ko, ja, ru, it from templates: the world's exact translator.

Every caption is generated from a scene's attributes, so translating is parsing one language's caption back to
its attributes and writing them out in the other: exact, by construction.
"""

from __future__ import annotations

import functools

from bench.core.errors import BenchError
from bench.world.draw import CULTURE, Scene, all_scenes

LANGS = ("en", "zh", "ko", "ja", "ru", "it")
N_TEMPLATES = 2

# Per language: word tables for each attribute value. Italian nouns carry a gender for agreement.
_WORDS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "colour": {c: c for c in ("red", "green", "blue", "yellow", "purple", "cyan")},
        "size": {"small": "small", "large": "large"},
        "object": {k: k for k in ("circle", "square", "triangle", "cross", *CULTURE)},
        "position": {p: p for p in ("top left", "top right", "bottom left", "bottom right")},
    },
    "zh": {
        "colour": {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "purple": "紫色", "cyan": "青色"},
        "size": {"small": "小", "large": "大"},
        "object": {"circle": "圆形", "square": "正方形", "triangle": "三角形", "cross": "十字", "lantern": "灯笼",
                   "taegeuk": "太极图", "torii": "鸟居", "matryoshka": "套娃", "pizza": "披萨"},
        "position": {"top left": "左上角", "top right": "右上角", "bottom left": "左下角", "bottom right": "右下角"},
    },
    "ko": {
        "colour": {"red": "빨간", "green": "초록색", "blue": "파란", "yellow": "노란", "purple": "보라색",
                   "cyan": "청록색"},
        "size": {"small": "작은", "large": "큰"},
        "object": {"circle": "원", "square": "정사각형", "triangle": "삼각형", "cross": "십자가", "lantern": "등롱",
                   "taegeuk": "태극 문양", "torii": "도리이", "matryoshka": "마트료시카", "pizza": "피자"},
        "position": {"top left": "왼쪽 위", "top right": "오른쪽 위", "bottom left": "왼쪽 아래",
                     "bottom right": "오른쪽 아래"},
    },
    "ja": {
        "colour": {"red": "赤い", "green": "緑の", "blue": "青い", "yellow": "黄色い", "purple": "紫の", "cyan": "水色の"},
        "size": {"small": "小さな", "large": "大きな"},
        "object": {"circle": "円", "square": "正方形", "triangle": "三角形", "cross": "十字", "lantern": "提灯",
                   "taegeuk": "太極図", "torii": "鳥居", "matryoshka": "マトリョーシカ", "pizza": "ピザ"},
        "position": {"top left": "左上", "top right": "右上", "bottom left": "左下", "bottom right": "右下"},
    },
    "ru": {
        # Every plain shape noun is masculine, so the adjectives take the masculine nominative.
        "colour": {"red": "красный", "green": "зелёный", "blue": "синий", "yellow": "жёлтый",
                   "purple": "фиолетовый", "cyan": "бирюзовый"},
        "size": {"small": "маленький", "large": "большой"},
        "object": {"circle": "круг", "square": "квадрат", "triangle": "треугольник", "cross": "крест",
                   "lantern": "фонарь", "taegeuk": "символ тхэгык", "torii": "тории", "matryoshka": "матрёшка",
                   "pizza": "пицца"},
        "position": {"top left": "в левом верхнем углу", "top right": "в правом верхнем углу",
                     "bottom left": "в левом нижнем углу", "bottom right": "в правом нижнем углу"},
    },
    "it": {
        "colour": {"red": "rosso", "green": "verde", "blue": "blu", "yellow": "giallo", "purple": "viola",
                   "cyan": "ciano"},
        "size": {"small": "piccolo", "large": "grande"},
        "object": {"circle": "cerchio", "square": "quadrato", "triangle": "triangolo", "cross": "croce",
                   "lantern": "lanterna", "taegeuk": "simbolo taegeuk", "torii": "torii", "matryoshka": "matrioska",
                   "pizza": "pizza"},
        "position": {"top left": "in alto a sinistra", "top right": "in alto a destra",
                     "bottom left": "in basso a sinistra", "bottom right": "in basso a destra"},
    },
}
_IT_FEMININE = {"croce", "lanterna", "matrioska", "pizza"}
_IT_FEMININE_FORMS = {"rosso": "rossa", "giallo": "gialla", "piccolo": "piccola"}

_PLAIN: dict[str, tuple[str, ...]] = {
    "en": ("a {size} {colour} {object} in the {position}", "the {position} has a {size} {colour} {object}"),
    "zh": ("{position}有一个{size}的{colour}{object}", "一个{size}的{colour}{object}在{position}"),
    "ko": ("{position}에 {size} {colour} {object}", "{size} {colour} {object}{subject} {position}에 있다"),
    "ja": ("{position}に{size}{colour}{object}", "{size}{colour}{object}が{position}にある"),
    "ru": ("{size} {colour} {object} {position}", "{position} {size} {colour} {object}"),
    "it": ("{article} {size} {object} {colour} {position}", "{position} c'è {article} {size} {object} {colour}"),
}
_CULTURE: dict[str, tuple[str, ...]] = {
    "en": ("a {object} in the {position}", "the {position} has a {object}"),
    "zh": ("{position}有一个{object}", "一个{object}在{position}"),
    "ko": ("{position}에 {object}", "{object}{subject} {position}에 있다"),
    "ja": ("{position}に{object}", "{object}が{position}にある"),
    "ru": ("{object} {position}", "{position} {object}"),
    "it": ("{article} {object} {position}", "{position} c'è {article} {object}"),
}


def _korean_subject(word: str) -> str:
    """The subject particle after `word`: 이 after a final consonant, 가 after a vowel."""
    last = word[-1]
    if "가" <= last <= "힣":
        return "이" if (ord(last) - 0xAC00) % 28 else "가"
    return "이"


def caption(scene: Scene, lang: str, template: int = 0) -> str:
    """The scene's caption in `lang` with template number `template`."""
    if lang not in _WORDS:
        raise BenchError(f"the toy world has no captions in '{lang}'; it knows {', '.join(LANGS)}")
    table = _WORDS[lang]
    words = {attr: table[attr][value] for attr, value in scene.attributes().items()}
    if lang == "ko":
        words["subject"] = _korean_subject(words["object"])
    if lang == "it":
        feminine = words["object"] in _IT_FEMININE
        for attr in ("colour", "size"):
            if attr in words and feminine:
                words[attr] = _IT_FEMININE_FORMS.get(words[attr], words[attr])
        words["article"] = "una" if feminine else "un"
    templates = (_CULTURE if scene.is_culture else _PLAIN)[lang]
    return templates[template % len(templates)].format(**words)


def object_label(kind: str, lang: str) -> str:
    """The bare name of an object kind in `lang` (what culture-accuracy judges read)."""
    return _WORDS[lang]["object"][kind]


def english(scene: Scene, template: int = 0) -> str:
    """The scene's English caption (the teacher's language)."""
    return caption(scene, "en", template)


def english_words() -> list[str]:
    """Every word an English caption can contain (the teacher tokenizer's vocabulary)."""
    words: set[str] = set()
    for scene in all_scenes(jitter=False):
        for t in range(N_TEMPLATES):
            words.update(english(scene, t).split())
    return sorted(words)


def native_words() -> list[str]:
    """Every word of every attribute value in every language, longest first (for tokenizers that keep them whole)."""
    phrases = {w for table in _WORDS.values() for attr in table.values() for w in attr.values()}
    words = {w for phrase in phrases | set(_IT_FEMININE_FORMS.values()) for w in phrase.split()}
    return sorted(words, key=lambda w: (-len(w), w))


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@functools.cache
def _index() -> dict[str, dict[str, Scene]]:
    """Per language, caption text -> scene (without jitter), over every scene and template."""
    out: dict[str, dict[str, Scene]] = {lang: {} for lang in LANGS}
    for scene in all_scenes(jitter=False):
        for lang in LANGS:
            for t in range(N_TEMPLATES):
                out[lang][_key(caption(scene, lang, t))] = scene
    return out


def parse(text: str, lang: str) -> Scene | None:
    """The scene a world caption in `lang` describes, or None when the text is not one."""
    if lang not in _WORDS:
        return None
    return _index()[lang].get(_key(text))


def translate(text: str, src: str, tgt: str = "en", template: int = 0) -> str:
    """Exact translation of a world caption from `src` to `tgt`."""
    scene = parse(text, src)
    if scene is None:
        raise BenchError(f"{text!r} is not a toy-world caption in '{src}'")
    return caption(scene, tgt, template)
