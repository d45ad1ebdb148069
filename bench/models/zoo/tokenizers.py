"""Tokenizers made offline: a character-level CLIP BPE and sentencepiece models trained on a few lines."""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable


@functools.cache
def _byte_alphabet() -> tuple[str, ...]:
    """The 256 printable stand-ins for bytes that byte-level BPE (GPT-2, CLIP) uses, in byte order."""
    # Printable bytes stand for themselves; the rest map to code points from 256 upwards.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return tuple(chr(b) if b in printable else chr(next(extra)) for b in range(256))


def clip_vocab() -> tuple[dict[str, int], list[str]]:
    """A CLIP vocabulary with no merges: every byte alone and as a word end, plus the two specials."""
    tokens = list(_byte_alphabet()) + [ch + "</w>" for ch in _byte_alphabet()]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(tokens)}, []


def clip_tokenizer(model_max_length: int = 77):
    """A CLIPTokenizer that splits English into characters (transformers 5's vocab=/merges= route)."""
    from transformers import CLIPTokenizer

    vocab, merges = clip_vocab()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def sentencepiece_model(lines: Iterable[str], vocab_size: int = 500, model_type: str = "unigram",
                        user_symbols: Iterable[str] = ()) -> bytes:
    """Train a small sentencepiece model on `lines`, deterministically, and return its bytes."""
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(lines)),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        hard_vocab_limit=False,
        user_defined_symbols=list(user_symbols),
        num_threads=1,
        seed_sentencepiece_size=100000,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return buffer.getvalue()
